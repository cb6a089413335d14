//! The schema, as an ordered list of migrations kept in code.
//!
//! `PRAGMA user_version` holds how many migrations a database has applied.
//! Opening a store applies the missing ones in one `BEGIN IMMEDIATE`
//! transaction, so processes that open the same file at once apply each
//! migration exactly once. Released migrations are never edited: a change of
//! schema is a new entry at the end.

use rusqlite::{Connection, TransactionBehavior};

use crate::{Error, Result, SchemaChange};

/// Migration `i` (0-based) brings the schema from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12, V13];

/// Version 1: catalogue, stock, ledger, holds, orders, outbox, offsets,
/// channels and tokens. Timestamps are INTEGER microseconds since the epoch.
const V1: &str = r#"
CREATE TABLE products (
    product_code TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    active       INTEGER NOT NULL,
    barcode      TEXT,
    updated_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX products_active ON products (active, product_code);

CREATE TABLE sku_mappings (
    channel_id   TEXT NOT NULL,
    sku          TEXT NOT NULL,
    product_code TEXT NOT NULL,
    PRIMARY KEY (channel_id, sku)
) WITHOUT ROWID;
CREATE INDEX sku_mappings_product ON sku_mappings (channel_id, product_code, sku);

CREATE TABLE stock_levels (
    product_code TEXT PRIMARY KEY,
    on_hand      INTEGER NOT NULL,
    reserved     INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX stock_levels_updated ON stock_levels (updated_at, product_code);

CREATE TABLE movements (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    product_code   TEXT NOT NULL,
    at             INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    delta_on_hand  INTEGER NOT NULL,
    delta_reserved INTEGER NOT NULL,
    reference      TEXT NOT NULL,
    version        INTEGER NOT NULL
);
CREATE UNIQUE INDEX movements_product_version ON movements (product_code, version);
CREATE INDEX movements_product_seq ON movements (product_code, seq);

CREATE TABLE reservations (
    order_id     TEXT NOT NULL,
    product_code TEXT NOT NULL,
    quantity     INTEGER NOT NULL,
    expires_at   INTEGER,
    PRIMARY KEY (order_id, product_code)
) WITHOUT ROWID;
CREATE INDEX reservations_expiry ON reservations (expires_at, order_id, product_code)
    WHERE expires_at IS NOT NULL;

CREATE TABLE orders (
    id               TEXT PRIMARY KEY,
    external_id      TEXT NOT NULL,
    channel_id       TEXT NOT NULL,
    status           TEXT NOT NULL,
    expires_at       INTEGER,
    tracking_number  TEXT,
    carrier          TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    idempotency_key  TEXT,
    lines            TEXT NOT NULL,
    history          TEXT NOT NULL,
    customer         TEXT,
    shipping_address TEXT
);
CREATE INDEX orders_created ON orders (created_at, id);
CREATE INDEX orders_channel_created ON orders (channel_id, created_at, id);
CREATE INDEX orders_status_created ON orders (status, created_at, id);
CREATE INDEX orders_channel_external ON orders (channel_id, external_id);
CREATE INDEX orders_idempotency ON orders (channel_id, idempotency_key, created_at, id)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX orders_status_expiry ON orders (status, expires_at, id);

CREATE TABLE order_lines (
    order_id     TEXT NOT NULL,
    line_no      INTEGER NOT NULL,
    sku          TEXT NOT NULL,
    product_code TEXT NOT NULL,
    quantity     INTEGER NOT NULL,
    PRIMARY KEY (order_id, line_no)
) WITHOUT ROWID;

CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    event_type   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    channel_id   TEXT,
    product_code TEXT,
    data         TEXT NOT NULL
);

CREATE TABLE applied_offsets (
    log          TEXT NOT NULL,
    partition    INTEGER NOT NULL,
    log_offset   INTEGER NOT NULL,
    PRIMARY KEY (log, partition)
) WITHOUT ROWID;

CREATE TABLE channels (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    webhook_url           TEXT,
    webhook_secret        TEXT NOT NULL,
    allowed_ips           TEXT NOT NULL,
    rate_limit_per_second INTEGER,
    webhook_disabled      INTEGER NOT NULL,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    channel_id   TEXT,
    token_hash   BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX tokens_live_role ON tokens (role) WHERE revoked_at IS NULL;
"#;

/// Version 2: webhook deliveries, one row per (event, channel). The fan-out
/// position lives in `applied_offsets` (see `deliveries::FANOUT_LOG`).
/// `deliveries_due` serves the due queue and `next_delivery_due`,
/// `deliveries_head` the head-of-queue check, the other three the listing.
const V2: &str = r#"
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL,
    channel_id      TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    ordering_key    TEXT NOT NULL,
    position        INTEGER NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    tries           INTEGER NOT NULL,
    attempts        TEXT NOT NULL,
    next_attempt_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at, position, id);
CREATE INDEX deliveries_head ON deliveries (channel_id, ordering_key, status, position);
CREATE INDEX deliveries_position ON deliveries (position, id);
CREATE INDEX deliveries_status_position ON deliveries (status, position, id);
CREATE INDEX deliveries_channel_position ON deliveries (channel_id, position, id);
"#;

/// Version 3: receipts and adjustments as each stock partition recorded
/// them (the `Idempotency-Key` claim and the answer), kept until
/// `expires_at`; `stock_changes_expiry` serves the purge of expired rows.
const V3: &str = r#"
CREATE TABLE stock_changes (
    change_id   TEXT NOT NULL,
    partition   INTEGER NOT NULL,
    fingerprint TEXT,
    levels      TEXT,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (change_id, partition)
) WITHOUT ROWID;
CREATE INDEX stock_changes_expiry ON stock_changes (partition, expires_at);
"#;

/// Version 4: delivery claims, so any number of webhook workers share the
/// deliveries: `claimed_by` is the lease holder's token, `lease_until` when
/// the lease lapses (both NULL when nobody holds the delivery).
const V4: &str = r#"
ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE deliveries ADD COLUMN lease_until INTEGER;
"#;

/// Version 5: the epoch of each log partition's current writer (fencing).
const V5: &str = r#"
CREATE TABLE partition_epochs (
    log       TEXT NOT NULL,
    partition INTEGER NOT NULL,
    epoch     INTEGER NOT NULL,
    PRIMARY KEY (log, partition)
) WITHOUT ROWID;
"#;

/// Version 6: no index on (channel, external id). No query uses it (an
/// order's id is derived from them), and every new order paid for it with
/// one more randomly placed page in its commit.
const V6: &str = r#"
DROP INDEX IF EXISTS orders_channel_external;
"#;

/// Version 7: fewer randomly placed pages per order. Open-order totals are
/// summed from the orders' own `lines` (ledger verification only), not from a
/// copy in `order_lines`; lapsed holds are found by a scan (start-up only:
/// the writers sweep their own holds in memory), not by an index every hold
/// and every payment changed.
const V7: &str = r#"
DROP TABLE IF EXISTS order_lines;
DROP INDEX IF EXISTS reservations_expiry;
"#;

/// Version 8: sagas of orders spanning stock partitions, one row per order
/// while a step is under way, kept by the order's home partition.
const V8: &str = r#"
CREATE TABLE sagas (
    partition INTEGER NOT NULL,
    order_id  TEXT NOT NULL,
    saga      TEXT NOT NULL,
    PRIMARY KEY (partition, order_id)
) WITHOUT ROWID;
"#;

/// Version 9: no index of reserved orders by deadline. Expiry is decided
/// by each order's home partition from the orders it holds in memory; the
/// index was one more randomly placed page in every order's commit (and in
/// every status change).
const V9: &str = r#"
DROP INDEX IF EXISTS orders_status_expiry;
"#;

/// Version 10: damaged stock (physically here, not sellable) per product
/// and in the ledger.
const V10: &str = r#"
ALTER TABLE stock_levels ADD COLUMN damaged INTEGER NOT NULL DEFAULT 0;
ALTER TABLE movements ADD COLUMN delta_damaged INTEGER NOT NULL DEFAULT 0;
"#;

/// Version 11: returns of dispatched orders (the record as JSON), by id,
/// by order and by status (the receiving list).
const V11: &str = r#"
CREATE TABLE returns (
    id       TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    status   TEXT NOT NULL,
    body     TEXT NOT NULL
);
CREATE INDEX returns_order ON returns (order_id, id);
CREATE INDEX returns_status ON returns (status, id);
"#;

/// Version 12: published availability per channel: each channel's stock rule, each SKU
/// mapping's override of it, and what the webhook fan-out last sent each
/// channel about each product (`published_stock`, read by product).
const V12: &str = r#"
ALTER TABLE channels ADD COLUMN stock_buffer INTEGER NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN stock_buffer_percent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN stock_floor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sku_mappings ADD COLUMN stock_buffer INTEGER;
ALTER TABLE sku_mappings ADD COLUMN stock_max INTEGER;
CREATE TABLE published_stock (
    product_code TEXT NOT NULL,
    channel_id   TEXT NOT NULL,
    on_hand      INTEGER NOT NULL,
    available    INTEGER NOT NULL,
    damaged      INTEGER NOT NULL,
    position     INTEGER NOT NULL,
    PRIMARY KEY (product_code, channel_id)
) WITHOUT ROWID;
"#;

/// Version 13: bundles (kits): each bundle's components, found by bundle
/// and by component.
const V13: &str = r#"
CREATE TABLE bundle_components (
    bundle    TEXT NOT NULL,
    component TEXT NOT NULL,
    quantity  INTEGER NOT NULL,
    PRIMARY KEY (bundle, component)
) WITHOUT ROWID;
CREATE INDEX bundle_components_by_component ON bundle_components (component, bundle);
"#;

/// The schema version of the database `conn` is open on.
pub(crate) fn schema_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

/// Applies the migrations the database lacks, in one transaction, and
/// says which version it found. Refuses a database written by a newer build
/// (more migrations than this one knows).
pub(crate) fn migrate(conn: &mut Connection) -> Result<SchemaChange> {
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    // Cheap check outside a write transaction: most opens find nothing to do.
    if schema_version(conn)? == known {
        return Ok(SchemaChange {
            from: known,
            to: known,
        });
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = schema_version(&tx)?;
    if current > known {
        return Err(Error::Unavailable(format!(
            "database schema version {current} is newer than this build ({known})"
        )));
    }
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        tx.execute_batch(sql)?;
        tracing::info!(version = index + 1, "applied store migration");
    }
    tx.pragma_update(None, "user_version", known)?;
    tx.commit()?;
    Ok(SchemaChange {
        from: current,
        to: known,
    })
}
