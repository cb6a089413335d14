//! The tables, as CQL kept in code: migrations `V1` to `V10`.
//!
//! Every table is shaped for one query of [`crate::Store`]:
//!
//! | table | primary key | serves |
//! |---|---|---|
//! | `products` | `product_code` | `get_product`, `resolve_sku` (does the code exist?) |
//! | `products_by_active` | `((active), product_code)` | `list_products` (one partition, or both merged) |
//! | `sku_mappings` | `((channel_id), sku)` | `resolve_sku` (explicit mapping) |
//! | `skus_by_product` | `((channel_id, product_code), sku)` | `skus_for`, `channel_skus` (first row = smallest SKU, with its stock-rule override), `resolve_sku` (is the code hidden by a mapping?) |
//! | `stock_levels` | `product_code` (`damaged`: V7) | `stock_levels`, `all_stock_levels` (scan), the writer's previous `updated_at` |
//! | `stock_by_update` | `((shard), updated_at, product_code)` | `stock_updated_since` (shards merged) |
//! | `movements` | `((product_code), version)` | `movements` (oldest first), `ledger_sums` (scan) |
//! | `reservations` | `((order_id), product_code)` | `reservations_for_order`, `all_reservations` (scan, `load_partition`) |
//! | `order_returns` (V8) | `order_id` | every return of an order as JSON, changed by LWT on `rev`: `request_return`, `put_received_return`, `returns_for_order` |
//! | `returns_by_id` (V8) | `return_id` | `get_return` (which order's row holds it) |
//! | `returns_by_status` (V8) | `((status), return_id)` | `list_returns` (the receiving list; entries kept when the order's row confirms them) |
//! | `bundle_components` (V10) | `((bundle), component)` | `bundle_components`, `put_bundle` |
//! | `bundles_by_component` (V10) | `((component), bundle)` | `bundles_containing` (checked against `bundle_components`) |
//! | `sagas` (V5) | `((stock_partition), order_id)` | `sagas`: the saga steps under way of a home partition |
//! | `applied_offsets` | `((log_name, log_partition))` | `applied_offset` |
//! | `stock_changes` (V2) | `((change_id), stock_partition)` | `stock_changes`: a partition's record of a receipt or adjustment (TTL: its `expires_at`) |
//! | `orders` | `id` | `get_order`; every order list fetches through it |
//! | `orders_by_created` | `((shard), created_at, id)` | `list_orders` without filter |
//! | `orders_by_channel` | `((channel_id), created_at, id)` | `list_orders` of a channel |
//! | `orders_by_status` | `((status, shard), created_at, id)` | `list_orders` of a status, `open_order_quantities` |
//! | `orders_by_channel_status` | `((channel_id, status), created_at, id)` | `list_orders` of a channel and status |
//! | `order_by_idempotency` | `((channel_id, idempotency_key), created_at, id)` | `order_by_idempotency_key` (earliest) |
//! | `outbox` | `((stream), seq)` | each writer stream's events, until sequenced (30-day TTL) |
//! | `outbox_streams` | `((shard = 0), stream)` | the sequencer: every stream's newest seq (30-day TTL) |
//! | `events_by_id` | `event_id` | replayed batches: is this event stored already? (30-day TTL) |
//! | `outbox_log` | `((bucket), position)` + static sequencer state | `events`, `outbox_after` |
//! | `fanout_marks` | `((shard = 0), position DESC)` | `fanout_position` (first row), `fan_out` |
//! | `deliveries` | `id` | `get_delivery`; every delivery list fetches through it; claims (`claimed_by`, `lease_until`, V2) |
//! | `delivery_queue` | `((channel_id, ordering_key), position, id)` | the pending deliveries of a queue (its next head) |
//! | `delivery_heads` | `((shard), channel_id, ordering_key)` | `due_deliveries`, `next_delivery_due` (one row per non-empty queue); written conditioned on `rev` (V2) |
//! | `deliveries_by_position` | `((shard), position DESC, id DESC)` | `list_deliveries` without filter |
//! | `deliveries_by_status` | `((status, shard), position DESC, id DESC)` | `list_deliveries` of a status |
//! | `deliveries_by_channel` | `((channel_id), position DESC, id DESC)` | `list_deliveries` of a channel |
//! | `deliveries_by_channel_status` | `((channel_id, status), position DESC, id DESC)` | `list_deliveries` of a channel and status |
//! | `channels` | `id` | `get_channel`, `list_channels` (scan; channels are few); stock rule columns (V9) |
//! | `published_stock` (V9) | `((product_code), channel_id)` | `published_stock`, `put_published_stock`: what the fan-out last sent each channel |
//! | `tokens` | `id` | `revoke_token`, the token behind a hash |
//! | `tokens_by_hash` | `token_hash` | `token_by_hash`; claimed `IF NOT EXISTS`, so a hash has one token |
//! | `live_tokens_by_role` | `((token_role), id)` | `has_admin_token` |
//!
//! Conventions:
//!
//! - Timestamps are `bigint` microseconds since the Unix epoch (CQL
//!   `timestamp` keeps only milliseconds; the store keeps microseconds).
//! - JSON documents (order lines, webhook payloads, …) are `text`.
//! - `shard` columns spread a table that must be read in one global order
//!   over [`super::codec::SHARDS`] partitions, chosen by a stable hash of the
//!   row's id; a reader asks every shard for its first rows and merges them.
//!   A fixed number keeps the set of partitions a query asks known whatever
//!   its range (time buckets would need a directory of buckets). Changing it
//!   needs a data migration.
//! - Query tables hold keys only (and are fetched back through the base
//!   table), so a write batch stays small; readers re-check what they fetch.
//! - Tables written like queues (`delivery_queue`, `sagas`) leave tombstones
//!   behind; readers of `delivery_queue` start at the current head. Operators may
//!   use `tombstone_gc = {'mode': 'repair'}` on them with regular repairs.
//! - Every statement is idempotent (`IF NOT EXISTS`, `IF EXISTS`; an `ALTER TABLE … ADD`
//!   of a column that exists counts as done), so a migration interrupted
//!   half-way is simply run again.

