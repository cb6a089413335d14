//! What only the SQLite deliveries promise: the version 2 and 3 migrations
//! (fresh and from older versions), index-only delivery queries, an atomic
//! fan-out and corrupt delivery rows reported as such.

use chrono::DateTime;

use super::deliveries::{DUE_SQL, NEXT_DUE_SQL, list_sql};
use super::migrations::MIGRATIONS;
use super::tests::TempDb;
use crate::{Delivery, DeliveryStatus, Error, Store};

fn sample(id: &str, position: i64) -> Delivery {
    let at = DateTime::from_timestamp_micros(1_700_000_000_000_001).expect("time");
    Delivery {
        id: id.to_owned(),
        event_id: format!("evt_{id}"),
        channel_id: "ch_t".to_owned(),
        event_type: "stock.changed".to_owned(),
        ordering_key: "P".to_owned(),
        position,
        payload: serde_json::json!({ "id": format!("evt_{id}"), "data": { "sku": "S" } }),
        status: DeliveryStatus::Pending,
        tries: 0,
        attempts: vec![],
        next_attempt_at: Some(at),
        created_at: at,
        updated_at: at,
    }
}

fn user_version(raw: &rusqlite::Connection) -> i64 {
    raw.query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version")
}

/// Names of the tables and indexes of the database.
fn schema_objects(raw: &rusqlite::Connection) -> Vec<String> {
    let mut stmt = raw
        .prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name")
        .expect("prepare");
    stmt.query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("names")
}

fn assert_deliveries_schema(raw: &rusqlite::Connection) {
    assert_eq!(
        usize::try_from(user_version(raw)).ok(),
        Some(MIGRATIONS.len())
    );
    let columns: Vec<String> = raw
        .prepare("SELECT name FROM pragma_table_info('deliveries')")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("columns");
    for column in ["claimed_by", "lease_until"] {
        assert!(
            columns.iter().any(|c| c == column),
            "{column} in {columns:?}"
        );
    }
    let objects = schema_objects(raw);
    for name in [
        "deliveries",
        "deliveries_due",
        "deliveries_head",
        "deliveries_position",
        "deliveries_status_position",
        "deliveries_channel_position",
    ] {
        assert!(objects.iter().any(|o| o == name), "{name} in {objects:?}");
    }
}

#[tokio::test]
async fn a_fresh_store_is_at_version_3_and_reopens_idempotently() {
    let db = TempDb::new("v2");
    let store = db.open();
    assert_deliveries_schema(&db.raw());
    assert_eq!(store.fanout_position().await.expect("position"), 0);
    store.fan_out(&[sample("d1", 1)], 1).await.expect("fan out");
    let objects = schema_objects(&db.raw());
    drop(store);
    let (store, again) = (db.open(), db.open());
    assert_deliveries_schema(&db.raw());
    assert_eq!(schema_objects(&db.raw()), objects, "nothing applied twice");
    assert_eq!(
        again.get_delivery("d1").await.expect("get"),
        Some(sample("d1", 1))
    );
    assert_eq!(store.fanout_position().await.expect("position"), 1);
}

#[tokio::test]
async fn a_version_1_database_is_migrated_keeping_its_rows() {
    let db = TempDb::new("v1");
    std::fs::create_dir_all(db.path.parent().expect("dir")).expect("mkdir");
    {
        let raw = db.raw();
        raw.execute_batch(MIGRATIONS[0]).expect("v1");
        raw.pragma_update(None, "user_version", 1).expect("version");
        raw.execute(
            "INSERT INTO events (id, event_type, created_at, data)
             VALUES ('evt_old', 'stock.changed', 5, '{}')",
            [],
        )
        .expect("old event");
    }
    let store = db.open();
    assert_deliveries_schema(&db.raw());
    let outbox = store.outbox_after(0, 10).await.expect("outbox");
    let ids: Vec<(i64, &str)> = outbox.iter().map(|(p, e)| (*p, e.id.as_str())).collect();
    assert_eq!(ids, [(1, "evt_old")]);
    assert_eq!(store.fanout_position().await.expect("position"), 0);
    assert_eq!(store.next_delivery_due().await.expect("next"), None);
}

#[tokio::test]
async fn a_version_2_database_gains_claims_keeping_its_deliveries() {
    let db = TempDb::new("v2-to-v3");
    std::fs::create_dir_all(db.path.parent().expect("dir")).expect("mkdir");
    {
        let raw = db.raw();
        raw.execute_batch(MIGRATIONS[0]).expect("v1");
        raw.execute_batch(MIGRATIONS[1]).expect("v2");
        raw.pragma_update(None, "user_version", 2).expect("version");
        raw.execute(
            "INSERT INTO deliveries (id, event_id, channel_id, event_type, ordering_key,
                 position, payload, status, tries, attempts, next_attempt_at, created_at,
                 updated_at)
             VALUES ('old', 'evt_old', 'ch', 'stock.changed', 'P', 1, '{}', 'pending', 0,
                 '[]', 5, 5, 5)",
            [],
        )
        .expect("old delivery");
    }
    let store = db.open();
    assert_deliveries_schema(&db.raw());
    let now = DateTime::from_timestamp_micros(10).expect("time");
    let lease = crate::Lease {
        holder: "w1".into(),
        until: DateTime::from_timestamp_micros(1_000).expect("time"),
    };
    let claimed = store
        .claim_delivery("old", &lease, now)
        .await
        .expect("claim");
    assert_eq!(claimed.map(|d| d.id), Some("old".to_owned()));
}

