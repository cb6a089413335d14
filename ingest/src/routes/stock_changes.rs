//! Stock In (receipts) and manual adjustments (staff): the writes of stock.
//!
//! Both take an optional `Idempotency-Key`: the change id is then derived
//! from (principal, key) and the request's fingerprint goes with the
//! command, so the stock writer that owns the id decides, durably with the
//! change, whether a request is new (201), a retry (200, the first answer)
//! or a reused key (409). Keys are scoped to the principal and the endpoint.

use std::collections::HashSet;
use std::sync::Arc;

use agusto_schemas::{AdjustmentChange, ProductQty, stable_id};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::catalogue::CODE_MAX;
use crate::AppState;
use crate::auth::{Principal, new_id};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ApiJson, code, fingerprint, idempotency_key, text, valid};

/// A stock change's id and, with an `Idempotency-Key`, the request's
/// fingerprint: the id is the same for every retry of the request.
fn change_id(
    prefix: &str,
    who: &Principal,
    key: Option<&str>,
    canonical: &serde_json::Value,
) -> (String, Option<String>) {
    match key {
        Some(key) => (
            stable_id(prefix, &[&who.id, key]),
            Some(fingerprint(canonical)),
        ),
        None => (new_id(prefix), None),
    }
}

/// 201 for a change applied now, 200 for a retry answered with the first answer.
fn created_or_replayed(replayed: bool) -> StatusCode {
    if replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    }
}

/// One receipt line.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptLine {
    /// Product received.
    #[schema(min_length = 1, max_length = 64)]
    pub product_code: String,
    /// Units (> 0).
    #[schema(minimum = 1)]
    pub quantity: i64,
}

/// Body of `POST /stock/receipts` (Stock In).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    /// Delivery / purchase order reference (1–200 characters).
    #[schema(min_length = 1, max_length = 200)]
    pub reference: String,
    /// 1–1000 lines, one per product.
    #[serde(deserialize_with = "crate::extract::objects")]
    #[schema(min_items = 1, max_items = 1000)]
    pub lines: Vec<ReceiptLine>,
}

/// New levels after a receipt line.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptLineView {
    /// Product.
    pub product_code: String,
    /// Units on hand now.
    pub on_hand: i64,
    /// Units available now.
    pub available: i64,
    /// Product version now.
    pub version: i64,
}

/// A recorded receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptView {
    /// Receipt id.
    pub id: String,
    /// New levels per line.
    pub lines: Vec<ReceiptLineView>,
}

