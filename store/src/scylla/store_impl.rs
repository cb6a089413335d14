//! [`Store`] for [`ScyllaStore`]: each call runs on the shared session.

use agusto_schemas::{
    Event, Movement, Order, OrderStatus, ProductQty, Reservation, StockLevel, Timestamp,
};
use async_trait::async_trait;

use super::ScyllaStore;
use super::statements::Stmt;
use crate::{
    Channel, ChannelSku, Delivery, DeliveryStatus, Lease, LedgerSum, OrderBatch, Page, Product,
    PublishedStock, Result, ReturnRecord, ReturnRequest, ReturnStatus, SkuMapping, StockBatch,
    StockChange, Store, TokenRecord,
};

/// Timestamps are kept to the microsecond (finer parts are truncated).
/// `update_channel` and `update_delivery` on an unknown id are a `Conflict`.
/// Reads may trail a writer's batch while it is being applied (a logged
/// batch is atomic, not isolated), never once it was acknowledged.
#[async_trait]
impl Store for ScyllaStore {
    async fn ping(&self) -> Result<()> {
        self.inner
            .rows::<(Option<String>,)>(Stmt::Ping, vec![])
            .await
            .map(drop)
    }

    async fn put_product(&self, product: &Product) -> Result<bool> {
        self.inner.put_product(product).await
    }

    async fn get_product(&self, product_code: &str) -> Result<Option<Product>> {
        self.inner.get_product(product_code).await
    }

