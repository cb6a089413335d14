//! Storage of Agusto WMS behind one trait, [`Store`], so the embedded and the
//! distributed mode run the same domain code on SQLite or ScyllaDB.
//!
//! The trait is shaped so that a backend needs no cross-row transactions on
//! the hot path: a writer owns its partition's rows and hands over one batch
//! at a time ([`StockBatch`], [`OrderBatch`]), written atomically together with
//! the partition's applied log offset.

mod codec;
mod error;
mod records;
mod returns;
pub mod scylla;
pub mod sqlite;

#[cfg(any(test, feature = "contract"))]
pub mod contract;

pub use error::{Error, Result, SchemaChange};
pub use records::*;
pub use returns::*;

use agusto_schemas::{
    Movement, Order, OrderStatus, ProductQty, Reservation, StockLevel, Timestamp,
};
use async_trait::async_trait;

/// Storage used by the ingress, the writers and the CLI.
///
/// Reads may trail writers by one batch in distributed mode, never in embedded
/// mode. Writes of quantities and orders happen only through
/// [`Store::apply_stock_batch`] / [`Store::apply_order_batch`], called by the
/// single writer of the partition concerned.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Succeeds when the backend answers.
    async fn ping(&self) -> Result<()>;

    // ---- catalogue -------------------------------------------------------

    /// Inserts or updates a product's catalogue fields; true when it was new.
    async fn put_product(&self, product: &Product) -> Result<bool>;
    /// One product.
    async fn get_product(&self, product_code: &str) -> Result<Option<Product>>;
    /// Products ordered by product code; `active: Some(b)` filters.
    async fn list_products(
        &self,
        active: Option<bool>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Product>>;
    /// Maps a channel's SKU to a product (replacing an earlier mapping of that SKU).
    async fn put_sku_mapping(&self, mapping: &SkuMapping) -> Result<()>;
    /// The product a channel means by `sku`: its explicit mapping, else the
    /// product whose code is `sku` unless the channel maps another SKU to it.
    async fn resolve_sku(&self, channel_id: &str, sku: &str) -> Result<Option<String>>;
    /// [`Store::resolve_sku`] of each of `skus`, in input order.
    async fn resolve_skus(&self, channel_id: &str, skus: &[String]) -> Result<Vec<Option<String>>> {
        let mut out = Vec::with_capacity(skus.len());
        for sku in skus {
            out.push(self.resolve_sku(channel_id, sku).await?);
        }
        Ok(out)
    }
    /// The SKU each product has for a channel (explicit mapping, else the code).
    /// Returns one entry per input code, in input order.
    async fn skus_for(&self, channel_id: &str, product_codes: &[String]) -> Result<Vec<String>>;
    /// Like [`Store::skus_for`], with each SKU mapping's stock-rule override
    /// (none for a product the channel maps no SKU to).
    async fn channel_skus(
        &self,
        channel_id: &str,
        product_codes: &[String],
    ) -> Result<Vec<ChannelSku>>;

    // ---- stock -----------------------------------------------------------

    /// Stored levels of the given products; products without a stock row are
    /// left out (their levels are all zero, version 0).
    async fn stock_levels(&self, product_codes: &[String]) -> Result<Vec<StockLevel>>;
    /// Stock rows changed at or after `since`, ordered by (updated_at, code).
    async fn stock_updated_since(
        &self,
        since: Timestamp,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<StockLevel>>;
    /// Every stock row (ledger verification).
    async fn all_stock_levels(&self) -> Result<Vec<StockLevel>>;
    /// Every hold, confirmed or not, in no particular order.
    async fn all_reservations(&self) -> Result<Vec<Reservation>>;
    /// A product's ledger, oldest first.
    async fn movements(
        &self,
        product_code: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Movement>>;
    /// Per product: (sum of delta_on_hand, sum of delta_reserved) over the whole ledger.
    async fn ledger_sums(&self) -> Result<Vec<LedgerSum>>;
    /// The holds of several orders (all partitions), in no particular order.
    /// Backends override this with one query; the default asks per order.
    async fn reservations_for_orders(&self, order_ids: &[String]) -> Result<Vec<Reservation>> {
        let mut all = Vec::new();
        for id in order_ids {
            all.extend(self.reservations_for_order(id).await?);
        }
        Ok(all)
    }
    /// An order's holds (all partitions).
    async fn reservations_for_order(&self, order_id: &str) -> Result<Vec<Reservation>>;
    /// Writes one stock writer batch atomically, with the partition's
    /// offset; [`Error::Fenced`], writing nothing, when its
    /// [`StockBatch::fence`] is not the partition's epoch any more.
    async fn apply_stock_batch(&self, batch: &StockBatch) -> Result<()>;
    /// Takes a partition of a log for a new writer: returns the partition's
    /// next epoch (1 the first time). From then on, batches fenced with an
    /// older epoch are refused. Call before [`Store::load_partition`].
    async fn claim_partition(&self, log: &str, partition: u32) -> Result<u64>;
    /// Writes the ready batches of several stock writers (a group commit).
    /// SQLite writes them in one transaction (one fsync); the default writes
    /// them one after another, each atomically. On an error some may be
    /// written: each is idempotent, and its writer reloads its partition.
    async fn apply_stock_batches(&self, batches: &[StockBatch]) -> Result<()> {
        for b in batches {
            self.apply_stock_batch(b).await?;
        }
        Ok(())
    }
    /// The recorded receipts and adjustments among `change_ids` of one
    /// stock partition whose `expires_at` is after `now`, in no particular
    /// order.
    async fn stock_changes(
        &self,
        partition: u32,
        change_ids: &[String],
        now: Timestamp,
    ) -> Result<Vec<StockChange>>;

    // ---- orders ----------------------------------------------------------

    /// The stored ones among several orders, in no particular order.
    /// Backends override this with one query; the default asks per order.
    async fn get_orders(&self, order_ids: &[String]) -> Result<Vec<Order>> {
        let mut all = Vec::new();
        for id in order_ids {
            all.extend(self.get_order(id).await?);
        }
        Ok(all)
    }
    /// One order.
    async fn get_order(&self, order_id: &str) -> Result<Option<Order>>;
    /// The order a channel created with an `Idempotency-Key`.
    async fn order_by_idempotency_key(&self, channel_id: &str, key: &str) -> Result<Option<Order>>;
    /// Orders ordered by (created_at, id); filters are optional.
    async fn list_orders(
        &self,
        channel_id: Option<&str>,
        status: Option<OrderStatus>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Order>>;
    /// Per product, units held by orders whose status holds stock.
    async fn open_order_quantities(&self) -> Result<Vec<(String, i64)>>;
    /// Writes one order writer batch atomically, with the partition's offset.
    async fn apply_order_batch(&self, batch: &OrderBatch) -> Result<()>;

    /// What the writer of `partition` (of `partitions`) of the stock log
    /// `log` needs to own it: see [`PartitionState`]. One call when a
    /// writer starts or is assigned the partition; nothing read later
    /// decides a command. Backends may override it with narrower queries;
    /// the default scans the stock rows, the holds and the open orders.
    async fn load_partition(
        &self,
        log: &str,
        partition: u32,
        partitions: u32,
    ) -> Result<PartitionState> {
        let mine = |code: &str| agusto_schemas::partition_for(code, partitions) == partition;
        let levels: Vec<StockLevel> = self
            .all_stock_levels()
            .await?
            .into_iter()
            .filter(|l| mine(&l.product_code))
            .collect();
        let mut open: Vec<Order> = Vec::new();
        for status in OrderStatus::ALL.into_iter().filter(|s| s.holds_stock()) {
            let mut cursor: Option<String> = None;
            loop {
                let page = self
                    .list_orders(None, Some(status), cursor.as_deref(), 1000)
                    .await?;
                open.extend(page.items);
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        let mut holds: Vec<Reservation> = self.all_reservations().await?;
        holds.retain(|h| mine(&h.product_code));
        holds.sort_by(|a, b| (&a.order_id, &a.product_code).cmp(&(&b.order_id, &b.product_code)));
        let orders = open
            .into_iter()
            .filter(|o| {
                let wanted = agusto_schemas::stock_lines(&o.lines);
                let codes = wanted.iter().map(|l| l.product_code.as_str());
                agusto_schemas::order_home(&o.id, codes, partitions) == partition
            })
            .collect();
        let mut sagas = self.sagas(partition).await?;
        sagas.sort_by(|a, b| a.order.id.cmp(&b.order.id));
        Ok(PartitionState {
            levels,
            holds,
            orders,
            sagas,
            applied: self.applied_offset(log, partition).await?,
        })
    }

    /// The sagas whose home is stock partition `partition`.
    async fn sagas(&self, partition: u32) -> Result<Vec<agusto_schemas::Saga>>;

    // ---- bundles -----------------------------------------------------------

    /// Makes `bundle` a bundle of `components` (each a plain product, once),
    /// replacing its earlier components; no components: a plain product.
    async fn put_bundle(&self, bundle: &str, components: &[ProductQty]) -> Result<()>;

    /// The components of those of `codes` that are bundles, by bundle code
    /// (plain products are left out).
    async fn bundle_components(&self, codes: &[String]) -> Result<Vec<(String, Vec<ProductQty>)>>;

    /// The bundles `component` is part of.
    async fn bundles_containing(&self, component: &str) -> Result<Vec<String>>;

    // ---- returns -----------------------------------------------------------

    /// Records a requested return unless, with the order's earlier returns,
    /// a product would be returned more often than it was dispatched
    /// (`dispatched`: units per product of the order). Decided atomically
    /// against concurrent requests of the same order ([`check_return`]).
    async fn request_return(
        &self,
        request: &ReturnRecord,
        dispatched: &[(String, i64)],
    ) -> Result<ReturnRequest>;

    /// One return.
    async fn get_return(&self, return_id: &str) -> Result<Option<ReturnRecord>>;

    /// An order's returns, by id (oldest first).
    async fn returns_for_order(&self, order_id: &str) -> Result<Vec<ReturnRecord>>;

    /// Returns with `status` (any when `None`), oldest first, paged.
    async fn list_returns(
        &self,
        status: Option<ReturnStatus>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<ReturnRecord>>;

    /// Stores `received` (a requested return, now received) in place of
    /// the requested one. Writing the same received return again changes
    /// nothing.
    async fn put_received_return(&self, received: &ReturnRecord) -> Result<()>;

    // ---- log offsets -----------------------------------------------------

    /// The highest applied offset of a partition of a log, if any.
    async fn applied_offset(&self, log: &str, partition: u32) -> Result<Option<u64>>;

    // ---- channels and tokens ---------------------------------------------

    /// Stores a new channel.
    async fn insert_channel(&self, channel: &Channel) -> Result<()>;
    /// Replaces a channel's fields.
    async fn update_channel(&self, channel: &Channel) -> Result<()>;
    /// One channel.
    async fn get_channel(&self, channel_id: &str) -> Result<Option<Channel>>;
    /// Every channel, by id.
    async fn list_channels(&self) -> Result<Vec<Channel>>;
    /// Stores a token; `Conflict` if its hash is taken.
    async fn insert_token(&self, token: &TokenRecord) -> Result<()>;
    /// The unrevoked token with this hash.
    async fn token_by_hash(&self, token_hash: &[u8]) -> Result<Option<TokenRecord>>;
    /// Revokes a token; false if there is no such unrevoked token.
    async fn revoke_token(&self, token_id: &str) -> Result<bool>;
    /// True when some unrevoked admin token exists.
    async fn has_admin_token(&self) -> Result<bool>;

    // ---- outbox ----------------------------------------------------------

    /// Events in the order they were written, after `cursor`.
    async fn events(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<agusto_schemas::Event>>;
    /// Events with their outbox position (strictly increasing, starting at 1),
    /// those with `position > after`, oldest first.
    async fn outbox_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, agusto_schemas::Event)>>;

    // ---- webhook deliveries ----------------------------------------------

    /// Inserts deliveries (ignoring ids that exist) and records `position` as
    /// the fan-out position (read back with [`Store::fanout_position`]), in one
    /// transaction.
    async fn fan_out(&self, deliveries: &[Delivery], position: i64) -> Result<()>;
    /// The outbox position up to which events were fanned out (0 at first).
    async fn fanout_position(&self) -> Result<i64>;
    /// What each channel was last sent about these products (see
    /// [`PublishedStock`]), in no particular order; pairs never sent are
    /// left out.
    async fn published_stock(&self, product_codes: &[String]) -> Result<Vec<PublishedStock>>;
    /// Records what channels were sent (upserted by channel and product).
    async fn put_published_stock(&self, records: &[PublishedStock]) -> Result<()>;
    /// Pending deliveries whose `next_attempt_at <= now`, that are the
    /// oldest pending delivery (lowest `position`) of their
    /// (channel_id, ordering_key), and that no [`Lease`] holds at `now`;
    /// soonest due first. The candidates for [`Store::claim_delivery`].
    async fn due_deliveries(&self, now: Timestamp, limit: usize) -> Result<Vec<Delivery>>;
    /// The earliest `next_attempt_at` of any pending delivery.
    async fn next_delivery_due(&self) -> Result<Option<Timestamp>>;
    /// Claims a delivery for one attempt. Succeeds only while it is pending,
    /// due at `now`, the oldest pending delivery of its (channel_id,
    /// ordering_key), and held by no lease that runs past `now`; it then
    /// carries `lease` until [`Store::finish_delivery`] releases it or
    /// `lease.until` passes (the holder is presumed dead and another worker
    /// may claim it). Of any number of claims at once, at most one succeeds.
    /// Returns the delivery as claimed, or `None` (not claimable, or another
    /// claim won). So each attempt is made by one worker, and the deliveries
    /// of one queue go out one at a time, in order.
    async fn claim_delivery(
        &self,
        id: &str,
        lease: &Lease,
        now: Timestamp,
    ) -> Result<Option<Delivery>>;
    /// Records a claimed attempt — replaces status, tries, attempts,
    /// next_attempt_at and updated_at, and releases the lease — only if
    /// `holder` still holds the delivery (its lease may have run out, as long
    /// as no other claim took over). `Ok(false)`, changing nothing, when it
    /// does not; `Conflict` for an unknown id. The delivery's other fields
    /// must be as claimed.
    async fn finish_delivery(&self, delivery: &Delivery, holder: &str) -> Result<bool>;
    /// Replaces a delivery's status, tries, attempts, next_attempt_at and
    /// updated_at, whoever holds it (a manual retry): any lease is released,
    /// and its holder's [`Store::finish_delivery`] then changes nothing.
    async fn update_delivery(&self, delivery: &Delivery) -> Result<()>;
    /// One delivery.
    async fn get_delivery(&self, id: &str) -> Result<Option<Delivery>>;
    /// Deliveries, newest position first, optionally filtered.
    async fn list_deliveries(
        &self,
        status: Option<DeliveryStatus>,
        channel_id: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Delivery>>;
}
