//! [`Store`] for [`SqliteStore`]: each call moves its arguments onto the
//! blocking pool and runs one read, or one write transaction.

use agusto_schemas::{
    Event, Movement, Order, OrderStatus, ProductQty, Reservation, StockLevel, Timestamp,
};
use async_trait::async_trait;

use super::{
    SqliteStore, access, bundles, catalogue, deliveries, orders, outbox, published, returns, stock,
};
use crate::{
    Channel, ChannelSku, Delivery, DeliveryStatus, Lease, LedgerSum, OrderBatch, Page, Product,
    PublishedStock, Result, ReturnRecord, ReturnRequest, ReturnStatus, SkuMapping, StockBatch,
    StockChange, Store, TokenRecord,
};

/// Timestamps are kept to the microsecond (finer parts are truncated).
/// `update_channel` and `update_delivery` on an unknown id are a `Conflict`.
#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    async fn put_product(&self, product: &Product) -> Result<bool> {
        let product = product.clone();
        self.write(move |tx| catalogue::put_product(tx, &product))
            .await
    }

    async fn get_product(&self, product_code: &str) -> Result<Option<Product>> {
        self.point(|c| catalogue::get_product(c, product_code))
    }

    async fn list_products(
        &self,
        active: Option<bool>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Product>> {
        let cursor = cursor.map(str::to_owned);
        self.read(move |c| catalogue::list_products(c, active, cursor.as_deref(), limit))
            .await
    }

    async fn put_sku_mapping(&self, mapping: &SkuMapping) -> Result<()> {
        let mapping = mapping.clone();
        self.write(move |tx| catalogue::put_sku_mapping(tx, &mapping))
            .await
    }

    async fn resolve_sku(&self, channel_id: &str, sku: &str) -> Result<Option<String>> {
        self.point(|c| catalogue::resolve_sku(c, channel_id, sku))
    }

    async fn resolve_skus(&self, channel_id: &str, skus: &[String]) -> Result<Vec<Option<String>>> {
        self.point(|c| {
            // One read transaction for all SKUs: one shared lock, not two per SKU.
            let tx = c.unchecked_transaction()?;
            let found = skus
                .iter()
                .map(|sku| catalogue::resolve_sku(&tx, channel_id, sku))
                .collect::<Result<Vec<_>>>()?;
            tx.commit()?;
            Ok(found)
        })
    }

    async fn skus_for(&self, channel_id: &str, product_codes: &[String]) -> Result<Vec<String>> {
        self.point(|c| catalogue::skus_for(c, channel_id, product_codes))
    }

    async fn channel_skus(
        &self,
        channel_id: &str,
        product_codes: &[String],
    ) -> Result<Vec<ChannelSku>> {
        self.point(|c| catalogue::channel_skus(c, channel_id, product_codes))
    }

    async fn stock_levels(&self, product_codes: &[String]) -> Result<Vec<StockLevel>> {
        self.point(|c| stock::stock_levels(c, product_codes))
    }

    async fn stock_updated_since(
        &self,
        since: Timestamp,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<StockLevel>> {
        let cursor = cursor.map(str::to_owned);
        self.read(move |c| stock::updated_since(c, &since, cursor.as_deref(), limit))
            .await
    }

    async fn all_stock_levels(&self) -> Result<Vec<StockLevel>> {
        self.read(stock::all_levels).await
    }

    async fn sagas(&self, partition: u32) -> Result<Vec<agusto_schemas::Saga>> {
        self.read(move |c| super::sagas::read(c, partition)).await
    }

    async fn put_bundle(&self, bundle: &str, components: &[ProductQty]) -> Result<()> {
        let (bundle, components) = (bundle.to_owned(), components.to_vec());
        self.write(move |tx| bundles::put(tx, &bundle, &components))
            .await
    }

    async fn bundle_components(&self, codes: &[String]) -> Result<Vec<(String, Vec<ProductQty>)>> {
        self.point(|c| bundles::components(c, codes))
    }

    async fn bundles_containing(&self, component: &str) -> Result<Vec<String>> {
        self.point(|c| bundles::containing(c, component))
    }

    async fn request_return(
        &self,
        request: &ReturnRecord,
        dispatched: &[(String, i64)],
    ) -> Result<ReturnRequest> {
        let (request, dispatched) = (request.clone(), dispatched.to_vec());
        self.write(move |tx| returns::request(tx, &request, &dispatched))
            .await
    }

    async fn get_return(&self, return_id: &str) -> Result<Option<ReturnRecord>> {
        self.point(|c| returns::get(c, return_id))
    }

    async fn returns_for_order(&self, order_id: &str) -> Result<Vec<ReturnRecord>> {
        self.point(|c| returns::for_order(c, order_id))
    }

    async fn list_returns(
        &self,
        status: Option<ReturnStatus>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<ReturnRecord>> {
        let after = after.map(str::to_owned);
        self.read(move |c| returns::list(c, status, after.as_deref(), limit))
            .await
    }

    async fn put_received_return(&self, received: &ReturnRecord) -> Result<()> {
        let received = received.clone();
        self.write(move |tx| returns::put_received(tx, &received))
            .await
    }

    async fn all_reservations(&self) -> Result<Vec<Reservation>> {
        self.read(|c| {
            let sql = format!("SELECT {} FROM reservations", stock::RESERVATION_COLUMNS);
            c.prepare(&sql)?
                .query_and_then([], stock::reservation)?
                .collect()
        })
        .await
    }

    async fn movements(
        &self,
        product_code: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Movement>> {
        let (code, cursor) = (product_code.to_owned(), cursor.map(str::to_owned));
        self.read(move |c| stock::movements(c, &code, cursor.as_deref(), limit))
            .await
    }

    async fn ledger_sums(&self) -> Result<Vec<LedgerSum>> {
        self.read(stock::ledger_sums).await
    }

    async fn reservations_for_order(&self, order_id: &str) -> Result<Vec<Reservation>> {
        let order_id = order_id.to_owned();
        self.read(move |c| stock::reservations_for_order(c, &order_id))
            .await
    }

    async fn apply_stock_batch(&self, batch: &StockBatch) -> Result<()> {
        let batch = batch.clone();
        self.write(move |tx| stock::write_batch(tx, &batch)).await
    }

    async fn claim_partition(&self, log: &str, partition: u32) -> Result<u64> {
        let log = log.to_owned();
        self.write(move |tx| stock::claim_partition(tx, &log, partition))
            .await
    }

    async fn apply_stock_batches(&self, batches: &[StockBatch]) -> Result<()> {
        let batches = batches.to_vec();
        self.write(move |tx| batches.iter().try_for_each(|b| stock::write_batch(tx, b)))
            .await
    }

    async fn stock_changes(
        &self,
        partition: u32,
        change_ids: &[String],
        now: Timestamp,
    ) -> Result<Vec<StockChange>> {
        let ids = change_ids.to_vec();
        self.read(move |c| super::stock_changes::read(c, partition, &ids, &now))
            .await
    }

    async fn get_orders(&self, order_ids: &[String]) -> Result<Vec<Order>> {
        self.point(|c| {
            let mut found = Vec::with_capacity(order_ids.len());
            for id in order_ids {
                found.extend(orders::get_order(c, id)?);
            }
            Ok(found)
        })
    }

    async fn reservations_for_orders(&self, order_ids: &[String]) -> Result<Vec<Reservation>> {
        let ids = order_ids.to_vec();
        self.read(move |c| {
            let mut found = Vec::new();
            for id in &ids {
                found.extend(stock::reservations_for_order(c, id)?);
            }
            Ok(found)
        })
        .await
    }

    async fn get_order(&self, order_id: &str) -> Result<Option<Order>> {
        self.point(|c| orders::get_order(c, order_id))
    }

    async fn order_by_idempotency_key(&self, channel_id: &str, key: &str) -> Result<Option<Order>> {
        self.point(|c| orders::by_idempotency_key(c, channel_id, key))
    }

    async fn list_orders(
        &self,
        channel_id: Option<&str>,
        status: Option<OrderStatus>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Order>> {
        let channel = channel_id.map(str::to_owned);
        let cursor = cursor.map(str::to_owned);
        self.read(move |c| {
            orders::list_orders(c, channel.as_deref(), status, cursor.as_deref(), limit)
        })
        .await
    }

    async fn open_order_quantities(&self) -> Result<Vec<(String, i64)>> {
        self.read(orders::open_quantities).await
    }

    async fn apply_order_batch(&self, batch: &OrderBatch) -> Result<()> {
        let batch = batch.clone();
        self.write(move |tx| orders::write_batch(tx, &batch)).await
    }

    async fn applied_offset(&self, log: &str, partition: u32) -> Result<Option<u64>> {
        let log = log.to_owned();
        self.read(move |c| outbox::applied_offset(c, &log, partition))
            .await
    }

    async fn insert_channel(&self, channel: &Channel) -> Result<()> {
        let channel = channel.clone();
        self.write(move |tx| access::insert_channel(tx, &channel))
            .await
    }

    async fn update_channel(&self, channel: &Channel) -> Result<()> {
        let channel = channel.clone();
        self.write(move |tx| access::update_channel(tx, &channel))
            .await
    }

    async fn get_channel(&self, channel_id: &str) -> Result<Option<Channel>> {
        self.point(|c| access::get_channel(c, channel_id))
    }

    async fn list_channels(&self) -> Result<Vec<Channel>> {
        self.read(access::list_channels).await
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<()> {
        let token = token.clone();
        self.write(move |tx| access::insert_token(tx, &token)).await
    }

    async fn token_by_hash(&self, token_hash: &[u8]) -> Result<Option<TokenRecord>> {
        self.point(|c| access::token_by_hash(c, token_hash))
    }

    async fn revoke_token(&self, token_id: &str) -> Result<bool> {
        let id = token_id.to_owned();
        self.write(move |tx| access::revoke_token(tx, &id)).await
    }

    async fn has_admin_token(&self) -> Result<bool> {
        self.read(access::has_admin_token).await
    }

    async fn events(&self, cursor: Option<&str>, limit: usize) -> Result<Page<Event>> {
        let cursor = cursor.map(str::to_owned);
        self.read(move |c| outbox::events(c, cursor.as_deref(), limit))
            .await
    }

    async fn outbox_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, Event)>> {
        self.read(move |c| outbox::outbox_after(c, after, limit))
            .await
    }

    async fn fan_out(&self, deliveries: &[Delivery], position: i64) -> Result<()> {
        let deliveries = deliveries.to_vec();
        self.write(move |tx| deliveries::fan_out(tx, &deliveries, position))
            .await
    }

    async fn fanout_position(&self) -> Result<i64> {
        self.read(deliveries::fanout_position).await
    }

    async fn published_stock(&self, product_codes: &[String]) -> Result<Vec<PublishedStock>> {
        let codes = product_codes.to_vec();
        self.read(move |c| published::read(c, &codes)).await
    }

    async fn put_published_stock(&self, records: &[PublishedStock]) -> Result<()> {
        let records = records.to_vec();
        self.write(move |tx| published::put(tx, &records)).await
    }

    async fn due_deliveries(&self, now: Timestamp, limit: usize) -> Result<Vec<Delivery>> {
        self.read(move |c| deliveries::due(c, &now, limit)).await
    }

    async fn next_delivery_due(&self) -> Result<Option<Timestamp>> {
        self.read(deliveries::next_due).await
    }

    async fn claim_delivery(
        &self,
        id: &str,
        lease: &Lease,
        now: Timestamp,
    ) -> Result<Option<Delivery>> {
        let (id, lease) = (id.to_owned(), lease.clone());
        self.write(move |tx| deliveries::claim(tx, &id, &lease, &now))
            .await
    }

    async fn finish_delivery(&self, delivery: &Delivery, holder: &str) -> Result<bool> {
        let (delivery, holder) = (delivery.clone(), holder.to_owned());
        self.write(move |tx| deliveries::finish(tx, &delivery, &holder))
            .await
    }

    async fn update_delivery(&self, delivery: &Delivery) -> Result<()> {
        let delivery = delivery.clone();
        self.write(move |tx| deliveries::update(tx, &delivery))
            .await
    }

    async fn get_delivery(&self, id: &str) -> Result<Option<Delivery>> {
        let id = id.to_owned();
        self.read(move |c| deliveries::get(c, &id)).await
    }

    async fn list_deliveries(
        &self,
        status: Option<DeliveryStatus>,
        channel_id: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Delivery>> {
        let channel = channel_id.map(str::to_owned);
        let cursor = cursor.map(str::to_owned);
        self.read(move |c| {
            deliveries::list(c, status, channel.as_deref(), cursor.as_deref(), limit)
        })
        .await
    }
}
