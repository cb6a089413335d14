//! Returns of dispatched orders: requested by the owning channel or staff,
//! received by staff line by line (restocked or damaged).
//!
//! A request is recorded by the store atomically against the order's earlier
//! returns, so all returns of a line never exceed what was dispatched. A
//! receipt of returned units is a stock change applied once per return by
//! the stock writers (change id derived from the return id, the split's
//! fingerprint as its claim: another split is 409); then `order.returned`
//! goes to the outbox and the return is stored as received. A receive
//! answered 503 is safe to send again.

use std::collections::HashSet;
use std::sync::Arc;

use agusto_schemas::{Event, EventType, Order, OrderStatus, stable_id};
use agusto_store::{ReturnLine, ReturnRecord, ReturnRequest, ReturnStatus, StockBatch};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::order_reads::visible;
use super::views::{PageOf, ReturnView, ReturnsView};
use crate::AppState;
use crate::auth::{Principal, new_id};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ApiJson, ApiPath, Params, fingerprint, text, valid};

/// One returned line.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLineBody {
    /// The order line's SKU (staff may also name the product code).
    #[schema(min_length = 1, max_length = 64)]
    pub sku: String,
    /// Units coming back (> 0).
    #[schema(minimum = 1)]
    pub quantity: i64,
}

/// Body of `POST /orders/{id}/returns`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    /// 1–1000 lines, each SKU once.
    #[serde(deserialize_with = "crate::extract::objects")]
    #[schema(min_items = 1, max_items = 1000)]
    pub lines: Vec<ReturnLineBody>,
    /// Why (at most 500 characters).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// One line as received.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceivedLineBody {
    /// Product of a returned line.
    #[schema(min_length = 1, max_length = 64)]
    pub product_code: String,
    /// Units back on the shelf (≥ 0).
    #[schema(minimum = 0)]
    pub restock: i64,
    /// Units kept as damaged (≥ 0); restock + damaged = the returned quantity.
    #[schema(minimum = 0)]
    pub damaged: i64,
}

/// Body of `POST /returns/{id}/receive`: every returned line once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveBody {
    /// One line per returned product.
    #[serde(deserialize_with = "crate::extract::objects")]
    #[schema(min_items = 1, max_items = 1000)]
    pub lines: Vec<ReceivedLineBody>,
}

/// A new return id; ids sort by creation time.
fn return_id(at: agusto_schemas::Timestamp) -> String {
    let micros = at.timestamp_micros().max(0);
    let random = new_id("r");
    format!("rtn_{micros:016x}{}", &random[2..10])
}

/// The lines of a request, each matched to a line of the order.
fn request_lines(order: &Order, body: &ReturnBody, staff: bool) -> ApiResult<Vec<ReturnLine>> {
    let mut errors = Vec::new();
    if body.lines.is_empty() || body.lines.len() > 1000 {
        errors.push(FieldError::new("lines", "give 1 to 1000 lines"));
    }
    if let Some(reason) = &body.reason {
        text("reason", reason, 500, &mut errors);
    }
    let mut lines = Vec::with_capacity(body.lines.len());
    let mut seen = HashSet::new();
    for (i, l) in body.lines.iter().enumerate() {
        let line = order
            .lines
            .iter()
            .find(|o| o.sku == l.sku || (staff && o.product_code == l.sku));
        let Some(line) = line else {
            errors.push(FieldError::new(
                format!("lines[{i}].sku"),
                "not a line of this order",
            ));
            continue;
        };
        if !seen.insert(line.product_code.clone()) {
            errors.push(FieldError::new(format!("lines[{i}].sku"), "duplicate line"));
        }
        if l.quantity <= 0 {
            errors.push(FieldError::new(
                format!("lines[{i}].quantity"),
                "must be > 0",
            ));
        }
        lines.push(ReturnLine {
            sku: line.sku.clone(),
            product_code: line.product_code.clone(),
            quantity: l.quantity,
            restock: None,
            damaged: None,
        });
    }
    valid(errors)?;
    Ok(lines)
}

