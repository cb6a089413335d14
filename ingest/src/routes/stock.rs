//! Stock: inventory reads, stock levels, receipts, adjustments, the ledger.

use std::collections::HashSet;
use std::sync::Arc;

use agusto_schemas::{AdjustmentChange, ProductQty, StockLevel};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::catalogue::CODE_MAX;
use super::views::{PageOf, StockView};
use crate::AppState;
use crate::auth::{Principal, new_id};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ApiJson, ApiPath, Params, code, text, valid};

/// Most SKUs per stock-levels call.
const MAX_SKUS: usize = 1000;

/// The product a caller means by `sku`, if it exists for them.
pub(crate) async fn resolve(
    state: &AppState,
    who: &Principal,
    sku: &str,
) -> ApiResult<Option<String>> {
    Ok(match who.channel() {
        Some(c) => state.store.resolve_sku(c, sku).await?,
        None => state.store.get_product(sku).await?.map(|p| p.product_code),
    })
}

/// Levels of `codes` (zeros for products without movements), under the caller's SKUs.
async fn views(state: &AppState, who: &Principal, codes: &[String]) -> ApiResult<Vec<StockView>> {
    let stored = state.store.stock_levels(codes).await?;
    let skus = match who.channel() {
        Some(c) => state.store.skus_for(c, codes).await?,
        None => codes.to_vec(),
    };
    let mut out = Vec::with_capacity(codes.len());
    for (code, sku) in codes.iter().zip(skus) {
        let level = match stored.iter().find(|l| &l.product_code == code) {
            Some(l) => l.clone(),
            None => {
                let at = state
                    .store
                    .get_product(code)
                    .await?
                    .map(|p| p.updated_at)
                    .unwrap_or_else(chrono::Utc::now);
                StockLevel::empty(code, at)
            }
        };
        out.push(StockView::new(&level, sku));
    }
    Ok(out)
}

/// Quantities of one SKU.
#[utoipa::path(get, path = "/api/v1/inventory/{sku}", tag = "stock",
    params(("sku" = String, Path, description = "The caller's SKU (product code for staff)")),
    responses((status = 200, description = "Quantities", body = StockView), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn inventory(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(sku): ApiPath<String>,
) -> ApiResult<Json<StockView>> {
    let code = resolve(&state, &who, &sku)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("sku {sku}")))?;
    let mut v = views(&state, &who, &[code]).await?;
    let mut view = v
        .pop()
        .ok_or_else(|| ApiError::NotFound(format!("sku {sku}")))?;
    view.sku = sku;
    Ok(Json(view))
}

/// Quantities of up to 1000 SKUs (`sku=A&sku=B`; unknown SKUs are left out),
/// or of every product changed since `updated_since` (paged).
#[utoipa::path(get, path = "/api/v1/stock-levels", tag = "stock",
    params(("sku" = Option<Vec<String>>, Query, max_items = 1000, description = "Repeat for several SKUs (max 1000)"),
           ("updated_since" = Option<String>, Query, format = DateTime, description = "RFC 3339; used when no sku is given"),
           ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "1–1000, default 100"),
           ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, description = "Quantities", body = PageOf<StockView>), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn stock_levels(
    State(state): State<Arc<AppState>>,
    who: Principal,
    params: Params,
) -> ApiResult<Json<PageOf<StockView>>> {
    let skus = params.all("sku");
    let limit = params.limit(100)?;
    if !skus.is_empty() {
        if skus.len() > MAX_SKUS {
            return Err(ApiError::invalid(
                "sku",
                format!("at most {MAX_SKUS} SKUs per call"),
            ));
        }
        let mut codes = Vec::with_capacity(skus.len());
        let mut named = Vec::with_capacity(skus.len());
        let mut seen = HashSet::new();
        for sku in skus {
            if !seen.insert(sku) {
                continue;
            }
            if let Some(code) = resolve(&state, &who, sku).await? {
                codes.push(code);
                named.push(sku.to_owned());
            }
        }
        let mut items = views(&state, &who, &codes).await?;
        for (v, sku) in items.iter_mut().zip(named) {
            v.sku = sku;
        }
        return Ok(Json(PageOf {
            items,
            next_cursor: None,
        }));
    }
    let Some(since) = params.timestamp("updated_since")? else {
        return Err(ApiError::invalid(
            "sku",
            "give sku=… (repeatable) or updated_since=<RFC 3339>",
        ));
    };
    let page = state
        .store
        .stock_updated_since(since, params.cursor(), limit)
        .await?;
    let codes: Vec<String> = page.items.iter().map(|l| l.product_code.clone()).collect();
    let skus = match who.channel() {
        Some(c) => state.store.skus_for(c, &codes).await?,
        None => codes,
    };
    let items = page
        .items
        .iter()
        .zip(skus)
        .map(|(l, sku)| StockView::new(l, sku))
        .collect();
    Ok(Json(PageOf {
        items,
        next_cursor: page.next_cursor,
    }))
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

/// Stock In (staff).
#[utoipa::path(post, path = "/api/v1/stock/receipts", tag = "stock", request_body = ReceiptBody,
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

/// Manual correction of on-hand (staff). 422 if it would go below 0.
#[utoipa::path(post, path = "/api/v1/stock/adjustments", tag = "stock", request_body = AdjustmentBody,
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

/// The kinds of ledger rows, for the OpenAPI document.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum MovementKindName {
    /// Stock In.
    Receipt,
    /// Manual correction.
    Adjustment,
    /// Held for an order.
    Reserve,
    /// Hold released (cancelled or expired order).
    Release,
    /// Dispatched.
    StockOut,
}

/// One ledger row.
#[derive(Debug, Serialize, ToSchema)]
pub struct MovementView {
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// `receipt`, `adjustment`, `reserve`, `release` or `stock_out`.
    #[schema(value_type = MovementKindName)]
    pub kind: String,
    /// Change of on-hand.
    pub delta_on_hand: i64,
    /// Change of reserved.
    pub delta_reserved: i64,
    /// Receipt reference, adjustment reason, order id or tracking number.
    pub reference: String,
    /// Product version after the movement.
    pub version: i64,
}

/// The movement ledger of a product, oldest first (staff).
#[utoipa::path(get, path = "/api/v1/inventory/{sku}/movements", tag = "stock",
    params(("sku" = String, Path, description = "Product code"),
           ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "1–1000, default 100"),
           ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, description = "Ledger rows", body = PageOf<MovementView>), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn movements(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(sku): ApiPath<String>,
    params: Params,
) -> ApiResult<Json<PageOf<MovementView>>> {
    who.require_staff()?;
    let limit = params.limit(100)?;
    let code = resolve(&state, &who, &sku)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("sku {sku}")))?;
    let page = state.store.movements(&code, params.cursor(), limit).await?;
    let items = page
        .items
        .into_iter()
        .map(|m| MovementView {
            at: m.at,
            kind: m.kind.as_str().to_owned(),
            delta_on_hand: m.delta_on_hand,
            delta_reserved: m.delta_reserved,
            reference: m.reference,
            version: m.version,
        })
        .collect();
    Ok(Json(PageOf {
        items,
        next_cursor: page.next_cursor,
    }))
}
