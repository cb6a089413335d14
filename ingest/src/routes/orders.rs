//! Orders: placement (reserve all lines or none) and the lifecycle actions
//! (reads: `order_reads`).

use std::collections::HashSet;
use std::sync::Arc;

use agusto_schemas::{NewOrder, OrderAction, OrderCommand, OrderLine, OrderReply, stable_id};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::catalogue::CODE_MAX;
use super::views::OrderView;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ApiJson, ApiPath, code, valid};

/// One line of a new order.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewOrderLine {
    /// The channel's SKU.
    #[schema(min_length = 1, max_length = 64)]
    pub sku: String,
    /// Units (> 0).
    #[schema(minimum = 1)]
    pub quantity: i64,
}

/// Body of `POST /orders`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewOrderBody {
    /// The channel's own order id (1–128 characters); orders are idempotent by it.
    #[schema(min_length = 1, max_length = 128)]
    pub external_id: String,
    /// 1–500 lines with distinct SKUs.
    #[serde(deserialize_with = "crate::extract::objects")]
    #[schema(min_items = 1, max_items = 500)]
    pub lines: Vec<NewOrderLine>,
    /// Customer details, kept as given.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub customer: Option<serde_json::Map<String, serde_json::Value>>,
    /// Shipping address, kept as given.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub shipping_address: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The answer when the outcome is not known within the wait.
#[derive(Debug, Serialize, ToSchema)]
pub struct Processing {
    /// Order id to poll.
    pub id: String,
    /// Always `processing`.
    pub status: String,
}

fn processing(id: String) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(Processing {
            id,
            status: "processing".into(),
        }),
    )
        .into_response()
}

/// Places an order (channel): reserves every line or none.
///
/// 201 with the order in status `reserved`, holding its stock until
/// `expires_at`; mark it paid before then. The same `external_id` (or
/// `Idempotency-Key`) with the same lines answers 200 with the original order
/// and reserves nothing twice; with other lines, 409 `conflict`. 422
/// `insufficient_stock` (with `shortages`) when any line cannot be reserved in
/// full, nothing held; 422 `unknown_sku` (with `skus`) for SKUs the channel has
/// no product for. 202 `processing` when the outcome is not known in time:
/// poll `GET /api/v1/orders/{id}/status`.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", operation_id = "createOrder", request_body = NewOrderBody,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255,
        description = "Replays return the original order")),
    responses((status = 201, description = "Reserved", body = OrderView),
              (status = 200, description = "Placed before with the same content", body = OrderView),
              (status = 202, description = "Outcome not known yet; poll the status", body = Processing),
              crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn place(
    State(state): State<Arc<AppState>>,
    who: Principal,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewOrderBody>,
) -> ApiResult<Response> {
    let channel = who.require_channel()?.to_owned();
    let mut errors = Vec::new();
    code("external_id", &body.external_id, 128, &mut errors);
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(k)) if !k.is_empty() && k.len() <= 255 => Some(k.to_owned()),
        Some(_) => {
            errors.push(FieldError::new(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            ));
            None
        }
    };
    if body.lines.is_empty() || body.lines.len() > 500 {
        errors.push(FieldError::new("lines", "must have 1 to 500 lines"));
    }
    let mut seen = HashSet::new();
    for (i, l) in body.lines.iter().enumerate() {
        code(&format!("lines[{i}].sku"), &l.sku, CODE_MAX, &mut errors);
        if l.quantity <= 0 {
            errors.push(FieldError::new(
                format!("lines[{i}].quantity"),
                "must be > 0",
            ));
        }
        if !seen.insert(&l.sku) {
            errors.push(FieldError::new(
                format!("lines[{i}].sku"),
                "duplicate SKU line",
            ));
        }
    }
    valid(errors)?;
    let mut lines = Vec::with_capacity(body.lines.len());
    let mut unknown = Vec::new();
    for l in &body.lines {
        match state
            .lookups
            .sku(state.store.as_ref(), &channel, &l.sku)
            .await?
        {
            Some(code) => lines.push(OrderLine {
                components: Vec::new(),
                sku: l.sku.clone(),
                product_code: code,
                quantity: l.quantity,
            }),
            None => unknown.push(l.sku.clone()),
        }
    }
    for l in &lines {
        if !state
            .lookups
            .product(state.store.as_ref(), &l.product_code)
            .await?
            .is_some_and(|p| p.active)
        {
            unknown.push(l.sku.clone());
        }
    }
    if !unknown.is_empty() {
        return Err(ApiError::UnknownSku(unknown));
    }
    super::bundles::expand(&state, &mut lines).await?;
    let order_id = stable_id("ord", &[&channel, &body.external_id]);
    let ttl =
        chrono::Duration::from_std(state.settings.reservation_ttl).unwrap_or(chrono::Duration::MAX);
    let new = NewOrder {
        order_id: order_id.clone(),
        external_id: body.external_id,
        channel_id: channel,
        lines,
        expires_at: agusto_schemas::now() + ttl,
        idempotency_key: key,
        customer: body.customer.map(serde_json::Value::Object),
        shipping_address: body.shipping_address.map(serde_json::Value::Object),
    };
    let ordered = new.lines.clone();
    match state
        .warehouse
        .order(&order_id, OrderCommand::Place(new))
        .await
    {
        Ok(OrderReply::Short(shortages)) => Err(ApiError::InsufficientStock(
            super::bundles::shortages(&ordered, &shortages),
        )),
        other => order_response(&order_id, other),
    }
}

