//! The contract suite on SQLite, plus what only a file-backed store promises:
//! durability across reopen, idempotent migrations, several openers of one
//! file, microsecond timestamps and corrupt rows reported as such.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use agusto_schemas::{MovementKind, Order, OrderLine, OrderStatus, StockLevel, Timestamp};
use chrono::{DateTime, Utc};

use super::SqliteStore;
use super::migrations::MIGRATIONS;
use crate::{
    AppliedOffset, Error, OrderBatch, Product, Role, StockBatch, Store, TokenRecord, contract,
};

/// A fresh database path in its own directory, removed on drop.
pub(super) struct TempDb {
    root: PathBuf,
    pub(super) path: PathBuf,
}

impl TempDb {
    pub(super) fn new(name: &str) -> TempDb {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let root = std::env::temp_dir().join(format!(
            "agusto-store-{}-{nanos}-{n}-{name}",
            std::process::id()
        ));
        // A nested, not yet existing directory: `open` must create it.
        let path = root.join("data").join("agusto.db");
        TempDb { root, path }
    }

    pub(super) fn open(&self) -> SqliteStore {
        SqliteStore::open(&self.path).expect("open store")
    }

    pub(super) fn raw(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.path).expect("open file")
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

macro_rules! contract_tests {
    ($($scenario:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $scenario() {
            let db = TempDb::new(stringify!($scenario));
            contract::$scenario(&db.open()).await;
        }
    )*};
}

contract_tests!(
    catalogue_round_trip,
    sku_resolution,
    paging_covers_everything_once,
    invalid_cursor_is_an_error,
    stock_batch_is_atomic_and_replay_safe,
    ledger_sums_match,
    applied_offsets,
    stock_changes_are_recorded_per_partition_until_they_expire,
    orders_round_trip_and_filters,
    idempotency_key_lookup,
    open_order_quantities_follow_status,
    load_partition_returns_what_batches_wrote,
    writers_are_fenced_by_a_newer_claim,
    tokens_and_channels,
    channel_stock_rules_round_trip,
    outbox_positions_follow_writes,
    fan_out_is_idempotent,
    due_deliveries_respect_queue_heads,
    delivery_updates_round_trip,
    deliveries_list_filters_and_paging,
    delivery_claims_are_exclusive_and_expire,
    queue_heads_survive_concurrent_changes,
    next_delivery_due_is_earliest_pending,
    returns_are_limited_by_what_was_dispatched,
    bundles_know_their_components_both_ways,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_on_one_store() {
    let db = TempDb::new("run_all");
    contract::run_all(&db.open()).await;
}

fn at(micros: i64) -> Timestamp {
    DateTime::from_timestamp_micros(1_700_000_000_000_000 + micros).expect("time")
}

fn sample_order(id: &str) -> Order {
    Order {
        id: id.to_owned(),
        external_id: format!("ext-{id}"),
        channel_id: "ch_t".to_owned(),
        status: OrderStatus::Reserved,
        lines: vec![OrderLine {
            components: Vec::new(),
            sku: "S".to_owned(),
            product_code: "P".to_owned(),
            quantity: 2,
        }],
        expires_at: Some(at(9)),
        tracking_number: None,
        carrier: None,
        created_at: at(1),
        updated_at: at(1),
        history: vec![],
        idempotency_key: Some("k".to_owned()),
        customer: None,
        shipping_address: None,
    }
}

#[tokio::test]
async fn data_survives_reopen_and_migrations_are_idempotent() {
    let db = TempDb::new("reopen");
    let product = Product {
        product_code: "P".to_owned(),
        name: "Pen".to_owned(),
        active: true,
        barcode: None,
        updated_at: at(1),
    };
    let level = StockLevel {
        damaged: 0,
        product_code: "P".to_owned(),
        on_hand: 3,
        reserved: 2,
        version: 1,
        updated_at: at(2),
    };
    let token = TokenRecord {
        id: "tok_1".to_owned(),
        name: "admin".to_owned(),
        role: Role::Admin,
        channel_id: None,
        token_hash: vec![7; 32],
        created_at: at(3),
    };
    {
        let store = db.open();
        store.put_product(&product).await.expect("put");
        let batch = StockBatch {
            levels: vec![level.clone()],
            applied: Some(AppliedOffset {
                log: "l".to_owned(),
                partition: 1,
                offset: 5,
            }),
            ..StockBatch::default()
        };
        store.apply_stock_batch(&batch).await.expect("batch");
        let batch = OrderBatch {
            orders: vec![sample_order("o1")],
            ..OrderBatch::default()
        };
        store.apply_order_batch(&batch).await.expect("batch");
        store.insert_token(&token).await.expect("token");
    }
    let store = db.open();
    let again = db.open();
    assert_eq!(store.get_product("P").await.expect("get"), Some(product));
    assert_eq!(
        again.stock_levels(&["P".to_owned()]).await.expect("levels"),
        vec![level]
    );
    assert_eq!(store.applied_offset("l", 1).await.expect("offset"), Some(5));
    assert_eq!(
        store.get_order("o1").await.expect("get"),
        Some(sample_order("o1"))
    );
    assert_eq!(
        store.token_by_hash(&[7; 32]).await.expect("token"),
        Some(token)
    );
    assert_eq!(
        store.open_order_quantities().await.expect("open"),
        vec![("P".to_owned(), 2)]
    );

    let raw = db.raw();
    let version: i64 = raw
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(usize::try_from(version).ok(), Some(MIGRATIONS.len()));
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
    assert_eq!(store.path(), db.path.as_path());
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let db = TempDb::new("newer");
    drop(db.open());
    db.raw()
        .pragma_update(None, "user_version", 999)
        .expect("tamper");
    assert!(matches!(
        SqliteStore::open(&db.path),
        Err(Error::Unavailable(_))
    ));
}

/// Writes 50 one-order batches tagged `tag`, each with its offset.
async fn write_orders(store: SqliteStore, tag: &str) {
    for i in 0..50 {
        let batch = OrderBatch {
            orders: vec![sample_order(&format!("{tag}-{i}"))],
            applied: Some(AppliedOffset {
                log: tag.to_owned(),
                partition: 0,
                offset: i,
            }),
            ..OrderBatch::default()
        };
        store.apply_order_batch(&batch).await.expect("batch");
    }
}

async fn assert_both_wrote(store: &SqliteStore) {
    let all = store
        .list_orders(None, None, None, 1000)
        .await
        .expect("list");
    assert_eq!(all.items.len(), 100);
    assert_eq!(
        store.applied_offset("a", 0).await.expect("offset"),
        Some(49)
    );
    assert_eq!(
        store.applied_offset("b", 0).await.expect("offset"),
        Some(49)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_openers_of_one_file_write_concurrently() {
    let db = TempDb::new("two");
    let (a, b) = (db.open(), db.open());
    let (ra, rb) = tokio::join!(
        tokio::spawn(write_orders(a.clone(), "a")),
        tokio::spawn(write_orders(b, "b"))
    );
    ra.expect("writer a");
    rb.expect("writer b");
    assert_both_wrote(&a).await;
}

/// Set for the child process of [`writers_in_two_processes_share_one_file`].
const CHILD_DB: &str = "AGUSTO_STORE_TEST_CHILD_DB";

/// The second process of [`writers_in_two_processes_share_one_file`]; does
/// nothing when run as an ordinary test.
#[tokio::test]
async fn child_process_writer() {
    if let Some(path) = std::env::var_os(CHILD_DB) {
        let store = SqliteStore::open(std::path::Path::new(&path)).expect("open in child");
        write_orders(store, "b").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_in_two_processes_share_one_file() {
    let db = TempDb::new("processes");
    let store = db.open();
    let exe = std::env::current_exe().expect("test binary");
    let mut child = std::process::Command::new(exe)
        .args([
            "--exact",
            "sqlite::tests::child_process_writer",
            "--test-threads=1",
        ])
        .env(CHILD_DB, &db.path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn child");
    write_orders(store.clone(), "a").await;
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(status.success(), "child writer failed: {status}");
    assert_both_wrote(&store).await;
}

#[tokio::test]
async fn timestamps_keep_microseconds() {
    let db = TempDb::new("micros");
    let store = db.open();
    let precise = DateTime::from_timestamp(1_700_000_000, 123_456_789).expect("time");
    let level = StockLevel {
        damaged: 0,
        product_code: "P".to_owned(),
        on_hand: 1,
        reserved: 0,
        version: 1,
        updated_at: precise,
    };
    let mut movement = agusto_schemas::Movement {
        delta_damaged: 0,
        product_code: "P".to_owned(),
        at: precise,
        kind: MovementKind::Receipt,
        delta_on_hand: 1,
        delta_reserved: 0,
        reference: "r".to_owned(),
        version: 1,
    };
    let batch = StockBatch {
        levels: vec![level],
        movements: vec![movement.clone()],
        ..StockBatch::default()
    };
    store.apply_stock_batch(&batch).await.expect("batch");
    let micros = DateTime::from_timestamp(1_700_000_000, 123_456_000).expect("time");
    let stored = store.stock_levels(&["P".to_owned()]).await.expect("levels");
    assert_eq!(stored[0].updated_at, micros);
    movement.at = micros;
    assert_eq!(
        store.movements("P", None, 10).await.expect("ledger").items,
        vec![movement]
    );
}

#[tokio::test]
async fn undecodable_rows_are_corrupt() {
    let db = TempDb::new("corrupt");
    let store = db.open();
    let batch = OrderBatch {
        orders: vec![sample_order("o1"), sample_order("o2")],
        ..OrderBatch::default()
    };
    store.apply_order_batch(&batch).await.expect("batch");
    let raw = db.raw();
    raw.execute("UPDATE orders SET status = 'lost' WHERE id = 'o1'", [])
        .expect("tamper");
    raw.execute("UPDATE orders SET lines = '{' WHERE id = 'o2'", [])
        .expect("tamper");
    assert!(matches!(
        store.get_order("o1").await,
        Err(Error::Corrupt(_))
    ));
    assert!(matches!(
        store.get_order("o2").await,
        Err(Error::Corrupt(_))
    ));
    raw.execute("UPDATE orders SET created_at = 'soon'", [])
        .expect("tamper");
    assert!(matches!(
        store.list_orders(None, None, None, 10).await,
        Err(Error::Corrupt(_))
    ));
}