/// Requests a return of a dispatched order (owning channel or staff).
///
/// Only for `dispatched` orders (409 `invalid_transition` otherwise). All
/// returns of a line together never exceed the units dispatched (422
/// `validation_failed`). The return waits in the receiving list
/// (`GET /returns?status=requested`) until staff receive it.
#[utoipa::path(post, path = "/api/v1/orders/{id}/returns", tag = "returns", operation_id = "requestReturn",
    params(("id" = String, Path, description = "Order id")), request_body = ReturnBody,
    responses((status = 201, description = "Requested", body = ReturnView), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn request(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReturnBody>,
) -> ApiResult<(StatusCode, Json<ReturnView>)> {
    let order = visible(&state, &who, &id).await?;
    if order.status != OrderStatus::Dispatched {
        return Err(ApiError::InvalidTransition {
            status: order.status.as_str().to_owned(),
            action: "return".into(),
        });
    }
    let lines = request_lines(&order, &body, who.channel().is_none())?;
    let now = agusto_schemas::now();
    let record = ReturnRecord {
        id: return_id(now),
        order_id: order.id.clone(),
        channel_id: order.channel_id.clone(),
        status: ReturnStatus::Requested,
        lines,
        reason: body.reason.filter(|r| !r.trim().is_empty()),
        created_at: now,
        received_at: None,
    };
    let dispatched: Vec<(String, i64)> = order
        .lines
        .iter()
        .map(|l| (l.product_code.clone(), l.quantity))
        .collect();
    match state.store.request_return(&record, &dispatched).await? {
        ReturnRequest::Created => Ok((StatusCode::CREATED, Json(ReturnView::from(record)))),
        ReturnRequest::Exceeds {
            product_code,
            dispatched,
            returned,
        } => {
            let i = record
                .lines
                .iter()
                .position(|l| l.product_code == product_code)
                .unwrap_or(0);
            Err(ApiError::invalid(
                format!("lines[{i}].quantity"),
                format!(
                    "{dispatched} dispatched, {returned} returned before: at most {} more",
                    (dispatched - returned).max(0)
                ),
            ))
        }
    }
}

/// The received split, checked against the return's lines.
fn received_lines(ret: &ReturnRecord, body: &ReceiveBody) -> ApiResult<Vec<ReturnLine>> {
    let mut errors = Vec::new();
    let mut lines = ret.lines.clone();
    let mut given = HashSet::new();
    for (i, l) in body.lines.iter().enumerate() {
        let Some(line) = lines.iter_mut().find(|r| r.product_code == l.product_code) else {
            errors.push(FieldError::new(
                format!("lines[{i}].product_code"),
                "not a line of this return",
            ));
            continue;
        };
        if !given.insert(l.product_code.clone()) {
            errors.push(FieldError::new(
                format!("lines[{i}].product_code"),
                "duplicate line",
            ));
        }
        if l.restock < 0 || l.damaged < 0 {
            errors.push(FieldError::new(
                format!("lines[{i}]"),
                "restock and damaged must be >= 0",
            ));
        } else if l.restock.checked_add(l.damaged) != Some(line.quantity) {
            errors.push(FieldError::new(
                format!("lines[{i}]"),
                format!(
                    "restock + damaged must be {} (the units returned)",
                    line.quantity
                ),
            ));
        }
        line.restock = Some(l.restock);
        line.damaged = Some(l.damaged);
    }
    for l in lines.iter().filter(|l| !given.contains(&l.product_code)) {
        errors.push(FieldError::new(
            "lines",
            format!("{} is missing", l.product_code),
        ));
    }
    valid(errors)?;
    Ok(lines)
}

/// Receives a return (staff): restocked units back to `on_hand` (ledger
/// kind `return`), damaged units to `damaged` (`return_damaged`).
///
/// Every returned line once, with `restock + damaged` = the units returned.
/// Emits `order.returned` to the order's channel and `stock.changed`. The
/// same split again is answered 200 with the received return and changes
/// nothing; another split of a received return is 409.
#[utoipa::path(post, path = "/api/v1/returns/{id}/receive", tag = "returns", operation_id = "receiveReturn",
    params(("id" = String, Path, description = "Return id")), request_body = ReceiveBody,
    responses((status = 200, description = "Received", body = ReturnView), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn receive(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReceiveBody>,
) -> ApiResult<Json<ReturnView>> {
    who.require_staff()?;
    let ret = state
        .store
        .get_return(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("return {id}")))?;
    let lines = received_lines(&ret, &body)?;
    if ret.status == ReturnStatus::Received && ret.lines != lines {
        return Err(ApiError::Conflict(format!(
            "return {} was received with another split",
            ret.id
        )));
    }
    let order = state.store.get_order(&ret.order_id).await?;
    let split = agusto_store::returned_stock(order.as_ref(), &lines);
    let claim = fingerprint(&json!({"receive": split}));
    let change_id = stable_id("rtnrcv", &[&ret.id]);
    state
        .warehouse
        .receive_return(&change_id, &ret.id, &split, &claim)
        .await
        .map_err(|e| match e {
            agusto_workers::Error::Conflict(_) => {
                ApiError::Conflict(format!("return {} was received with another split", ret.id))
            }
            other => super::stock_changes::stock_error(other),
        })?;
    let mut received = ret.clone();
    received.lines = lines;
    received.status = ReturnStatus::Received;
    received.received_at = Some(ret.received_at.unwrap_or_else(agusto_schemas::now));
    let event = Event {
        id: stable_id("evt", &["order.returned", &ret.id]),
        event_type: EventType::OrderReturned,
        created_at: received.received_at.unwrap_or_else(agusto_schemas::now),
        channel_id: Some(ret.channel_id.clone()),
        product_code: None,
        data: json!({
            "order_id": ret.order_id,
            "external_id": order.map(|o| o.external_id).unwrap_or_default(),
            "return_id": ret.id,
            "lines": ReturnView::from(received.clone()).lines,
        }),
    };
    let batch = StockBatch {
        events: vec![event],
        ..StockBatch::default()
    };
    state.store.apply_stock_batch(&batch).await?;
    state.store.put_received_return(&received).await?;
    Ok(Json(ReturnView::from(received)))
}

/// An order's returns, oldest first (owning channel or staff).
///
/// Every return requested for the order, requested or received, with the
/// received split of each line once received. A channel gets 404 for
/// another channel's order.
#[utoipa::path(get, path = "/api/v1/orders/{id}/returns", tag = "returns", operation_id = "listOrderReturns",
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "The order's returns", body = ReturnsView), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn of_order(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ReturnsView>> {
    let order = visible(&state, &who, &id).await?;
    let items = state.store.returns_for_order(&order.id).await?;
    Ok(Json(ReturnsView {
        items: items.into_iter().map(ReturnView::from).collect(),
    }))
}

/// The receiving list (staff): returns by status, oldest first.
///
/// `?status=requested` is what is on its way back and waits to be
/// received. Paged with `limit` and `cursor`.
#[utoipa::path(get, path = "/api/v1/returns", tag = "returns", operation_id = "listReturns",
    params(("status" = Option<super::views::ReturnStatusName>, Query, description = "Only returns in this status"),
           ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "1–1000, default 100"),
           ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, description = "A page of returns", body = PageOf<ReturnView>), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    who: Principal,
    params: Params,
) -> ApiResult<Json<PageOf<ReturnView>>> {
    who.require_staff()?;
    let limit = params.limit(100)?;
    let status = match params.get("status") {
        None => None,
        Some(s) => Some(
            ReturnStatus::parse(s)
                .ok_or_else(|| ApiError::invalid("status", "must be requested or received"))?,
        ),
    };
    let page = state
        .store
        .list_returns(status, params.cursor(), limit)
        .await?;
    Ok(Json(PageOf {
        items: page.items.into_iter().map(ReturnView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