/// Maps an order writer's reply to the response.
fn order_response(
    order_id: &str,
    reply: Result<OrderReply, agusto_workers::Error>,
) -> ApiResult<Response> {
    match reply {
        Ok(OrderReply::Placed(o)) => {
            Ok((StatusCode::CREATED, Json(OrderView::from(*o))).into_response())
        }
        Ok(OrderReply::Existing(o) | OrderReply::Updated(o)) => {
            Ok(Json(OrderView::from(*o)).into_response())
        }
        Ok(OrderReply::Conflict(why)) => Err(ApiError::Conflict(why)),
        Ok(OrderReply::NotFound) => Err(ApiError::NotFound(format!("order {order_id}"))),
        Ok(OrderReply::InvalidTransition { status, action }) => Err(ApiError::InvalidTransition {
            status: status.as_str().to_owned(),
            action,
        }),
        Ok(OrderReply::Short(_)) => Err(ApiError::InsufficientStock(Vec::new())),
        Ok(OrderReply::Swept(_)) | Ok(OrderReply::Unavailable(_)) => {
            Err(ApiError::Unavailable("unexpected reply".into()))
        }
        Err(agusto_workers::Error::Pending) => Ok(processing(order_id.to_owned())),
        Err(e) => Err(ApiError::Unavailable(e.to_string())),
    }
}

async fn act(
    state: &AppState,
    id: String,
    channel: Option<&str>,
    action: OrderAction,
) -> ApiResult<Response> {
    let cmd = OrderCommand::Transition {
        order_id: id.clone(),
        channel_id: channel.map(str::to_owned),
        action,
    };
    order_response(&id, state.warehouse.order(&id, cmd).await)
}

/// Marks an order paid (owning channel, or admin): `reserved` → `pending_approval`.
///
/// The order joins the staff pick list and no longer expires. 409
/// `invalid_transition` from any other status; staff tokens get 403.
#[utoipa::path(patch, path = "/api/v1/orders/{id}/paid", tag = "orders", operation_id = "markOrderPaid",
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "Paid", body = OrderView), (status = 202, description = "Still processing", body = Processing), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn paid(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    if who.role == agusto_store::Role::Staff {
        return Err(ApiError::Forbidden(
            "payment is marked by the channel".into(),
        ));
    }
    act(&state, id, who.channel(), OrderAction::Pay).await
}

/// Cancels an order (owning channel or staff); 409 once dispatched.
///
/// Releases the order's reservation; `cancelled` is final. Allowed from
/// `reserved`, `pending_approval`, `picking` and `packed`; 409
/// `invalid_transition` once dispatched, cancelled or expired.
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", operation_id = "cancelOrder",
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "Cancelled", body = OrderView), (status = 202, description = "Still processing", body = Processing), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    act(&state, id, who.channel(), OrderAction::Cancel).await
}

/// Starts picking (staff): `pending_approval` → `picking`.
///
/// Takes a paid order off the pick list. 409 `invalid_transition` from any
/// other status.
#[utoipa::path(post, path = "/api/v1/orders/{id}/pick", tag = "orders", operation_id = "pickOrder",
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "Picking", body = OrderView), (status = 202, description = "Still processing", body = Processing), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn pick(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    who.require_staff()?;
    act(&state, id, None, OrderAction::Pick).await
}

/// Packs (staff): `picking` → `packed`.
///
/// The parcel waits for the carrier. 409 `invalid_transition` from any other
/// status.
#[utoipa::path(post, path = "/api/v1/orders/{id}/pack", tag = "orders", operation_id = "packOrder",
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "Packed", body = OrderView), (status = 202, description = "Still processing", body = Processing), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn pack(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    who.require_staff()?;
    act(&state, id, None, OrderAction::Pack).await
}

/// Body of `POST /orders/{id}/complete`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    /// Carrier tracking number (1–100 characters).
    #[schema(min_length = 1, max_length = 100)]
    pub tracking_number: String,
    /// Carrier name (up to 100 characters).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    pub carrier: Option<String>,
}

/// Completes the stock-out (staff): `packed` → `dispatched`.
///
/// Records the tracking number and carrier; `on_hand` and `reserved` both drop
/// by the order's quantities. Sends `order.dispatched` and `stock.changed`
/// webhooks. 409 `invalid_transition` from any other status.
#[utoipa::path(post, path = "/api/v1/orders/{id}/complete", tag = "orders", operation_id = "completeOrder",
    params(("id" = String, Path, description = "Order id")), request_body = CompleteBody,
    responses((status = 200, description = "Dispatched", body = OrderView), (status = 202, description = "Still processing", body = Processing), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn complete(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CompleteBody>,
) -> ApiResult<Response> {
    who.require_staff()?;
    let mut errors = Vec::new();
    code("tracking_number", &body.tracking_number, 100, &mut errors);
    if let Some(c) = &body.carrier {
        crate::extract::text("carrier", c, 100, &mut errors);
    }
    valid(errors)?;
    let action = OrderAction::Complete {
        tracking_number: body.tracking_number,
        carrier: body.carrier,
    };
    act(&state, id, None, action).await
}
