//! Every data statement the store runs, prepared once at connect time.
//!
//! Statements are named by [`Stmt`]; write plans are lists of
//! `(Stmt, values)` pairs, so they can be built and unit-tested without a
//! node. Bind markers are positional: the order of `?` in [`Stmt::cql`] is
//! the order of the values.

use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

use crate::Result;

macro_rules! statements {
    ($($(#[$doc:meta])* $name:ident = $cql:literal;)*) => {
        /// A prepared statement of the store.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub(crate) enum Stmt {
            $($(#[$doc])* $name,)*
        }

        impl Stmt {
            /// Every statement, in declaration order (the order they are prepared in).
            pub(crate) const ALL: &'static [Stmt] = &[$(Stmt::$name,)*];

            /// The statement's CQL.
            pub(crate) fn cql(self) -> &'static str {
                match self {
                    $(Stmt::$name => $cql,)*
                }
            }
        }
    };
}

statements! {
    /// Liveness probe.
    Ping = "SELECT release_version FROM system.local";

    // ---- catalogue ------------------------------------------------------
    /// product_code
    GetProduct = "SELECT product_code, name, active, barcode, updated_at FROM products WHERE product_code = ?";
    /// product_code, name, active, barcode, updated_at
    PutProduct = "INSERT INTO products (product_code, name, active, barcode, updated_at) VALUES (?, ?, ?, ?, ?)";
    /// active, product_code, name, barcode, updated_at
    PutProductListed = "INSERT INTO products_by_active (active, product_code, name, barcode, updated_at) VALUES (?, ?, ?, ?, ?)";
    /// active, product_code
    DelProductListed = "DELETE FROM products_by_active WHERE active = ? AND product_code = ?";
    /// active, limit
    ListProducts = "SELECT product_code, name, active, barcode, updated_at FROM products_by_active WHERE active = ? LIMIT ?";
    /// active, after code, limit
    ListProductsAfter = "SELECT product_code, name, active, barcode, updated_at FROM products_by_active WHERE active = ? AND product_code > ? LIMIT ?";
    /// channel_id, sku
    GetSkuMapping = "SELECT product_code FROM sku_mappings WHERE channel_id = ? AND sku = ?";
    /// channel_id, sku, product_code, stock_buffer, stock_max
    PutSkuMapping = "INSERT INTO sku_mappings (channel_id, sku, product_code, stock_buffer, stock_max) VALUES (?, ?, ?, ?, ?)";
    /// channel_id, product_code, sku, stock_buffer, stock_max
    PutSkuByProduct = "INSERT INTO skus_by_product (channel_id, product_code, sku, stock_buffer, stock_max) VALUES (?, ?, ?, ?, ?)";
    /// channel_id, product_code, sku
    DelSkuByProduct = "DELETE FROM skus_by_product WHERE channel_id = ? AND product_code = ? AND sku = ?";
    /// channel_id, product_code
    FirstSkuOfProduct = "SELECT sku FROM skus_by_product WHERE channel_id = ? AND product_code = ? LIMIT 1";
    /// channel_id, product_code
    FirstSkuRuleOfProduct = "SELECT sku, stock_buffer, stock_max FROM skus_by_product WHERE channel_id = ? AND product_code = ? LIMIT 1";
    /// product_code
    GetPublishedStock = "SELECT channel_id, on_hand, available, damaged, position FROM published_stock WHERE product_code = ?";
    /// product_code, channel_id, on_hand, available, damaged, position, position (write timestamp)
    PutPublishedStock = "INSERT INTO published_stock (product_code, channel_id, on_hand, available, damaged, position) VALUES (?, ?, ?, ?, ?, ?) USING TIMESTAMP ?";

    // ---- stock ----------------------------------------------------------
    /// product_code
    GetLevel = "SELECT product_code, on_hand, reserved, version, updated_at, damaged FROM stock_levels WHERE product_code = ?";
    /// (none; paged full scan)
    AllLevels = "SELECT product_code, on_hand, reserved, version, updated_at, damaged FROM stock_levels";
    /// (none): every hold
    AllHolds = "SELECT order_id, product_code, quantity, expires_at FROM reservations";
    /// product_code, on_hand, reserved, version, updated_at, damaged
    PutLevel = "INSERT INTO stock_levels (product_code, on_hand, reserved, version, updated_at, damaged) VALUES (?, ?, ?, ?, ?, ?)";
    /// shard, updated_at, product_code, on_hand, reserved, version, damaged
    PutLevelIndex = "INSERT INTO stock_by_update (shard, updated_at, product_code, on_hand, reserved, version, damaged) VALUES (?, ?, ?, ?, ?, ?, ?)";
    /// shard, updated_at, product_code
    DelLevelIndex = "DELETE FROM stock_by_update WHERE shard = ? AND updated_at = ? AND product_code = ?";
    /// shard, since, limit
    LevelsSince = "SELECT product_code, on_hand, reserved, version, updated_at, damaged FROM stock_by_update WHERE shard = ? AND updated_at >= ? LIMIT ?";
    /// shard, after updated_at, after code, limit
    LevelsAfter = "SELECT product_code, on_hand, reserved, version, updated_at, damaged FROM stock_by_update WHERE shard = ? AND (updated_at, product_code) > (?, ?) LIMIT ?";
    /// product_code, version, at, kind, delta_on_hand, delta_reserved, reference, delta_damaged
    PutMovement = "INSERT INTO movements (product_code, version, at, kind, delta_on_hand, delta_reserved, reference, delta_damaged) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    /// product_code, after version, limit
    Movements = "SELECT product_code, version, at, kind, delta_on_hand, delta_reserved, reference, delta_damaged FROM movements WHERE product_code = ? AND version > ? LIMIT ?";
    /// (none; paged full scan)
    AllMovementDeltas = "SELECT product_code, delta_on_hand, delta_reserved, delta_damaged, kind FROM movements";
    /// order_id
    GetHolds = "SELECT order_id, product_code, quantity, expires_at FROM reservations WHERE order_id = ?";
    /// order_id, product_code, quantity, expires_at
    PutHold = "INSERT INTO reservations (order_id, product_code, quantity, expires_at) VALUES (?, ?, ?, ?)";
    /// order_id, product_code
    DelHold = "DELETE FROM reservations WHERE order_id = ? AND product_code = ?";
    /// log, stock_partition
    GetEpoch = "SELECT epoch FROM partition_epochs WHERE log = ? AND stock_partition = ?";
    /// log, stock_partition
    InitEpoch = "INSERT INTO partition_epochs (log, stock_partition, epoch) VALUES (?, ?, 1) IF NOT EXISTS";
    /// epoch, log, stock_partition, previous epoch
    CasEpoch = "UPDATE partition_epochs SET epoch = ? WHERE log = ? AND stock_partition = ? IF epoch = ?";
    /// change_id, stock_partition
    GetStockChange = "SELECT fingerprint, levels, expires_at FROM stock_changes WHERE change_id = ? AND stock_partition = ?";
    /// change_id, stock_partition, fingerprint, levels, expires_at, ttl (seconds)
    PutStockChange = "INSERT INTO stock_changes (change_id, stock_partition, fingerprint, levels, expires_at) VALUES (?, ?, ?, ?, ?) USING TTL ?";
    /// stock_partition
    GetSagas = "SELECT saga FROM sagas WHERE stock_partition = ?";
    /// stock_partition, order_id, saga (JSON)
    PutSaga = "INSERT INTO sagas (stock_partition, order_id, saga) VALUES (?, ?, ?)";
    /// stock_partition, order_id
    DelSaga = "DELETE FROM sagas WHERE stock_partition = ? AND order_id = ?";
    /// bundle
    GetBundle = "SELECT component, quantity FROM bundle_components WHERE bundle = ?";
    /// bundle, component, quantity
    PutBundlePart = "INSERT INTO bundle_components (bundle, component, quantity) VALUES (?, ?, ?)";
    /// bundle, component
    DelBundlePart = "DELETE FROM bundle_components WHERE bundle = ? AND component = ?";
    /// component
    BundlesOf = "SELECT bundle FROM bundles_by_component WHERE component = ?";
    /// component, bundle
    PutBundleOf = "INSERT INTO bundles_by_component (component, bundle) VALUES (?, ?)";
    /// component, bundle
    DelBundleOf = "DELETE FROM bundles_by_component WHERE component = ? AND bundle = ?";
    /// order_id (serial read before a conditional write)
    GetOrderReturns = "SELECT returns, rev FROM order_returns WHERE order_id = ?";
    /// order_id, returns (JSON)
    InitOrderReturns = "INSERT INTO order_returns (order_id, returns, rev) VALUES (?, ?, 1) IF NOT EXISTS";
    /// returns (JSON), rev, order_id, previous rev
    CasOrderReturns = "UPDATE order_returns SET returns = ?, rev = ? WHERE order_id = ? IF rev = ?";
    /// return_id, order_id
    PutReturnId = "INSERT INTO returns_by_id (return_id, order_id) VALUES (?, ?)";
    /// return_id
    GetReturnId = "SELECT order_id FROM returns_by_id WHERE return_id = ?";
    /// return_id
    DelReturnId = "DELETE FROM returns_by_id WHERE return_id = ?";
    /// status, return_id, order_id
    PutReturnStatus = "INSERT INTO returns_by_status (status, return_id, order_id) VALUES (?, ?, ?)";
    /// status, return_id
    DelReturnStatus = "DELETE FROM returns_by_status WHERE status = ? AND return_id = ?";
    /// status, after return_id, limit
    ReturnsByStatus = "SELECT return_id, order_id FROM returns_by_status WHERE status = ? AND return_id > ? LIMIT ?";
    /// log_name, log_partition, log_offset
    PutOffset = "INSERT INTO applied_offsets (log_name, log_partition, log_offset) VALUES (?, ?, ?)";
    /// log_name, log_partition
    GetOffset = "SELECT log_offset FROM applied_offsets WHERE log_name = ? AND log_partition = ?";

    // ---- orders ---------------------------------------------------------
    /// id
    GetOrder = "SELECT id, external_id, channel_id, status, expires_at, tracking_number, carrier, created_at, updated_at, idempotency_key, lines, history, customer, shipping_address FROM orders WHERE id = ?";
    /// the 14 columns of GetOrder, in its order
    PutOrder = "INSERT INTO orders (id, external_id, channel_id, status, expires_at, tracking_number, carrier, created_at, updated_at, idempotency_key, lines, history, customer, shipping_address) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    /// shard, created_at, id
    PutOrderCreated = "INSERT INTO orders_by_created (shard, created_at, id) VALUES (?, ?, ?)";
    /// shard, created_at, id
    DelOrderCreated = "DELETE FROM orders_by_created WHERE shard = ? AND created_at = ? AND id = ?";
    /// shard, limit
    ListOrderCreated = "SELECT created_at, id FROM orders_by_created WHERE shard = ? LIMIT ?";
    /// shard, after created_at, after id, limit
    ListOrderCreatedAfter = "SELECT created_at, id FROM orders_by_created WHERE shard = ? AND (created_at, id) > (?, ?) LIMIT ?";
    /// channel_id, created_at, id
    PutOrderChannel = "INSERT INTO orders_by_channel (channel_id, created_at, id) VALUES (?, ?, ?)";
    /// channel_id, created_at, id
    DelOrderChannel = "DELETE FROM orders_by_channel WHERE channel_id = ? AND created_at = ? AND id = ?";
    /// channel_id, limit
    ListOrderChannel = "SELECT created_at, id FROM orders_by_channel WHERE channel_id = ? LIMIT ?";
    /// channel_id, after created_at, after id, limit
    ListOrderChannelAfter = "SELECT created_at, id FROM orders_by_channel WHERE channel_id = ? AND (created_at, id) > (?, ?) LIMIT ?";
    /// status, shard, created_at, id
    PutOrderStatus = "INSERT INTO orders_by_status (status, shard, created_at, id) VALUES (?, ?, ?, ?)";
    /// status, shard, created_at, id
    DelOrderStatus = "DELETE FROM orders_by_status WHERE status = ? AND shard = ? AND created_at = ? AND id = ?";
    /// status, shard, limit
    ListOrderStatus = "SELECT created_at, id FROM orders_by_status WHERE status = ? AND shard = ? LIMIT ?";
    /// status, shard, after created_at, after id, limit
    ListOrderStatusAfter = "SELECT created_at, id FROM orders_by_status WHERE status = ? AND shard = ? AND (created_at, id) > (?, ?) LIMIT ?";
    /// status, shard (paged: every order of a status)
    AllOrderStatus = "SELECT id FROM orders_by_status WHERE status = ? AND shard = ?";
    /// channel_id, status, created_at, id
    PutOrderChannelStatus = "INSERT INTO orders_by_channel_status (channel_id, status, created_at, id) VALUES (?, ?, ?, ?)";
    /// channel_id, status, created_at, id
    DelOrderChannelStatus = "DELETE FROM orders_by_channel_status WHERE channel_id = ? AND status = ? AND created_at = ? AND id = ?";
    /// channel_id, status, limit
    ListOrderChannelStatus = "SELECT created_at, id FROM orders_by_channel_status WHERE channel_id = ? AND status = ? LIMIT ?";
    /// channel_id, status, after created_at, after id, limit
    ListOrderChannelStatusAfter = "SELECT created_at, id FROM orders_by_channel_status WHERE channel_id = ? AND status = ? AND (created_at, id) > (?, ?) LIMIT ?";
    /// channel_id, idempotency_key, created_at, id
    PutIdempotency = "INSERT INTO order_by_idempotency (channel_id, idempotency_key, created_at, id) VALUES (?, ?, ?, ?)";
    /// channel_id, idempotency_key, created_at, id
    DelIdempotency = "DELETE FROM order_by_idempotency WHERE channel_id = ? AND idempotency_key = ? AND created_at = ? AND id = ?";
    /// channel_id, idempotency_key
    FirstIdempotency = "SELECT id FROM order_by_idempotency WHERE channel_id = ? AND idempotency_key = ? LIMIT 1";

    // ---- outbox ---------------------------------------------------------
    /// stream
    StreamLastSeq = "SELECT seq FROM outbox WHERE stream = ? ORDER BY seq DESC LIMIT 1";
    /// stream, seq, event_id, event_type, created_at, channel_id, product_code, data
    PutOutbox = "INSERT INTO outbox (stream, seq, event_id, event_type, created_at, channel_id, product_code, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    /// stream, head
    PutStreamHead = "INSERT INTO outbox_streams (shard, stream, head) VALUES (0, ?, ?)";
    /// (none; paged)
    StreamHeads = "SELECT stream, head FROM outbox_streams WHERE shard = 0";
    /// stream, after seq, up to seq (inclusive), limit
    StreamEvents = "SELECT seq, event_id, event_type, created_at, channel_id, product_code, data FROM outbox WHERE stream = ? AND seq > ? AND seq <= ? LIMIT ?";
    /// event_id
    GetEventId = "SELECT event_id FROM events_by_id WHERE event_id = ?";
    /// event_id, stream, seq
    PutEventId = "INSERT INTO events_by_id (event_id, stream, seq) VALUES (?, ?, ?)";
    /// bucket
    LogState = "SELECT next_position, cursors FROM outbox_log WHERE bucket = ? LIMIT 1";
    /// bucket, next_position, cursors (LWT)
    LogInit = "INSERT INTO outbox_log (bucket, next_position, cursors) VALUES (?, ?, ?) IF NOT EXISTS";
    /// new next_position, cursors, bucket, expected next_position (LWT)
    LogAdvance = "UPDATE outbox_log SET next_position = ?, cursors = ? WHERE bucket = ? IF next_position = ?";
    /// bucket, position, event_id, event_type, created_at, channel_id, product_code, data
    LogPut = "INSERT INTO outbox_log (bucket, position, event_id, event_type, created_at, channel_id, product_code, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    /// bucket, after position, limit
    LogRead = "SELECT position, event_id, event_type, created_at, channel_id, product_code, data FROM outbox_log WHERE bucket = ? AND position > ? LIMIT ?";
    /// position
    PutFanoutMark = "INSERT INTO fanout_marks (shard, position) VALUES (0, ?)";
    /// position (one row: range deletions need Cassandra 3.0)
    DelFanoutMark = "DELETE FROM fanout_marks WHERE shard = 0 AND position = ?";
    /// (none)
    GetFanoutMark = "SELECT position FROM fanout_marks WHERE shard = 0 LIMIT 1";

    // ---- deliveries -----------------------------------------------------
    /// id (read at LOCAL_SERIAL before a claim)
    GetDelivery = "SELECT id, event_id, channel_id, event_type, ordering_key, position, payload, status, tries, attempts, next_attempt_at, created_at, updated_at, claimed_by, lease_until FROM deliveries WHERE id = ?";
    /// the first 13 columns of GetDelivery, in its order (fan-out, written
    /// at the fan-out timestamp: see deliveries.rs)
    PutDelivery = "INSERT INTO deliveries (id, event_id, channel_id, event_type, ordering_key, position, payload, status, tries, attempts, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    /// status, tries, attempts, next_attempt_at, updated_at, id; releases any lease
    UpdateDelivery = "UPDATE deliveries SET status = ?, tries = ?, attempts = ?, next_attempt_at = ?, updated_at = ?, claimed_by = null, lease_until = null WHERE id = ?";
    /// holder, lease_until, id, then the status, next_attempt_at and
    /// lease_until read before (LWT; Cassandra 2.1 has only `=` conditions)
    ClaimDelivery = "UPDATE deliveries SET claimed_by = ?, lease_until = ? WHERE id = ? IF status = ? AND next_attempt_at = ? AND lease_until = ?";
    /// status, tries, attempts, next_attempt_at, updated_at, id, holder (LWT)
    FinishDelivery = "UPDATE deliveries SET status = ?, tries = ?, attempts = ?, next_attempt_at = ?, updated_at = ?, claimed_by = null, lease_until = null WHERE id = ? IF claimed_by = ?";
    /// channel_id, ordering_key, from position (paged)
    QueueFrom = "SELECT position, id, next_attempt_at FROM delivery_queue WHERE channel_id = ? AND ordering_key = ? AND position >= ?";
    /// channel_id, ordering_key, position, id, next_attempt_at
    PutQueue = "INSERT INTO delivery_queue (channel_id, ordering_key, position, id, next_attempt_at) VALUES (?, ?, ?, ?, ?)";
    /// channel_id, ordering_key, position, id
    DelQueue = "DELETE FROM delivery_queue WHERE channel_id = ? AND ordering_key = ? AND position = ? AND id = ?";
    /// shard, channel_id, ordering_key (read at LOCAL_SERIAL before a head change)
    GetHead = "SELECT rev, head_position, head_id FROM delivery_heads WHERE shard = ? AND channel_id = ? AND ordering_key = ?";
    /// shard, channel_id, ordering_key, head_position, head_id, head_next, min_next, rev (LWT)
    InsertHead = "INSERT INTO delivery_heads (shard, channel_id, ordering_key, head_position, head_id, head_next, min_next, rev) VALUES (?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS";
    /// head_position, head_id, head_next, min_next, new rev, shard, channel_id, ordering_key, rev read (LWT)
    CasHead = "UPDATE delivery_heads SET head_position = ?, head_id = ?, head_next = ?, min_next = ?, rev = ? WHERE shard = ? AND channel_id = ? AND ordering_key = ? IF rev = ?";
    /// shard, channel_id, ordering_key, rev read (LWT)
    CasDelHead = "DELETE FROM delivery_heads WHERE shard = ? AND channel_id = ? AND ordering_key = ? IF rev = ?";
    /// shard (paged)
    Heads = "SELECT channel_id, ordering_key, head_position, head_id, head_next, min_next FROM delivery_heads WHERE shard = ?";
    /// shard, position, id
    PutDlvPosition = "INSERT INTO deliveries_by_position (shard, position, id) VALUES (?, ?, ?)";
    /// shard, limit
    ListDlvPosition = "SELECT position, id FROM deliveries_by_position WHERE shard = ? LIMIT ?";
    /// shard, before position, before id, limit
    ListDlvPositionAfter = "SELECT position, id FROM deliveries_by_position WHERE shard = ? AND (position, id) < (?, ?) LIMIT ?";
    /// status, shard, position, id
    PutDlvStatus = "INSERT INTO deliveries_by_status (status, shard, position, id) VALUES (?, ?, ?, ?)";
    /// status, shard, position, id
    DelDlvStatus = "DELETE FROM deliveries_by_status WHERE status = ? AND shard = ? AND position = ? AND id = ?";
    /// status, shard, limit
    ListDlvStatus = "SELECT position, id FROM deliveries_by_status WHERE status = ? AND shard = ? LIMIT ?";
    /// status, shard, before position, before id, limit
    ListDlvStatusAfter = "SELECT position, id FROM deliveries_by_status WHERE status = ? AND shard = ? AND (position, id) < (?, ?) LIMIT ?";
    /// channel_id, position, id
    PutDlvChannel = "INSERT INTO deliveries_by_channel (channel_id, position, id) VALUES (?, ?, ?)";
    /// channel_id, limit
    ListDlvChannel = "SELECT position, id FROM deliveries_by_channel WHERE channel_id = ? LIMIT ?";
    /// channel_id, before position, before id, limit
    ListDlvChannelAfter = "SELECT position, id FROM deliveries_by_channel WHERE channel_id = ? AND (position, id) < (?, ?) LIMIT ?";
    /// channel_id, status, position, id
    PutDlvChannelStatus = "INSERT INTO deliveries_by_channel_status (channel_id, status, position, id) VALUES (?, ?, ?, ?)";
    /// channel_id, status, position, id
    DelDlvChannelStatus = "DELETE FROM deliveries_by_channel_status WHERE channel_id = ? AND status = ? AND position = ? AND id = ?";
    /// channel_id, status, limit
    ListDlvChannelStatus = "SELECT position, id FROM deliveries_by_channel_status WHERE channel_id = ? AND status = ? LIMIT ?";
    /// channel_id, status, before position, before id, limit
    ListDlvChannelStatusAfter = "SELECT position, id FROM deliveries_by_channel_status WHERE channel_id = ? AND status = ? AND (position, id) < (?, ?) LIMIT ?";

    // ---- channels and tokens ----------------------------------------------
    /// id, name, webhook_url, webhook_secret, allowed_ips, rate_limit_per_second, webhook_disabled, created_at, updated_at, stock_buffer, stock_buffer_percent, stock_floor (LWT)
    InsertChannel = "INSERT INTO channels (id, name, webhook_url, webhook_secret, allowed_ips, rate_limit_per_second, webhook_disabled, created_at, updated_at, stock_buffer, stock_buffer_percent, stock_floor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS";
    /// name, webhook_url, webhook_secret, allowed_ips, rate_limit_per_second, webhook_disabled, created_at, updated_at, stock_buffer, stock_buffer_percent, stock_floor, id, stored created_at (LWT).
    /// `created_at` never changes, so the condition means "the channel exists"
    /// (`IF EXISTS` on UPDATE needs Cassandra 2.1.1+).
    UpdateChannel = "UPDATE channels SET name = ?, webhook_url = ?, webhook_secret = ?, allowed_ips = ?, rate_limit_per_second = ?, webhook_disabled = ?, created_at = ?, updated_at = ?, stock_buffer = ?, stock_buffer_percent = ?, stock_floor = ? WHERE id = ? IF created_at = ?";
    /// id
    GetChannel = "SELECT id, name, webhook_url, webhook_secret, allowed_ips, rate_limit_per_second, webhook_disabled, created_at, updated_at, stock_buffer, stock_buffer_percent, stock_floor FROM channels WHERE id = ?";
    /// (none; paged full scan)
    AllChannels = "SELECT id, name, webhook_url, webhook_secret, allowed_ips, rate_limit_per_second, webhook_disabled, created_at, updated_at, stock_buffer, stock_buffer_percent, stock_floor FROM channels";
    /// token_hash, id (LWT)
    ClaimTokenHash = "INSERT INTO tokens_by_hash (token_hash, id) VALUES (?, ?) IF NOT EXISTS";
    /// token_hash, id (LWT)
    ReleaseTokenHash = "DELETE FROM tokens_by_hash WHERE token_hash = ? IF id = ?";
    /// token_hash
    TokenIdByHash = "SELECT id FROM tokens_by_hash WHERE token_hash = ?";
    /// id, name, token_role, channel_id, token_hash, created_at (LWT)
    InsertToken = "INSERT INTO tokens (id, name, token_role, channel_id, token_hash, created_at, revoked) VALUES (?, ?, ?, ?, ?, ?, false) IF NOT EXISTS";
    /// id
    GetToken = "SELECT id, name, token_role, channel_id, token_hash, created_at, revoked FROM tokens WHERE id = ?";
    /// revoked_at, id (LWT)
    RevokeToken = "UPDATE tokens SET revoked = true, revoked_at = ? WHERE id = ? IF revoked = false";
    /// token_role, id
    PutLiveToken = "INSERT INTO live_tokens_by_role (token_role, id) VALUES (?, ?)";
    /// token_role, id
    DelLiveToken = "DELETE FROM live_tokens_by_role WHERE token_role = ? AND id = ?";
    /// token_role (paged)
    LiveTokens = "SELECT id FROM live_tokens_by_role WHERE token_role = ?";
}

impl Stmt {
    /// Conditional statements (Paxos): never retried blindly, since a retry
    /// after a lost answer could report "not applied" for its own success.
    pub(crate) fn is_lwt(self) -> bool {
        self.cql().contains(" IF ")
    }
}

/// All statements, prepared on one session.
pub(crate) struct Statements {
    prepared: Vec<PreparedStatement>,
}

impl Statements {
    /// Prepares every statement. Plain statements are marked idempotent
    /// (each one writes the same values whenever it runs), so the retry
    /// policy may retry them on another node; conditional ones are not.
    pub(crate) async fn prepare(session: &Session) -> Result<Statements> {
        let prepared = futures::future::try_join_all(Stmt::ALL.iter().map(|stmt| async move {
            let mut p = session.prepare(stmt.cql()).await?;
            p.set_is_idempotent(!stmt.is_lwt());
            Ok::<_, crate::Error>(p)
        }))
        .await?;
        Ok(Statements { prepared })
    }

    /// The prepared form of `stmt`.
    pub(crate) fn get(&self, stmt: Stmt) -> &PreparedStatement {
        // `prepare` filled one entry per `Stmt::ALL` item, in that order.
        &self.prepared[stmt as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_statement_in_discriminant_order() {
        for (i, stmt) in Stmt::ALL.iter().enumerate() {
            assert_eq!(*stmt as usize, i, "{stmt:?}");
        }
    }

    #[test]
    fn bind_markers_are_balanced_and_lwt_is_detected() {
        for stmt in Stmt::ALL {
            let cql = stmt.cql();
            assert!(!cql.contains(';'), "{stmt:?}");
            assert_eq!(
                cql.matches('(').count(),
                cql.matches(')').count(),
                "{stmt:?}"
            );
            if cql.starts_with("INSERT") {
                let (cols, vals) = cql.split_once("VALUES").expect("values");
                let cols = cols.matches(',').count() + 1;
                let vals = vals.split(" IF ").next().unwrap_or("");
                assert_eq!(cols, vals.matches(',').count() + 1, "{stmt:?}");
            }
        }
        assert!(Stmt::InsertChannel.is_lwt() && Stmt::LogAdvance.is_lwt());
        assert!(!Stmt::PutOrder.is_lwt() && !Stmt::GetOrder.is_lwt());
    }
}
