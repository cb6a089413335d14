//! Stock reads: inventory, stock levels, the ledger (writes: `stock_changes`).

use std::collections::HashSet;
use std::sync::Arc;

use agusto_schemas::StockLevel;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::channel_rules;
use super::views::{PageOf, StockView};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, Params};

/// Most SKUs per stock-levels call.
const MAX_SKUS: usize = 1000;

/// The product a caller means by `sku`, if it exists for them.
pub(crate) async fn resolve(
    state: &AppState,
    who: &Principal,
    sku: &str,
) -> ApiResult<Option<String>> {
    Ok(match who.channel() {
        Some(c) => state.lookups.sku(state.store.as_ref(), c, sku).await?,
        None => state
            .lookups
            .product(state.store.as_ref(), sku)
            .await?
            .map(|p| p.product_code),
    })
}

/// Levels of `codes` (zeros for products without movements), under the
/// SKUs the caller named them by (`skus`, one per code), with `available`
/// as the caller is shown it ([`channel_rules::publish`]).
async fn views(
    state: &AppState,
    who: &Principal,
    codes: &[String],
    skus: Vec<String>,
) -> ApiResult<Vec<StockView>> {
    let mut stored: std::collections::HashMap<String, StockLevel> = state
        .warehouse
        .stock_levels(codes)
        .await?
        .into_iter()
        .map(|l| (l.product_code.clone(), l))
        .collect();
    let mut out = Vec::with_capacity(codes.len());
    for (code, sku) in codes.iter().zip(skus) {
        let level = match stored.remove(code) {
            Some(l) => l,
            None => {
                let at = state
                    .lookups
                    .product(state.store.as_ref(), code)
                    .await?
                    .map(|p| p.updated_at)
                    .unwrap_or_else(chrono::Utc::now);
                StockLevel::empty(code, at)
            }
        };
        out.push(StockView::new(&level, sku));
    }
    super::bundles::derive(state, codes, &mut out).await?;
    channel_rules::publish(state, who, codes, &mut out).await?;
    Ok(out)
}

/// Quantities of one SKU.
///
/// `on_hand` is physically in the warehouse, `reserved` is held by open
/// orders, `available = on_hand - reserved` (never below 0); `version` grows
/// with every change. A channel names the product by its own SKU, and is
/// shown its *published* `available`: what its stock rule and the SKU's
/// override leave after holding units back (staff see the real figure). 404
/// when the SKU is unknown to the caller.
#[utoipa::path(get, path = "/api/v1/inventory/{sku}", tag = "stock", operation_id = "getInventory",
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
    let mut v = views(&state, &who, &[code], vec![sku.clone()]).await?;
    let view = v
        .pop()
        .ok_or_else(|| ApiError::NotFound(format!("sku {sku}")))?;
    Ok(Json(view))
}

/// Quantities of many SKUs, or of every product changed since a time.
///
/// Either up to 1000 SKUs (`sku=A&sku=B`; unknown SKUs are left out, one
/// page), or `updated_since=<RFC 3339>` for every product changed since then,
/// paged with `limit` and `cursor` (the way a storefront keeps its stock in sync).
/// A channel is shown its published `available` (see `getInventory`).
#[utoipa::path(get, path = "/api/v1/stock-levels", tag = "stock", operation_id = "getStockLevels",
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
    // Checked even when `sku` takes precedence: a malformed value is a 400, never ignored.
    let since = params.timestamp("updated_since")?;
    if !skus.is_empty() {
        if skus.len() > MAX_SKUS {
            return Err(ApiError::invalid(
                "sku",
                format!("at most {MAX_SKUS} SKUs per call"),
            ));
        }
        let mut seen = HashSet::new();
        let unique: Vec<String> = skus
            .into_iter()
            .filter(|s| seen.insert(*s))
            .map(str::to_owned)
            .collect();
        let found = match who.channel() {
            Some(c) => {
                let store = state.store.as_ref();
                state.lookups.skus(store, c, &unique).await?
            }
            None => {
                let mut found = Vec::with_capacity(unique.len());
                for sku in &unique {
                    found.push(resolve(&state, &who, sku).await?);
                }
                found
            }
        };
        let (codes, named): (Vec<String>, Vec<String>) = found
            .into_iter()
            .zip(unique)
            .filter_map(|(code, sku)| code.map(|c| (c, sku)))
            .unzip();
        let items = views(&state, &who, &codes, named).await?;
        return Ok(Json(PageOf {
            items,
            next_cursor: None,
        }));
    }
    let Some(since) = since else {
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
        None => codes.clone(),
    };
    let mut items: Vec<StockView> = page
        .items
        .iter()
        .zip(skus)
        .map(|(l, sku)| StockView::new(l, sku))
        .collect();
    channel_rules::publish(&state, &who, &codes, &mut items).await?;
    Ok(Json(PageOf {
        items,
        next_cursor: page.next_cursor,
    }))
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
    /// Returned units put back on the shelf.
    Return,
    /// Returned units that came back damaged.
    ReturnDamaged,
}

/// One ledger row.
#[derive(Debug, Serialize, ToSchema)]
pub struct MovementView {
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// `receipt`, `adjustment`, `reserve`, `release`, `stock_out`, `return`
    /// or `return_damaged`.
    #[schema(value_type = MovementKindName)]
    pub kind: String,
    /// Change of on-hand.
    pub delta_on_hand: i64,
    /// Change of reserved.
    pub delta_reserved: i64,
    /// Change of damaged (adjustments of damaged stock, moves to damaged,
    /// returns received damaged).
    pub delta_damaged: i64,
    /// Receipt reference, adjustment reason, order id or tracking number.
    pub reference: String,
    /// Product version after the movement.
    pub version: i64,
}

/// The movement ledger of a product, oldest first (staff).
///
/// One row per change of `on_hand`, `reserved` or `damaged`: receipts,
/// adjustments, reservations, releases, stock-outs and returns, each with the product's `version`
/// after it. Paged with `limit` and `cursor`.
#[utoipa::path(get, path = "/api/v1/inventory/{sku}/movements", tag = "stock", operation_id = "listMovements",
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
            delta_damaged: m.delta_damaged,
            reference: m.reference,
            version: m.version,
        })
        .collect();
    Ok(Json(PageOf {
        items,
        next_cursor: page.next_cursor,
    }))
}