/// Records a receipt: Stock In (staff).
///
/// Adds each line's quantity to the product's `on_hand` in one step and
/// answers with the new levels. Every product must exist (422 otherwise).
/// Each change sends a `stock.changed` webhook to every channel that sees the product.
/// With an `Idempotency-Key`, a retry is answered with the first answer
/// (200) and received once; another body under the same key is 409 `conflict`.
#[utoipa::path(post, path = "/api/v1/stock/receipts", tag = "stock", operation_id = "createReceipt", request_body = ReceiptBody,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
        description = "1–255 visible ASCII characters, scoped to the caller and this endpoint, kept 7 days (at least 24 h): \
            the same key with the same body gets the first answer (200, same id) and is received once; \
            with another body, 409 conflict")),
    responses((status = 201, description = "Received", body = ReceiptView),
              (status = 200, description = "Received before under this Idempotency-Key with the same body: the first answer", body = ReceiptView),
              crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn receipt(
    State(state): State<Arc<AppState>>,
    who: Principal,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReceiptBody>,
) -> ApiResult<(StatusCode, Json<ReceiptView>)> {
    who.require_staff()?;
    let mut errors = Vec::new();
    let key = idempotency_key(&headers, &mut errors);
    text("reference", &body.reference, 200, &mut errors);
    if body.lines.is_empty() || body.lines.len() > 1000 {
        errors.push(FieldError::new("lines", "must have 1 to 1000 lines"));
    }
    let mut seen = HashSet::new();
    for (i, l) in body.lines.iter().enumerate() {
        code(
            &format!("lines[{i}].product_code"),
            &l.product_code,
            CODE_MAX,
            &mut errors,
        );
        if l.quantity <= 0 {
            errors.push(FieldError::new(
                format!("lines[{i}].quantity"),
                "must be > 0",
            ));
        }
        if !seen.insert(&l.product_code) {
            errors.push(FieldError::new(
                format!("lines[{i}].product_code"),
                "duplicate product in receipt",
            ));
        }
    }
    valid(errors)?;
    let mut errors = Vec::new();
    for (i, l) in body.lines.iter().enumerate() {
        if state.store.get_product(&l.product_code).await?.is_none() {
            errors.push(FieldError::new(
                format!("lines[{i}].product_code"),
                "no such product",
            ));
        }
    }
    valid(errors)?;
    let codes: Vec<String> = body.lines.iter().map(|l| l.product_code.clone()).collect();
    super::bundles::no_bundles(&state, &codes, |i| format!("lines[{i}].product_code")).await?;
    let lines: Vec<ProductQty> = body
        .lines
        .iter()
        .map(|l| ProductQty {
            product_code: l.product_code.clone(),
            quantity: l.quantity,
        })
        .collect();
    let mut sorted: Vec<(&str, i64)> = lines
        .iter()
        .map(|l| (l.product_code.as_str(), l.quantity))
        .collect();
    sorted.sort();
    let canonical = json!({"receipt": {"reference": body.reference, "lines": sorted}});
    let (id, claim) = change_id("rcpt", &who, key.as_deref(), &canonical);
    let outcome = state
        .warehouse
        .receive(&id, &body.reference, &lines, claim.as_deref())
        .await
        .map_err(stock_error)?;
    let lines = outcome
        .levels
        .iter()
        .map(|l| ReceiptLineView {
            product_code: l.product_code.clone(),
            on_hand: l.on_hand,
            available: l.available(),
            version: l.version,
        })
        .collect();
    let status = created_or_replayed(outcome.replayed);
    Ok((status, Json(ReceiptView { id, lines })))
}

pub(crate) fn stock_error(e: agusto_workers::Error) -> ApiError {
    match e {
        agusto_workers::Error::Rejected(why) => ApiError::invalid("lines", why),
        agusto_workers::Error::Unavailable(why) => ApiError::Unavailable(why),
        agusto_workers::Error::Pending => {
            ApiError::Unavailable("stock writer did not answer in time".into())
        }
        agusto_workers::Error::Conflict(why) => ApiError::Conflict(why),
        agusto_workers::Error::VersionMismatch { current_version } => {
            ApiError::VersionConflict { current_version }
        }
    }
}

/// The quantity state an adjustment's `delta` changes, for the OpenAPI document.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum StockStateName {
    /// `on_hand`: sellable units (the default).
    Sellable,
    /// `damaged`: physically here, not sellable.
    Damaged,
}

/// Body of `POST /stock/adjustments`: exactly one of `delta`, `set_on_hand`
/// and `move_to_damaged`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentBody {
    /// Product adjusted.
    #[schema(min_length = 1, max_length = 64)]
    pub product_code: String,
    /// Units to add (negative: remove) to the quantity `state` names; not 0.
    #[serde(default)]
    pub delta: Option<i64>,
    /// Counted sellable on-hand (≥ 0).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub set_on_hand: Option<i64>,
    /// Units (> 0) moved from `on_hand` to `damaged` in one step; 422 if
    /// that would leave `on_hand` below `reserved`.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub move_to_damaged: Option<i64>,
    /// Which quantity `delta` changes: `sellable` (`on_hand`, the default)
    /// or `damaged`. Only with `delta`.
    #[serde(default)]
    #[schema(value_type = Option<StockStateName>)]
    pub state: Option<String>,
    /// Why (1–500 characters), kept in the ledger.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
    /// Apply only if the product is at this `version` (compare-and-set, as a
    /// cycle count against what the counter saw); otherwise nothing changes
    /// and the answer is 409 `conflict` with `current_version`.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub expected_version: Option<i64>,
}

/// Levels after an adjustment.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustmentView {
    /// Adjustment id.
    pub id: String,
    /// Product.
    pub product_code: String,
    /// Units on hand now.
    pub on_hand: i64,
    /// Units reserved.
    pub reserved: i64,
    /// Units available now.
    pub available: i64,
    /// Damaged units now (physically here, not sellable).
    pub damaged: i64,
    /// Product version now.
    pub version: i64,
}

