//! Recorded receipts and adjustments: written with a stock batch, read back
//! per partition until they expire.

use chrono::Duration;

use super::fixtures::{level, movement};
use crate::{AppliedOffset, StockBatch, StockChange, Store};

fn change(
    id: &str,
    partition: u32,
    fingerprint: Option<&str>,
    levels: Option<Vec<agusto_schemas::StockLevel>>,
    expires_at: agusto_schemas::Timestamp,
) -> StockChange {
    StockChange {
        change_id: id.to_owned(),
        partition,
        fingerprint: fingerprint.map(str::to_owned),
        levels,
        expires_at,
    }
}

async fn read(
    store: &dyn Store,
    partition: u32,
    ids: &[&str],
    now: agusto_schemas::Timestamp,
) -> Vec<StockChange> {
    let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    let mut found = store
        .stock_changes(partition, &ids, now)
        .await
        .expect("stock changes");
    found.sort_by(|a, b| a.change_id.cmp(&b.change_id));
    found
}

/// A claim alone (no stock moved) is a batch of its own; the part that
/// applies the change later replaces the row with its answer, atomically
/// with the stock it moves. Each partition reads only its own rows, and a
/// row is gone once `now` passes its `expires_at`. (Timestamps are near the
/// real clock: the ScyllaDB store turns `expires_at` into a TTL.)
pub async fn stock_changes_are_recorded_per_partition_until_they_expire(store: &dyn Store) {
    let now = agusto_schemas::now();
    let week = now + Duration::days(7);
    let offset = |offset| {
        Some(AppliedOffset {
            log: "contract.sc".to_owned(),
            partition: 0,
            offset,
        })
    };
    let claim = StockBatch {
        changes: vec![change("sc-rcpt-1", 0, Some("fp-1"), None, week)],
        applied: offset(3),
        ..StockBatch::default()
    };
    store.apply_stock_batch(&claim).await.expect("claim batch");
    assert_eq!(
        read(store, 0, &["sc-rcpt-1", "sc-missing"], now).await,
        claim.changes,
        "the claim, nothing for an unknown id"
    );
    assert!(
        read(store, 1, &["sc-rcpt-1"], now).await.is_empty(),
        "other partition"
    );
    assert_eq!(
        store
            .applied_offset("contract.sc", 0)
            .await
            .expect("offset"),
        Some(3)
    );

    let a = level("sc-a", 5, 0, 1, now);
    let b = level("sc-b", 2, 0, 1, now);
    let answered = change("sc-rcpt-1", 0, Some("fp-1"), Some(vec![a.clone()]), week);
    let elsewhere = change("sc-rcpt-1", 1, None, Some(vec![b.clone()]), week);
    let adjusted = change(
        "sc-adj-1",
        0,
        None,
        Some(vec![a.clone()]),
        now + Duration::hours(25),
    );
    let gone = change(
        "sc-adj-2",
        0,
        None,
        Some(vec![a.clone()]),
        now - Duration::seconds(1),
    );
    let apply = StockBatch {
        levels: vec![a.clone()],
        movements: vec![movement(
            "sc-a",
            agusto_schemas::MovementKind::Receipt,
            5,
            0,
            1,
            now,
        )],
        changes: vec![
            change("sc-rcpt-1", 0, Some("fp-1"), None, week),
            answered.clone(),
            elsewhere.clone(),
            adjusted.clone(),
            gone,
        ],
        applied: offset(4),
        ..StockBatch::default()
    };
    store.apply_stock_batch(&apply).await.expect("batch");
    store
        .apply_stock_batch(&apply)
        .await
        .expect("replayed batch");
    let ids = ["sc-rcpt-1", "sc-adj-1", "sc-adj-2"];
    assert_eq!(
        read(store, 0, &ids, now).await,
        vec![adjusted.clone(), answered.clone()],
        "the last write of a row wins; an expired row is not read"
    );
    assert_eq!(read(store, 1, &ids, now).await, vec![elsewhere]);
    assert_eq!(
        store
            .stock_levels(&["sc-a".to_owned()])
            .await
            .expect("levels"),
        vec![a],
        "the stock and its record together"
    );
    assert_eq!(
        read(store, 0, &ids, now + Duration::days(2)).await,
        vec![answered],
        "kept at least a day, until expires_at"
    );
    assert!(read(store, 0, &ids, week).await.is_empty());
}
