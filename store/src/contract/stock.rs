//! Stock scenarios: writer batches, the ledger and applied offsets.

use agusto_schemas::Movement;
use agusto_schemas::MovementKind::{
    self, Adjustment, Receipt, Release, Reserve, Return, ReturnDamaged, StockOut,
};

use super::fixtures::{all_pages, at, event, hold, level, movement};
use crate::{AppliedOffset, LedgerSum, OrderBatch, StockBatch, Store};

/// Everything a stock batch carries becomes visible, and applying the same
/// batch again (a replay) duplicates no ledger row and no event. Holds put
/// and deleted in one batch end deleted.
pub async fn stock_batch_is_atomic_and_replay_safe(store: &dyn Store) {
    let t = |ms| at(2003, ms);
    let (a1, b1) = (level("sb-a", 10, 3, 2, t(1)), level("sb-b", 5, 0, 1, t(1)));
    let moves = vec![
        movement("sb-a", Receipt, 10, 0, 1, t(1)),
        movement("sb-a", Reserve, 0, 3, 2, t(1)),
        movement("sb-b", Receipt, 5, 0, 1, t(1)),
    ];
    let h1 = hold("sb-o1", "sb-a", 3, Some(t(60_000)));
    let (e1, e2, e3) = (
        event("evt_sb_1", "sb-a", t(1)),
        event("evt_sb_2", "sb-b", t(1)),
        event("evt_sb_3", "sb-a", t(2)),
    );
    let first = StockBatch {
        levels: vec![a1.clone(), b1.clone()],
        movements: moves.clone(),
        reservations_put: vec![h1.clone()],
        reservations_delete: vec![],
        events: vec![e1.clone(), e2.clone()],
        applied: Some(AppliedOffset {
            log: "contract.sb".to_owned(),
            partition: 0,
            offset: 7,
        }),
        changes: vec![],
        orders: vec![],
        sagas_put: vec![],
        sagas_delete: vec![],
        fence: None,
    };
    store.apply_stock_batch(&first).await.expect("batch");
    store
        .apply_stock_batch(&first)
        .await
        .expect("replayed batch");

    let codes = ["sb-b", "sb-missing", "sb-a"].map(str::to_owned);
    let levels = store.stock_levels(&codes).await.expect("levels");
    assert_eq!(
        levels,
        vec![b1.clone(), a1.clone()],
        "input order, missing left out"
    );
    let all = store.all_stock_levels().await.expect("all levels");
    assert!(all.contains(&a1) && all.contains(&b1));
    let ledger =
        all_pages(|c| async move { store.movements("sb-a", c.as_deref(), 10).await }).await;
    assert_eq!(ledger, moves[..2].to_vec(), "replay adds no ledger rows");
    assert_eq!(
        store.reservations_for_order("sb-o1").await.expect("holds"),
        vec![h1]
    );
    let ours = |evs: Vec<agusto_schemas::Event>| -> Vec<agusto_schemas::Event> {
        evs.into_iter()
            .filter(|e| e.id.starts_with("evt_sb_"))
            .collect()
    };
    let events = all_pages(|c| async move { store.events(c.as_deref(), 100).await }).await;
    assert_eq!(
        ours(events),
        vec![e1.clone(), e2.clone()],
        "replay adds no events"
    );
    assert_eq!(
        store
            .applied_offset("contract.sb", 0)
            .await
            .expect("offset"),
        Some(7)
    );

    // Confirm a hold (upsert), release another, put-and-delete a third, and
    // repeat an old event id alongside a new one.
    let a2 = level("sb-a", 10, 0, 3, t(2));
    let confirmed = hold("sb-o3", "sb-b", 2, None);
    let second = StockBatch {
        levels: vec![a2.clone()],
        movements: vec![movement("sb-a", Release, 0, -3, 3, t(2))],
        reservations_put: vec![
            hold("sb-o3", "sb-b", 2, Some(t(5))),
            confirmed.clone(),
            hold("sb-o2", "sb-b", 1, Some(t(9))),
        ],
        reservations_delete: vec![
            ("sb-o1".to_owned(), "sb-a".to_owned()),
            ("sb-o2".to_owned(), "sb-b".to_owned()),
        ],
        events: vec![e1.clone(), e3.clone()],
        applied: Some(AppliedOffset {
            log: "contract.sb".to_owned(),
            partition: 0,
            offset: 9,
        }),
        changes: vec![],
        orders: vec![],
        sagas_put: vec![],
        sagas_delete: vec![],
        fence: None,
    };
    store.apply_stock_batch(&second).await.expect("batch");
    assert_eq!(
        store.stock_levels(&codes).await.expect("levels"),
        vec![b1, a2]
    );
    assert!(
        store
            .reservations_for_order("sb-o1")
            .await
            .expect("holds")
            .is_empty()
    );
    assert!(
        store
            .reservations_for_order("sb-o2")
            .await
            .expect("holds")
            .is_empty()
    );
    assert_eq!(
        store.reservations_for_order("sb-o3").await.expect("holds"),
        vec![confirmed]
    );
    let events = all_pages(|c| async move { store.events(c.as_deref(), 2).await }).await;
    assert_eq!(ours(events), vec![e1, e2, e3]);
    assert_eq!(
        store
            .applied_offset("contract.sb", 0)
            .await
            .expect("offset"),
        Some(9)
    );

    // An empty batch changes nothing.
    store
        .apply_stock_batch(&StockBatch::default())
        .await
        .expect("empty batch");
    assert_eq!(
        store
            .applied_offset("contract.sb", 0)
            .await
            .expect("offset"),
        Some(9)
    );
}