/// Version 1 of the schema. Each entry is one CQL statement.
pub(super) const V1: &[&str] = &[
    // ---- catalogue ------------------------------------------------------
    // PK product_code. get_product, resolve_sku (does the code exist?).
    "CREATE TABLE IF NOT EXISTS products (
        product_code text PRIMARY KEY,
        name text, active boolean, barcode text, updated_at bigint)",
    // PK ((active), product_code): list_products, filtered or not (two
    // partitions merged). Holds a copy of the catalogue fields.
    "CREATE TABLE IF NOT EXISTS products_by_active (
        active boolean, product_code text,
        name text, barcode text, updated_at bigint,
        PRIMARY KEY ((active), product_code))",
    // PK ((channel_id), sku): resolve_sku's explicit mapping.
    "CREATE TABLE IF NOT EXISTS sku_mappings (
        channel_id text, sku text, product_code text,
        PRIMARY KEY ((channel_id), sku))",
    // PK ((channel_id, product_code), sku): skus_for (first = smallest SKU)
    // and resolve_sku's "is another SKU mapped to this code?".
    "CREATE TABLE IF NOT EXISTS skus_by_product (
        channel_id text, product_code text, sku text,
        PRIMARY KEY ((channel_id, product_code), sku))",
    // ---- stock ----------------------------------------------------------
    // PK product_code: stock_levels, all_stock_levels (full scan).
    "CREATE TABLE IF NOT EXISTS stock_levels (
        product_code text PRIMARY KEY,
        on_hand bigint, reserved bigint, version bigint, updated_at bigint)",
    // PK ((shard), updated_at, product_code): stock_updated_since, ordered
    // by (updated_at, code). One row per product (moved when it changes), a
    // fixed number of shards so a reader asks a known set of partitions
    // whatever `since` is (day buckets would need a bucket directory).
    "CREATE TABLE IF NOT EXISTS stock_by_update (
        shard bigint, updated_at bigint, product_code text,
        on_hand bigint, reserved bigint, version bigint,
        PRIMARY KEY ((shard), updated_at, product_code))",
    // PK ((product_code), version): movements (a product's ledger, oldest
    // first) and ledger_sums (full scan). (product, version) is unique, so a
    // replayed batch rewrites the same rows.
    "CREATE TABLE IF NOT EXISTS movements (
        product_code text, version bigint,
        at bigint, kind text, delta_on_hand bigint, delta_reserved bigint, reference text,
        PRIMARY KEY ((product_code), version))",
    // PK ((order_id), product_code): reservations_for_order.
    "CREATE TABLE IF NOT EXISTS reservations (
        order_id text, product_code text, quantity bigint, expires_at bigint,
        PRIMARY KEY ((order_id), product_code))",
    // PK ((shard), expires_at, order_id, product_code): lapsed_reservations.
    // Only unconfirmed holds (expires_at set) have a row.
    "CREATE TABLE IF NOT EXISTS lapsed_holds (
        shard bigint, expires_at bigint, order_id text, product_code text, quantity bigint,
        PRIMARY KEY ((shard), expires_at, order_id, product_code))",
    // PK ((log_name, log_partition)): applied_offset.
    "CREATE TABLE IF NOT EXISTS applied_offsets (
        log_name text, log_partition bigint, log_offset bigint,
        PRIMARY KEY ((log_name, log_partition)))",
    // ---- orders ---------------------------------------------------------
    // PK id: get_order, and every order list after its index.
    "CREATE TABLE IF NOT EXISTS orders (
        id text PRIMARY KEY,
        external_id text, channel_id text, status text, expires_at bigint,
        tracking_number text, carrier text, created_at bigint, updated_at bigint,
        idempotency_key text, lines text, history text, customer text, shipping_address text)",
    // PK ((shard), created_at, id): list_orders without filters.
    "CREATE TABLE IF NOT EXISTS orders_by_created (
        shard bigint, created_at bigint, id text,
        PRIMARY KEY ((shard), created_at, id))",
    // PK ((channel_id), created_at, id): list_orders of one channel.
    "CREATE TABLE IF NOT EXISTS orders_by_channel (
        channel_id text, created_at bigint, id text,
        PRIMARY KEY ((channel_id), created_at, id))",
    // PK ((status, shard), created_at, id): list_orders of one status,
    // open_order_quantities (the stock-holding statuses).
    "CREATE TABLE IF NOT EXISTS orders_by_status (
        status text, shard bigint, created_at bigint, id text,
        PRIMARY KEY ((status, shard), created_at, id))",
    // PK ((channel_id, status), created_at, id): list_orders of one channel
    // and status.
    "CREATE TABLE IF NOT EXISTS orders_by_channel_status (
        channel_id text, status text, created_at bigint, id text,
        PRIMARY KEY ((channel_id, status), created_at, id))",
    // PK ((channel_id, idempotency_key), created_at, id):
    // order_by_idempotency_key (the earliest order with that key).
    "CREATE TABLE IF NOT EXISTS order_by_idempotency (
        channel_id text, idempotency_key text, created_at bigint, id text,
        PRIMARY KEY ((channel_id, idempotency_key), created_at, id))",
    // PK ((shard), expires_at, id): due_orders. Only `reserved` orders with
    // a deadline have a row.
    "CREATE TABLE IF NOT EXISTS orders_due (
        shard bigint, expires_at bigint, id text,
        PRIMARY KEY ((shard), expires_at, id))",
    // ---- outbox (see outbox.rs and sequencer.rs) --------------------------
    // PK ((stream), seq): each writer partition's own outbox, appended in its
    // batches. A staging area: copied into `outbox_log` by the sequencer,
    // expires after 30 days.
    "CREATE TABLE IF NOT EXISTS outbox (
        stream text, seq bigint,
        event_id text, event_type text, created_at bigint, channel_id text,
        product_code text, data text,
        PRIMARY KEY ((stream), seq))
        WITH default_time_to_live = 2592000",
    // PK ((shard), stream), shard always 0: every stream's newest seq, read
    // by the sequencer first (one small partition).
    "CREATE TABLE IF NOT EXISTS outbox_streams (
        shard bigint, stream text, head bigint,
        PRIMARY KEY ((shard), stream))
        WITH default_time_to_live = 2592000",
    // PK event_id: "was this event written already?" for replayed batches.
    "CREATE TABLE IF NOT EXISTS events_by_id (
        event_id text PRIMARY KEY, stream text, seq bigint)
        WITH default_time_to_live = 2592000",
    // PK ((bucket), position): the global event log, `events` and
    // `outbox_after`. Positions are assigned by the sequencer with one
    // conditional batch per round on the newest bucket; the static columns
    // are the sequencer's state (next free position, per-stream cursors).
    "CREATE TABLE IF NOT EXISTS outbox_log (
        bucket bigint, position bigint,
        next_position bigint static, cursors map<text, bigint> static,
        event_id text, event_type text, created_at bigint, channel_id text,
        product_code text, data text,
        PRIMARY KEY ((bucket), position))",
    // PK ((shard), position DESC), shard always 0: fanout_position is the
    // first row; fan_out adds one and deletes the one it replaces (by key).
    "CREATE TABLE IF NOT EXISTS fanout_marks (
        shard bigint, position bigint,
        PRIMARY KEY ((shard), position))
        WITH CLUSTERING ORDER BY (position DESC)",
    // ---- webhook deliveries (see deliveries.rs) ----------------------------
    // PK id: get_delivery, and every delivery list after its index.
    "CREATE TABLE IF NOT EXISTS deliveries (
        id text PRIMARY KEY,
        event_id text, channel_id text, event_type text, ordering_key text,
        position bigint, payload text, status text, tries bigint, attempts text,
        next_attempt_at bigint, created_at bigint, updated_at bigint)",
    // PK ((channel_id, ordering_key), position, id): the pending deliveries of
    // one queue, to find its next head.
    "CREATE TABLE IF NOT EXISTS delivery_queue (
        channel_id text, ordering_key text, position bigint, id text,
        next_attempt_at bigint,
        PRIMARY KEY ((channel_id, ordering_key), position, id))",
    // PK ((shard), channel_id, ordering_key): one row per queue with pending
    // deliveries (its head and earliest due time): due_deliveries,
    // next_delivery_due.
    "CREATE TABLE IF NOT EXISTS delivery_heads (
        shard bigint, channel_id text, ordering_key text,
        head_position bigint, head_id text, head_next bigint, min_next bigint,
        PRIMARY KEY ((shard), channel_id, ordering_key))",
    // PK ((shard), position DESC, id DESC): list_deliveries without filters.
    "CREATE TABLE IF NOT EXISTS deliveries_by_position (
        shard bigint, position bigint, id text,
        PRIMARY KEY ((shard), position, id))
        WITH CLUSTERING ORDER BY (position DESC, id DESC)",
    // PK ((status, shard), position DESC, id DESC): list_deliveries of a status.
    "CREATE TABLE IF NOT EXISTS deliveries_by_status (
        status text, shard bigint, position bigint, id text,
        PRIMARY KEY ((status, shard), position, id))
        WITH CLUSTERING ORDER BY (position DESC, id DESC)",
    // PK ((channel_id), position DESC, id DESC): list_deliveries of a channel.
    "CREATE TABLE IF NOT EXISTS deliveries_by_channel (
        channel_id text, position bigint, id text,
        PRIMARY KEY ((channel_id), position, id))
        WITH CLUSTERING ORDER BY (position DESC, id DESC)",
    // PK ((channel_id, status), position DESC, id DESC): list_deliveries of a
    // channel and status.
    "CREATE TABLE IF NOT EXISTS deliveries_by_channel_status (
        channel_id text, status text, position bigint, id text,
        PRIMARY KEY ((channel_id, status), position, id))
        WITH CLUSTERING ORDER BY (position DESC, id DESC)",
    // ---- channels and tokens ----------------------------------------------
    // PK id: get_channel, list_channels (full scan; channels are few).
    "CREATE TABLE IF NOT EXISTS channels (
        id text PRIMARY KEY,
        name text, webhook_url text, webhook_secret text, allowed_ips list<text>,
        rate_limit_per_second bigint, webhook_disabled boolean,
        created_at bigint, updated_at bigint)",
    // PK id: the token itself (revoke_token).
    "CREATE TABLE IF NOT EXISTS tokens (
        id text PRIMARY KEY,
        name text, token_role text, channel_id text, token_hash blob,
        created_at bigint, revoked boolean, revoked_at bigint)",
    // PK token_hash: token_by_hash; claimed with IF NOT EXISTS so a hash is
    // never given to two tokens.
    "CREATE TABLE IF NOT EXISTS tokens_by_hash (
        token_hash blob PRIMARY KEY, id text)",
    // PK ((token_role), id): has_admin_token (unrevoked tokens per role).
    "CREATE TABLE IF NOT EXISTS live_tokens_by_role (
        token_role text, id text,
        PRIMARY KEY ((token_role), id))",
];

