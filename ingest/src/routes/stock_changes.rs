//! Stock In (receipts) and manual adjustments (staff): the writes of stock.

use std::collections::HashSet;
use std::sync::Arc;

use agusto_schemas::{AdjustmentChange, ProductQty};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::catalogue::CODE_MAX;
use crate::AppState;
use crate::auth::{Principal, new_id};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ApiJson, code, text, valid};

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
#[utoipa::path(post, path = "/api/v1/stock/receipts", tag = "stock", operation_id = "createReceipt", request_body = ReceiptBody,
    responses((status = 201, description = "Received", body = ReceiptView), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn receipt(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiJson(body): ApiJson<ReceiptBody>,
) -> ApiResult<(StatusCode, Json<ReceiptView>)> {
    who.require_staff()?;
    let mut errors = Vec::new();
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
    let id = new_id("rcpt");
    let lines: Vec<ProductQty> = body
        .lines
        .iter()
        .map(|l| ProductQty {
            product_code: l.product_code.clone(),
            quantity: l.quantity,
        })
        .collect();
    let levels = state
        .warehouse
        .receive(&id, &body.reference, &lines)
        .await
        .map_err(stock_error)?;
    let lines = levels
        .iter()
        .map(|l| ReceiptLineView {
            product_code: l.product_code.clone(),
            on_hand: l.on_hand,
            available: l.available(),
            version: l.version,
        })
        .collect();
    Ok((StatusCode::CREATED, Json(ReceiptView { id, lines })))
}

fn stock_error(e: agusto_workers::Error) -> ApiError {
    match e {
        agusto_workers::Error::Rejected(why) => ApiError::invalid("lines", why),
        agusto_workers::Error::Unavailable(why) => ApiError::Unavailable(why),
        agusto_workers::Error::Pending => {
            ApiError::Unavailable("stock writer did not answer in time".into())
        }
    }
}

/// Body of `POST /stock/adjustments`: exactly one of `delta` and `set_on_hand`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentBody {
    /// Product adjusted.
    #[schema(min_length = 1, max_length = 64)]
    pub product_code: String,
    /// Units to add (negative: remove); not 0.
    #[serde(default)]
    pub delta: Option<i64>,
    /// Counted on-hand (≥ 0).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub set_on_hand: Option<i64>,
    /// Why (1–500 characters), kept in the ledger.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
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
    /// Product version now.
    pub version: i64,
}

/// Records a manual correction of on-hand (staff).
///
/// Either `delta` (units to add or remove) or `set_on_hand` (a counted
/// quantity). 422 `validation_failed` if `on_hand` would go below 0. Sends a
/// `stock.changed` webhook to every channel that sees the product.
#[utoipa::path(post, path = "/api/v1/stock/adjustments", tag = "stock", operation_id = "createAdjustment", request_body = AdjustmentBody,
    responses((status = 201, description = "Adjusted", body = AdjustmentView), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn adjustment(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiJson(body): ApiJson<AdjustmentBody>,
) -> ApiResult<(StatusCode, Json<AdjustmentView>)> {
    who.require_staff()?;
    let mut errors = Vec::new();
    code("product_code", &body.product_code, CODE_MAX, &mut errors);
    text("reason", &body.reason, 500, &mut errors);
    let change = match (body.delta, body.set_on_hand) {
        (Some(0), None) => Err(FieldError::new("delta", "must not be 0")),
        (Some(d), None) => Ok(AdjustmentChange::Delta(d)),
        (None, Some(n)) if n < 0 => Err(FieldError::new("set_on_hand", "must be >= 0")),
        (None, Some(n)) => Ok(AdjustmentChange::SetOnHand(n)),
        _ => Err(FieldError::new(
            "delta",
            "give exactly one of delta and set_on_hand",
        )),
    };
    let change = change.map_err(|e| errors.push(e)).ok();
    valid(errors)?;
    let change = change.ok_or_else(|| ApiError::invalid("delta", "missing"))?;
    if state.store.get_product(&body.product_code).await?.is_none() {
        return Err(ApiError::invalid("product_code", "no such product"));
    }
    let id = new_id("adj");
    let field = if body.delta.is_some() {
        "delta"
    } else {
        "set_on_hand"
    };
    let l = state
        .warehouse
        .adjust(&id, &body.product_code, change, &body.reason)
        .await
        .map_err(|e| match e {
            agusto_workers::Error::Rejected(why) => ApiError::invalid(field, why),
            other => stock_error(other),
        })?;
    let view = AdjustmentView {
        id,
        product_code: l.product_code.clone(),
        on_hand: l.on_hand,
        reserved: l.reserved,
        available: l.available(),
        version: l.version,
    };
    Ok((StatusCode::CREATED, Json(view)))
}