/// `ledger_sums` adds up each product's movements, damaged units included;
/// levels and ledger rows keep their damaged quantities.
pub async fn ledger_sums_match(store: &dyn Store) {
    let t = |ms| at(2008, ms);
    let damaged = |mut m: Movement, on_hand: i64, d: i64| {
        m.delta_on_hand = on_hand;
        m.delta_damaged = d;
        m
    };
    let mut a = level("ls-a", 3, 1, 6, t(6));
    a.damaged = 3;
    let batch = StockBatch {
        movements: vec![
            movement("ls-a", Receipt, 10, 0, 1, t(1)),
            movement("ls-a", Reserve, 0, 4, 2, t(2)),
            movement("ls-a", StockOut, -3, -3, 3, t(3)),
            movement("ls-a", Adjustment, -2, 0, 4, t(4)),
            damaged(movement("ls-a", Adjustment, 0, 0, 5, t(5)), -2, 2),
            damaged(movement("ls-a", ReturnDamaged, 0, 0, 6, t(6)), 0, 1),
            movement("ls-b", Receipt, 7, 0, 1, t(1)),
            movement("ls-b", Reserve, 0, 2, 2, t(2)),
            movement("ls-b", Release, 0, -2, 3, t(3)),
            movement("ls-b", Return, 1, 0, 4, t(4)),
        ],
        levels: vec![a.clone(), level("ls-b", 8, 0, 4, t(4))],
        ..StockBatch::default()
    };
    store.apply_stock_batch(&batch).await.expect("batch");
    let sums: Vec<LedgerSum> = store
        .ledger_sums()
        .await
        .expect("sums")
        .into_iter()
        .filter(|s| s.product_code.starts_with("ls-"))
        .collect();
    let sum = |code: &str, on_hand, reserved, damaged, returned| LedgerSum {
        product_code: code.to_owned(),
        on_hand,
        reserved,
        damaged,
        returned,
        returned_damaged: if code == "ls-a" { 1 } else { 0 },
    };
    assert_eq!(sums, vec![sum("ls-a", 3, 1, 3, 0), sum("ls-b", 8, 0, 0, 1)]);
    let levels = store
        .stock_levels(&["ls-a".to_owned(), "ls-b".to_owned()])
        .await
        .expect("levels");
    assert_eq!(levels[0], a);
    for level in levels {
        let s = sums
            .iter()
            .find(|s| s.product_code == level.product_code)
            .expect("sum");
        assert_eq!(
            (s.on_hand, s.reserved, s.damaged),
            (level.on_hand, level.reserved, level.damaged)
        );
    }
    let ledger = store.movements("ls-a", None, 10).await.expect("ledger");
    let kinds: Vec<(MovementKind, i64, i64)> = ledger
        .items
        .iter()
        .map(|m| (m.kind, m.delta_on_hand, m.delta_damaged))
        .collect();
    assert_eq!(
        kinds[4..],
        [(Adjustment, -2, 2), (ReturnDamaged, 0, 1)],
        "damaged deltas and return kinds are kept"
    );
    let all = store.all_stock_levels().await.expect("all levels");
    let stored = all.iter().find(|l| l.product_code == "ls-a").expect("ls-a");
    assert_eq!(stored.damaged, 3);
}

/// Offsets are kept per (log, partition), written by either kind of batch,
/// and replaced by later batches.
pub async fn applied_offsets(store: &dyn Store) {
    let (stock_log, order_log) = ("contract.offsets.stock", "contract.offsets.orders");
    assert_eq!(
        store.applied_offset(stock_log, 3).await.expect("offset"),
        None
    );
    let stock_at = |partition, offset| StockBatch {
        applied: Some(AppliedOffset {
            log: stock_log.to_owned(),
            partition,
            offset,
        }),
        ..StockBatch::default()
    };
    store
        .apply_stock_batch(&stock_at(3, 41))
        .await
        .expect("batch");
    store
        .apply_stock_batch(&stock_at(4, 1 << 40))
        .await
        .expect("batch");
    store
        .apply_stock_batch(&stock_at(3, 42))
        .await
        .expect("batch");
    let orders = OrderBatch {
        applied: Some(AppliedOffset {
            log: order_log.to_owned(),
            partition: 3,
            offset: 0,
        }),
        ..OrderBatch::default()
    };
    store.apply_order_batch(&orders).await.expect("batch");
    assert_eq!(
        store.applied_offset(stock_log, 3).await.expect("offset"),
        Some(42)
    );
    assert_eq!(
        store.applied_offset(stock_log, 4).await.expect("offset"),
        Some(1 << 40)
    );
    assert_eq!(
        store.applied_offset(stock_log, 5).await.expect("offset"),
        None
    );
    assert_eq!(
        store.applied_offset(order_log, 3).await.expect("offset"),
        Some(0)
    );
    assert_eq!(
        store
            .applied_offset("contract.offsets.none", 3)
            .await
            .expect("offset"),
        None
    );
}