    async fn list_products(
        &self,
        active: Option<bool>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Product>> {
        self.inner.list_products(active, cursor, limit).await
    }

    async fn put_sku_mapping(&self, mapping: &SkuMapping) -> Result<()> {
        self.inner.put_sku_mapping(mapping).await
    }

    async fn resolve_sku(&self, channel_id: &str, sku: &str) -> Result<Option<String>> {
        self.inner.resolve_sku(channel_id, sku).await
    }

    async fn skus_for(&self, channel_id: &str, product_codes: &[String]) -> Result<Vec<String>> {
        self.inner.skus_for(channel_id, product_codes).await
    }

    async fn channel_skus(
        &self,
        channel_id: &str,
        product_codes: &[String],
    ) -> Result<Vec<ChannelSku>> {
        self.inner.channel_skus(channel_id, product_codes).await
    }

    async fn stock_levels(&self, product_codes: &[String]) -> Result<Vec<StockLevel>> {
        self.inner.stock_levels(product_codes).await
    }

    async fn stock_updated_since(
        &self,
        since: Timestamp,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<StockLevel>> {
        self.inner.updated_since(&since, cursor, limit).await
    }

    async fn all_stock_levels(&self) -> Result<Vec<StockLevel>> {
        self.inner.all_levels().await
    }

    async fn claim_partition(&self, log: &str, partition: u32) -> Result<u64> {
        self.inner.claim_partition(log, partition).await
    }

    async fn sagas(&self, partition: u32) -> Result<Vec<agusto_schemas::Saga>> {
        self.inner.sagas(partition).await
    }

    async fn put_bundle(&self, bundle: &str, components: &[ProductQty]) -> Result<()> {
        self.inner.put_bundle(bundle, components).await
    }

    async fn bundle_components(&self, codes: &[String]) -> Result<Vec<(String, Vec<ProductQty>)>> {
        self.inner.bundle_components(codes).await
    }

    async fn bundles_containing(&self, component: &str) -> Result<Vec<String>> {
        self.inner.bundles_containing(component).await
    }

    async fn request_return(
        &self,
        request: &ReturnRecord,
        dispatched: &[(String, i64)],
    ) -> Result<ReturnRequest> {
        self.inner.request_return(request, dispatched).await
    }

    async fn get_return(&self, return_id: &str) -> Result<Option<ReturnRecord>> {
        self.inner.get_return(return_id).await
    }

    async fn returns_for_order(&self, order_id: &str) -> Result<Vec<ReturnRecord>> {
        let mut returns = self.inner.order_returns(order_id, false).await?.0;
        returns.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(returns)
    }

    async fn list_returns(
        &self,
        status: Option<ReturnStatus>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<ReturnRecord>> {
        self.inner.list_returns(status, after, limit).await
    }

    async fn put_received_return(&self, received: &ReturnRecord) -> Result<()> {
        self.inner.put_received_return(received).await
    }

    async fn all_reservations(&self) -> Result<Vec<Reservation>> {
        self.inner.all_holds().await
    }

    async fn movements(
        &self,
        product_code: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Movement>> {
        self.inner.movements(product_code, cursor, limit).await
    }

    async fn ledger_sums(&self) -> Result<Vec<LedgerSum>> {
        self.inner.ledger_sums().await
    }

    async fn reservations_for_order(&self, order_id: &str) -> Result<Vec<Reservation>> {
        self.inner.reservations_for_order(order_id).await
    }

    async fn apply_stock_batch(&self, batch: &StockBatch) -> Result<()> {
        self.inner.apply_stock_batch(batch).await
    }

    async fn stock_changes(
        &self,
        partition: u32,
        change_ids: &[String],
        now: Timestamp,
    ) -> Result<Vec<StockChange>> {
        self.inner.stock_changes(partition, change_ids, now).await
    }

    async fn get_order(&self, order_id: &str) -> Result<Option<Order>> {
        self.inner.get_order(order_id).await
    }

    async fn order_by_idempotency_key(&self, channel_id: &str, key: &str) -> Result<Option<Order>> {
        self.inner.by_idempotency_key(channel_id, key).await
    }

    async fn list_orders(
        &self,
        channel_id: Option<&str>,
        status: Option<OrderStatus>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Order>> {
        self.inner
            .list_orders(channel_id, status, cursor, limit)
            .await
    }

    async fn open_order_quantities(&self) -> Result<Vec<(String, i64)>> {
        self.inner.open_quantities().await
    }

    async fn apply_order_batch(&self, batch: &OrderBatch) -> Result<()> {
        self.inner.apply_order_batch(batch).await
    }

    async fn applied_offset(&self, log: &str, partition: u32) -> Result<Option<u64>> {
        self.inner.applied_offset(log, partition).await
    }

    async fn insert_channel(&self, channel: &Channel) -> Result<()> {
        self.inner.insert_channel(channel).await
    }

    async fn update_channel(&self, channel: &Channel) -> Result<()> {
        self.inner.update_channel(channel).await
    }

    async fn get_channel(&self, channel_id: &str) -> Result<Option<Channel>> {
        self.inner.get_channel(channel_id).await
    }

    async fn list_channels(&self) -> Result<Vec<Channel>> {
        self.inner.list_channels().await
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<()> {
        self.inner.insert_token(token).await
    }

    async fn token_by_hash(&self, token_hash: &[u8]) -> Result<Option<TokenRecord>> {
        self.inner.token_by_hash(token_hash).await
    }

    async fn revoke_token(&self, token_id: &str) -> Result<bool> {
        self.inner.revoke_token(token_id).await
    }

    async fn has_admin_token(&self) -> Result<bool> {
        self.inner.has_admin_token().await
    }

    async fn events(&self, cursor: Option<&str>, limit: usize) -> Result<Page<Event>> {
        self.inner.events(cursor, limit).await
    }

    async fn outbox_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, Event)>> {
        self.inner.outbox_after(after, limit).await
    }

    async fn fan_out(&self, deliveries: &[Delivery], position: i64) -> Result<()> {
        self.inner.fan_out(deliveries, position).await
    }

    async fn fanout_position(&self) -> Result<i64> {
        self.inner.fanout_position().await
    }

    async fn published_stock(&self, product_codes: &[String]) -> Result<Vec<PublishedStock>> {
        self.inner.published_stock(product_codes).await
    }

    async fn put_published_stock(&self, records: &[PublishedStock]) -> Result<()> {
        self.inner.put_published_stock(records).await
    }

    async fn due_deliveries(&self, now: Timestamp, limit: usize) -> Result<Vec<Delivery>> {
        self.inner.due_deliveries(&now, limit).await
    }

    async fn next_delivery_due(&self) -> Result<Option<Timestamp>> {
        self.inner.next_delivery_due().await
    }

    async fn claim_delivery(
        &self,
        id: &str,
        lease: &Lease,
        now: Timestamp,
    ) -> Result<Option<Delivery>> {
        self.inner.claim_delivery(id, lease, &now).await
    }

    async fn finish_delivery(&self, delivery: &Delivery, holder: &str) -> Result<bool> {
        self.inner.finish_delivery(delivery, holder).await
    }

    async fn update_delivery(&self, delivery: &Delivery) -> Result<()> {
        self.inner.update_delivery(delivery).await
    }

    async fn get_delivery(&self, id: &str) -> Result<Option<Delivery>> {
        self.inner.get_delivery(id).await
    }

    async fn list_deliveries(
        &self,
        status: Option<DeliveryStatus>,
        channel_id: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Delivery>> {
        self.inner
            .list_deliveries(status, channel_id, cursor, limit)
            .await
    }
}