/// The query plan of `sql` (its detail lines), against a migrated database.
fn plan(raw: &rusqlite::Connection, sql: &str, params: usize) -> Vec<String> {
    let args = vec![rusqlite::types::Value::Null; params];
    let mut stmt = raw
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .expect("explain");
    stmt.query_map(rusqlite::params_from_iter(args), |r| r.get(3))
        .expect("plan")
        .collect::<Result<_, _>>()
        .expect("plan rows")
}

/// No step reads the whole table or sorts rows itself.
fn assert_indexed(plan: &[String], what: &str) {
    for step in plan {
        let full_scan = step.starts_with("SCAN") && !step.contains("INDEX");
        assert!(
            !full_scan && !step.contains("TEMP B-TREE"),
            "{what}: {plan:?}"
        );
    }
}

/// The delivery queries read ranges of their indexes, never the whole table,
/// and never sort.
fn assert_plans(raw: &rusqlite::Connection) {
    let due = plan(raw, DUE_SQL, 2);
    eprintln!("due_deliveries plan: {due:#?}");
    assert_indexed(&due, "due");
    assert!(
        due.iter()
            .any(|s| s.starts_with("SEARCH d USING INDEX deliveries_due")),
        "due: {due:?}"
    );
    assert!(
        due.iter()
            .any(|s| s.contains("SEARCH h USING COVERING INDEX deliveries_head")),
        "head check: {due:?}"
    );
    let next = plan(raw, NEXT_DUE_SQL, 0);
    eprintln!("next_delivery_due plan: {next:#?}");
    assert_indexed(&next, "next due");
    for (status, channel, after) in [
        (false, false, false),
        (true, false, true),
        (false, true, true),
        (true, true, true),
    ] {
        let sql = list_sql(status, channel, after);
        let params = usize::from(status) + usize::from(channel) + 2 * usize::from(after) + 1;
        let list = plan(raw, &sql, params);
        eprintln!("list ({status}, {channel}, {after}) plan: {list:#?}");
        assert_indexed(&list, &sql);
    }
}

#[tokio::test]
async fn delivery_queries_use_indexes() {
    let db = TempDb::new("plans");
    let store = db.open();
    assert_plans(&db.raw());
    // Again with statistics of a store where most deliveries are done.
    let rows: Vec<Delivery> = (0..2000)
        .map(|i| {
            let mut d = sample(&format!("d{i}"), i);
            d.channel_id = format!("ch_{}", i % 3);
            d.ordering_key = format!("P{}", i % 40);
            if i < 1950 {
                d.status = DeliveryStatus::Delivered;
                d.next_attempt_at = None;
            }
            d
        })
        .collect();
    store.fan_out(&rows, 2000).await.expect("fan out");
    let raw = db.raw();
    raw.execute_batch("ANALYZE").expect("analyze");
    assert_plans(&raw);
}

#[tokio::test]
async fn a_failed_fan_out_changes_nothing() {
    let db = TempDb::new("atomic");
    let store = db.open();
    store.fan_out(&[], 3).await.expect("fan out");
    db.raw()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON deliveries WHEN NEW.id = 'bad'
             BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        )
        .expect("trigger");
    let r = store
        .fan_out(&[sample("good", 4), sample("bad", 4)], 4)
        .await;
    assert!(matches!(r, Err(Error::Unavailable(_))), "{r:?}");
    assert_eq!(store.get_delivery("good").await.expect("get"), None);
    assert_eq!(store.fanout_position().await.expect("position"), 3);
}

#[tokio::test]
async fn undecodable_deliveries_are_corrupt() {
    let db = TempDb::new("corrupt-deliveries");
    let store = db.open();
    let rows = [sample("d1", 1), sample("d2", 2), sample("d3", 3)];
    store.fan_out(&rows, 3).await.expect("fan out");
    let raw = db.raw();
    raw.execute("UPDATE deliveries SET status = 'lost' WHERE id = 'd1'", [])
        .expect("tamper");
    raw.execute("UPDATE deliveries SET attempts = '{' WHERE id = 'd2'", [])
        .expect("tamper");
    raw.execute("UPDATE deliveries SET tries = -1 WHERE id = 'd3'", [])
        .expect("tamper");
    for id in ["d1", "d2", "d3"] {
        let r = store.get_delivery(id).await;
        assert!(matches!(r, Err(Error::Corrupt(_))), "{id}: {r:?}");
    }
    let r = store.list_deliveries(None, None, None, 10).await;
    assert!(matches!(r, Err(Error::Corrupt(_))), "{r:?}");
}