/// Version 2: receipts and adjustments as each stock partition recorded
/// them (the `Idempotency-Key` claim and the answer).
pub(super) const V2: &[&str] = &[
    // PK ((change_id), stock_partition): stock_changes, the rows of one
    // change id in one partition (a receipt spans several stock
    // partitions, each writes its own row). Written with a TTL up to
    // expires_at, so the table needs no purge.
    "CREATE TABLE IF NOT EXISTS stock_changes (
        change_id text, stock_partition bigint,
        fingerprint text, levels text, expires_at bigint,
        PRIMARY KEY ((change_id), stock_partition))",
];

/// Version 3: delivery claims, so any number of webhook workers share the
/// deliveries (`delivery_claims.rs`, `delivery_heads.rs`). Each entry is one
/// CQL statement.
pub(super) const V3: &[&str] = &[
    // The lease holder's token and when the lease lapses (both null when
    // nobody holds the delivery).
    "ALTER TABLE deliveries ADD claimed_by text",
    "ALTER TABLE deliveries ADD lease_until bigint",
    // A random token replaced on every head change: the condition of the
    // next one (null on rows written before V3).
    "ALTER TABLE delivery_heads ADD rev bigint",
];

/// Version 4: the epoch of each log partition's current writer (fencing).
pub(super) const V4: &[&str] = &[
    // PK ((log, stock_partition)): one row per partition, changed only by
    // LWT (`claim_partition`), read before each batch of its writer.
    "CREATE TABLE IF NOT EXISTS partition_epochs (log text, stock_partition bigint, epoch bigint, PRIMARY KEY ((log, stock_partition)))",
];

