//! The `/api/v1` routes, one file per area of API.md.

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, patch, post, put};

use crate::AppState;

pub(crate) mod access;
pub(crate) mod bundles;
pub(crate) mod catalogue;
pub(crate) mod channel_rules;
pub(crate) mod order_reads;
pub(crate) mod orders;
pub(crate) mod returns;
pub(crate) mod stock;
pub(crate) mod stock_changes;
pub(crate) mod tokens;
pub(crate) mod views;
pub(crate) mod webhooks;

pub(crate) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/products", get(catalogue::list_products))
        .route(
            "/api/v1/products/{product_code}",
            put(catalogue::put_product),
        )
        .route(
            "/api/v1/channels/{channel_id}/skus/{sku}",
            put(catalogue::put_sku),
        )
        .route("/api/v1/inventory/{sku}", get(stock::inventory))
        .route("/api/v1/inventory/{sku}/movements", get(stock::movements))
        .route("/api/v1/stock-levels", get(stock::stock_levels))
        .route("/api/v1/stock/receipts", post(stock_changes::receipt))
        .route("/api/v1/stock/adjustments", post(stock_changes::adjustment))
        .route("/api/v1/orders", post(orders::place).get(order_reads::list))
        .route("/api/v1/orders/{id}", get(order_reads::get_order))
        .route("/api/v1/orders/{id}/status", get(order_reads::status))
        .route("/api/v1/orders/{id}/paid", patch(orders::paid))
        .route("/api/v1/orders/{id}/cancel", post(orders::cancel))
        .route("/api/v1/orders/{id}/pick", post(orders::pick))
        .route("/api/v1/orders/{id}/pack", post(orders::pack))
        .route("/api/v1/orders/{id}/complete", post(orders::complete))
        .route(
            "/api/v1/orders/{id}/returns",
            post(returns::request).get(returns::of_order),
        )
        .route("/api/v1/returns", get(returns::list))
        .route("/api/v1/returns/{id}/receive", post(returns::receive))
        .route("/api/v1/channels", post(access::create_channel))
        .route(
            "/api/v1/channels/{id}",
            patch(access::update_channel).get(webhooks::channel),
        )
        .route("/api/v1/webhooks/deliveries", get(webhooks::list))
        .route(
            "/api/v1/webhooks/deliveries/{id}/retry",
            post(webhooks::retry),
        )
        .route("/api/v1/tokens", post(tokens::create_token))
        .route("/api/v1/tokens/{id}", delete(tokens::revoke_token))
}