/// Records a manual correction of on-hand or damaged stock (staff).
///
/// One of `delta` (units to add or remove; with `"state": "damaged"` to or
/// from the damaged quantity), `set_on_hand` (a counted quantity) or
/// `move_to_damaged` (units moved from `on_hand` to `damaged`; 422 when that
/// would leave `on_hand` below `reserved`). 422 `validation_failed` if
/// `on_hand` or `damaged` would go below 0; 409
/// `conflict` with `current_version` when `expected_version` is not the
/// product's version. Sends a `stock.changed` webhook to every channel that
/// sees the product. `Idempotency-Key` as for receipts.
#[utoipa::path(post, path = "/api/v1/stock/adjustments", tag = "stock", operation_id = "createAdjustment", request_body = AdjustmentBody,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
        description = "1–255 visible ASCII characters, scoped to the caller and this endpoint, kept 7 days (at least 24 h): \
            the same key with the same body gets the first answer (200, same id) and is applied once; \
            with another body, 409 conflict")),
    responses((status = 201, description = "Adjusted", body = AdjustmentView),
              (status = 200, description = "Adjusted before under this Idempotency-Key with the same body: the first answer", body = AdjustmentView),
              crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn adjustment(
    State(state): State<Arc<AppState>>,
    who: Principal,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AdjustmentBody>,
) -> ApiResult<(StatusCode, Json<AdjustmentView>)> {
    who.require_staff()?;
    let mut errors = Vec::new();
    let key = idempotency_key(&headers, &mut errors);
    code("product_code", &body.product_code, CODE_MAX, &mut errors);
    if body.expected_version.is_some_and(|v| v < 0) {
        errors.push(FieldError::new("expected_version", "must be >= 0"));
    }
    text("reason", &body.reason, 500, &mut errors);
    let change = adjustment_change(&body).map_err(|e| errors.push(e)).ok();
    valid(errors)?;
    let (change, field) = change.ok_or_else(|| ApiError::invalid("delta", "missing"))?;
    if state.store.get_product(&body.product_code).await?.is_none() {
        return Err(ApiError::invalid("product_code", "no such product"));
    }
    let code = std::slice::from_ref(&body.product_code);
    super::bundles::no_bundles(&state, code, |_| "product_code".into()).await?;
    let canonical = json!({"adjustment": {
        "product_code": body.product_code,
        "delta": body.delta,
        "set_on_hand": body.set_on_hand,
        "move_to_damaged": body.move_to_damaged,
        "state": body.state.as_deref().unwrap_or("sellable"),
        "reason": body.reason,
        "expected_version": body.expected_version,
    }});
    let (id, claim) = change_id("adj", &who, key.as_deref(), &canonical);
    let outcome = state
        .warehouse
        .adjust(
            &id,
            &body.product_code,
            change,
            &body.reason,
            body.expected_version,
            claim.as_deref(),
        )
        .await
        .map_err(|e| match e {
            agusto_workers::Error::Rejected(why) => ApiError::invalid(field, why),
            other => stock_error(other),
        })?;
    let l = outcome
        .levels
        .first()
        .ok_or_else(|| ApiError::Unavailable("adjustment gave no level".into()))?;
    let view = AdjustmentView {
        id,
        product_code: l.product_code.clone(),
        on_hand: l.on_hand,
        reserved: l.reserved,
        available: l.available(),
        damaged: l.damaged,
        version: l.version,
    };
    Ok((created_or_replayed(outcome.replayed), Json(view)))
}

/// The change an adjustment body asks for, and the field a refusal of it
/// names.
fn adjustment_change(
    body: &AdjustmentBody,
) -> Result<(AdjustmentChange, &'static str), FieldError> {
    let damaged = match body.state.as_deref() {
        None | Some("sellable") => false,
        Some("damaged") => true,
        Some(_) => return Err(FieldError::new("state", "must be sellable or damaged")),
    };
    match (body.delta, body.set_on_hand, body.move_to_damaged) {
        (Some(0), None, None) => Err(FieldError::new("delta", "must not be 0")),
        (Some(d), None, None) if damaged => Ok((AdjustmentChange::Damaged(d), "delta")),
        (Some(d), None, None) => Ok((AdjustmentChange::Delta(d), "delta")),
        _ if damaged => Err(FieldError::new(
            "state",
            "damaged applies to delta only (set_on_hand counts sellable units)",
        )),
        (None, Some(n), None) if n < 0 => Err(FieldError::new("set_on_hand", "must be >= 0")),
        (None, Some(n), None) => Ok((AdjustmentChange::SetOnHand(n), "set_on_hand")),
        (None, None, Some(n)) if n <= 0 => Err(FieldError::new("move_to_damaged", "must be > 0")),
        (None, None, Some(n)) => Ok((AdjustmentChange::MoveToDamaged(n), "move_to_damaged")),
        _ => Err(FieldError::new(
            "delta",
            "give exactly one of delta, set_on_hand and move_to_damaged",
        )),
    }
}