/// Version 5: sagas of orders spanning stock partitions, one row per order
/// while a step is under way, written in the home partition's logged batch.
pub(super) const V5: &[&str] = &[
    // PK ((stock_partition), order_id): a home partition's sagas are one
    // partition, read once when its writer loads it.
    "CREATE TABLE IF NOT EXISTS sagas (stock_partition bigint, order_id text, saga text, PRIMARY KEY ((stock_partition), order_id))",
];

/// Version 6: no `lapsed_holds` and no `orders_due`. Lapsed holds and due
/// orders are found by each partition's writer in the state it holds in
/// memory; the tables cost every hold and every order change extra writes
/// (and the hold writes a read of the previous expiry).
pub(super) const V6: &[&str] = &[
    "DROP TABLE IF EXISTS lapsed_holds",
    "DROP TABLE IF EXISTS orders_due",
];

/// Version 7: damaged stock (physically here, not sellable) per product,
/// in the by-update index and in the ledger. Rows written before read as 0.
pub(super) const V7: &[&str] = &[
    "ALTER TABLE stock_levels ADD damaged bigint",
    "ALTER TABLE stock_by_update ADD damaged bigint",
    "ALTER TABLE movements ADD delta_damaged bigint",
];

/// Version 8: returns of dispatched orders. All returns of one order live
/// in one row, changed only by LWT (`order_returns`), so concurrent requests
/// cannot together return more than was dispatched; `returns_by_id` and
/// `returns_by_status` (the receiving list) are written before the row, and
/// readers keep only the entries the order's row confirms.
pub(super) const V8: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS order_returns (order_id text PRIMARY KEY, returns text, rev bigint)",
    "CREATE TABLE IF NOT EXISTS returns_by_id (return_id text PRIMARY KEY, order_id text)",
    "CREATE TABLE IF NOT EXISTS returns_by_status (status text, return_id text, order_id text, PRIMARY KEY ((status), return_id))",
];

