//! Order reads: one order, its status history, lists (the staff pick list).

use std::sync::Arc;

use agusto_schemas::OrderStatus;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::views::{OrderStatusName, OrderView, PageOf};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, Params};

/// Order `id` if the caller may see it (staff: any; a channel: its own), else 404.
pub(crate) async fn visible(
    state: &AppState,
    who: &Principal,
    id: &str,
) -> ApiResult<agusto_schemas::Order> {
    let order = state.store.get_order(id).await?;
    order
        .filter(|o| who.channel().is_none_or(|c| c == o.channel_id))
        .ok_or_else(|| ApiError::NotFound(format!("order {id}")))
}

/// One order (owning channel or staff).
///
/// The order with its lines (each with the channel's SKU and the warehouse
/// product code), status, payment deadline and dispatch details. A channel
/// gets 404 for another channel's order.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", operation_id = "getOrder",
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "The order", body = OrderView), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn get_order(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<OrderView>> {
    Ok(Json(visible(&state, &who, &id).await?.into()))
}

/// One entry of the status history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// Status entered.
    #[schema(value_type = OrderStatusName)]
    pub status: String,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// An order's status and history.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusView {
    /// Order id.
    pub id: String,
    /// The channel's order id.
    pub external_id: String,
    /// Current status.
    #[schema(value_type = OrderStatusName)]
    pub status: String,
    /// Set on dispatch.
    pub tracking_number: Option<String>,
    /// Set on dispatch.
    pub carrier: Option<String>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Every status entered, oldest first.
    pub history: Vec<HistoryEntry>,
}

/// An order's status with its history (owning channel or staff).
///
/// What a storefront polls after a 202 `processing`, and shows its customer:
/// the current status, tracking number and carrier once dispatched, and every
/// status entered with its time, oldest first.
#[utoipa::path(get, path = "/api/v1/orders/{id}/status", tag = "orders", operation_id = "getOrderStatus",
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "Status", body = StatusView), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn status(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<StatusView>> {
    let o = visible(&state, &who, &id).await?;
    Ok(Json(StatusView {
        id: o.id,
        external_id: o.external_id,
        status: o.status.as_str().to_owned(),
        tracking_number: o.tracking_number,
        carrier: o.carrier,
        updated_at: o.updated_at,
        history: o
            .history
            .into_iter()
            .map(|h| HistoryEntry {
                status: h.status.as_str().to_owned(),
                at: h.at,
            })
            .collect(),
    }))
}

/// Lists orders, oldest first.
///
/// Staff see every order (the pick list is `?status=pending_approval`); a
/// channel sees its own. Paged with `limit` and `cursor`.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", operation_id = "listOrders",
    params(("status" = Option<OrderStatusName>, Query, description = "Only orders in this status"),
           ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "1–1000, default 100"),
           ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, description = "A page of orders", body = PageOf<OrderView>), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    who: Principal,
    params: Params,
) -> ApiResult<Json<PageOf<OrderView>>> {
    let limit = params.limit(100)?;
    let status = match params.get("status") {
        None => None,
        Some(s) => Some(
            OrderStatus::parse(s).ok_or_else(|| ApiError::invalid("status", "unknown status"))?,
        ),
    };
    let page = state
        .store
        .list_orders(who.channel(), status, params.cursor(), limit)
        .await?;
    Ok(Json(PageOf {
        items: page.items.into_iter().map(OrderView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