/// Version 9: published availability per channel: each channel's stock rule, each SKU
/// mapping's override of it (on both mapping tables, so `channel_skus`
/// reads it with the SKU), and what the webhook fan-out last sent each
/// channel about each product. Null rule columns (rows written before)
/// mean 0 / no override.
pub(super) const V9: &[&str] = &[
    "ALTER TABLE channels ADD stock_buffer bigint",
    "ALTER TABLE channels ADD stock_buffer_percent bigint",
    "ALTER TABLE channels ADD stock_floor bigint",
    "ALTER TABLE sku_mappings ADD stock_buffer bigint",
    "ALTER TABLE sku_mappings ADD stock_max bigint",
    "ALTER TABLE skus_by_product ADD stock_buffer bigint",
    "ALTER TABLE skus_by_product ADD stock_max bigint",
    // PK ((product_code), channel_id): the fan-out reads a product's
    // records for every channel at once.
    "CREATE TABLE IF NOT EXISTS published_stock (product_code text, channel_id text, on_hand bigint, available bigint, damaged bigint, position bigint, PRIMARY KEY ((product_code), channel_id))",
];

/// Version 10: bundles (kits): each bundle's components, and the bundles
/// of each component (`bundles_containing`; an entry is kept only while
/// the bundle still names the component).
pub(super) const V10: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS bundle_components (bundle text, component text, quantity bigint, PRIMARY KEY ((bundle), component))",
    "CREATE TABLE IF NOT EXISTS bundles_by_component (component text, bundle text, PRIMARY KEY ((component), bundle))",
];
