//! Products and channel SKU mappings.

use std::sync::Arc;

use agusto_store::{Product, SkuMapping};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::channel_rules;
use super::views::{PageOf, ProductView};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, Params, code, text, valid};

/// Longest product code / SKU.
pub const CODE_MAX: usize = 64;

/// Body of `PUT /products/{product_code}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductBody {
    /// Display name (1–200 characters).
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Orderable and visible to channels.
    pub active: bool,
    /// Barcode (up to 64 characters).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64)]
    pub barcode: Option<String>,
    /// Makes the product a bundle (kit) of these plain products, with no
    /// stock of its own (up to 100, each once); `[]` makes it plain again;
    /// absent: unchanged. 422 for a bundle of bundles, an unknown product, or
    /// a product that has stock of its own.
    #[serde(default, deserialize_with = "crate::extract::opt_objects")]
    #[schema(max_items = 100)]
    pub components: Option<Vec<super::bundles::ComponentBody>>,
}

/// Creates or updates a product (staff).
///
/// A product is identified in the warehouse by its `product_code`; each channel
/// sees it under its own SKU (the product code unless the channel maps another).
/// Answers 201 when the product is new and 200 when it was updated. Inactive
/// products cannot be ordered and are hidden from channels. With
/// `components` the product is a bundle (kit): no stock of its own, its
/// figures derived from its components', an order line on it reserves
/// every component atomically with the rest of the order.
#[utoipa::path(put, path = "/api/v1/products/{product_code}", tag = "catalogue", operation_id = "putProduct",
    params(("product_code" = String, Path, min_length = 1, max_length = 64, description = "Warehouse product code")),
    request_body = ProductBody,
    responses((status = 200, description = "Updated", body = ProductView),
              (status = 201, description = "Created", body = ProductView), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn put_product(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(product_code): ApiPath<String>,
    ApiJson(body): ApiJson<ProductBody>,
) -> ApiResult<(StatusCode, Json<ProductView>)> {
    who.require_staff()?;
    let mut errors = Vec::new();
    code("product_code", &product_code, CODE_MAX, &mut errors);
    text("name", &body.name, 200, &mut errors);
    if let Some(b) = &body.barcode {
        code("barcode", b, 64, &mut errors);
    }
    valid(errors)?;
    let components = match &body.components {
        Some(c) => Some(super::bundles::checked(&state, &product_code, c).await?),
        None => None,
    };
    let product = Product {
        product_code: product_code.clone(),
        name: body.name,
        active: body.active,
        barcode: body.barcode,
        updated_at: agusto_schemas::now(),
    };
    let created = state.store.put_product(&product).await?;
    if let Some(parts) = &components {
        state.store.put_bundle(&product_code, parts).await?;
    }
    state.lookups.catalogue_changed();
    let parts = match components {
        Some(parts) => vec![parts],
        None => {
            let code = std::slice::from_ref(&product_code);
            state.lookups.components(state.store.as_ref(), code).await?
        }
    };
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut view = ProductView::new(product, product_code);
    view.components = parts
        .first()
        .filter(|p| !p.is_empty())
        .map(|p| super::bundles::component_views(p));
    Ok((status, Json(view)))
}

/// Lists products by product code.
///
/// Channels see active products under their own SKUs; staff see active ones,
/// or inactive ones with `active=false`. Pages hold up to `limit` products;
/// pass `next_cursor` as `cursor` for the next page (null on the last one).
#[utoipa::path(get, path = "/api/v1/products", tag = "catalogue", operation_id = "listProducts",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "1–1000, default 100"),
           ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
           ("active" = Option<bool>, Query, description = "false (staff): inactive products")),
    responses((status = 200, description = "A page of products", body = PageOf<ProductView>), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_products(
    State(state): State<Arc<AppState>>,
    who: Principal,
    params: Params,
) -> ApiResult<Json<PageOf<ProductView>>> {
    let limit = params.limit(100)?;
    let active = match (who.channel(), params.flag("active")?) {
        (Some(_), _) => true,
        (None, a) => a.unwrap_or(true),
    };
    let page = state
        .store
        .list_products(Some(active), params.cursor(), limit)
        .await?;
    let skus = match who.channel() {
        Some(c) => {
            let codes: Vec<String> = page.items.iter().map(|p| p.product_code.clone()).collect();
            state.store.skus_for(c, &codes).await?
        }
        None => page.items.iter().map(|p| p.product_code.clone()).collect(),
    };
    let codes: Vec<String> = page.items.iter().map(|p| p.product_code.clone()).collect();
    let parts = state
        .lookups
        .components(state.store.as_ref(), &codes)
        .await?;
    let items = page
        .items
        .into_iter()
        .zip(skus)
        .zip(parts)
        .map(|((p, sku), parts)| {
            let mut view = ProductView::new(p, sku);
            if !parts.is_empty() {
                view.components = Some(super::bundles::component_views(&parts));
            }
            view
        })
        .collect();
    Ok(Json(PageOf {
        items,
        next_cursor: page.next_cursor,
    }))
}

/// Body of `PUT /channels/{channel_id}/skus/{sku}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkuBody {
    /// The product the SKU means.
    #[schema(min_length = 1, max_length = 64)]
    pub product_code: String,
    /// Units held back from what the channel is shown as `available` for
    /// this product (≥ 0); replaces both the channel's `stock_buffer` and
    /// `stock_buffer_percent`. Absent or null: the channel's rule.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub stock_buffer: Option<i64>,
    /// The channel is never shown more than this as `available` for this
    /// product (≥ 0). Absent or null: no cap.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub stock_max: Option<i64>,
}

/// A channel's SKU mapping.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkuMappingView {
    /// Channel.
    pub channel_id: String,
    /// Channel SKU.
    pub sku: String,
    /// Product code.
    pub product_code: String,
    /// Units held back for this product (replaces the channel's buffers); null: the channel's rule.
    pub stock_buffer: Option<i64>,
    /// Most units the channel is shown for this product; null: no cap.
    pub stock_max: Option<i64>,
}

/// Maps a channel's SKU to a product (admin/staff).
///
/// From then on the channel orders, reads and receives webhooks for the
/// product under this SKU. Mapping the same SKU again moves it to another
/// product (and replaces its overrides). 404 for an unknown channel, 422 for
/// an unknown product. `stock_buffer` and `stock_max` override the channel's
/// stock rule for this product (what the channel is shown as `available`);
/// a change sends the channel a `stock.changed` with its new published value.
#[utoipa::path(put, path = "/api/v1/channels/{channel_id}/skus/{sku}", tag = "catalogue", operation_id = "putSkuMapping",
    params(("channel_id" = String, Path, description = "Channel id"),
           ("sku" = String, Path, min_length = 1, max_length = 64, description = "Channel SKU")),
    request_body = SkuBody,
    responses((status = 200, description = "Mapping stored", body = SkuMappingView), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn put_sku(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath((channel_id, sku)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<SkuBody>,
) -> ApiResult<Json<SkuMappingView>> {
    who.require_staff()?;
    let mut errors = Vec::new();
    code("sku", &sku, CODE_MAX, &mut errors);
    code("product_code", &body.product_code, CODE_MAX, &mut errors);
    let stock_rule = channel_rules::sku_rule(body.stock_buffer, body.stock_max, &mut errors);
    valid(errors)?;
    let Some(channel) = state.store.get_channel(&channel_id).await? else {
        return Err(ApiError::NotFound(format!("channel {channel_id}")));
    };
    if state.store.get_product(&body.product_code).await?.is_none() {
        return Err(ApiError::invalid("product_code", "no such product"));
    }
    // The products whose override for the channel this may change: the
    // one mapped now, and the one the SKU meant before.
    let mut touched = vec![body.product_code.clone()];
    if let Some(before) = state.store.resolve_sku(&channel_id, &sku).await?
        && before != body.product_code
    {
        touched.push(before);
    }
    let before = state.store.channel_skus(&channel_id, &touched).await?;
    let mapping = SkuMapping {
        channel_id,
        sku,
        product_code: body.product_code,
        stock_rule,
    };
    state.store.put_sku_mapping(&mapping).await?;
    state.lookups.catalogue_changed();
    let after = state
        .store
        .channel_skus(&mapping.channel_id, &touched)
        .await?;
    let revision = agusto_schemas::now().timestamp_micros().to_string();
    for ((code, b), a) in touched.iter().zip(&before).zip(&after) {
        if b.stock_rule != a.stock_rule {
            channel_rules::announce_sku_rule(&state, &channel, code, &revision).await?;
        }
    }
    Ok(Json(SkuMappingView {
        channel_id: mapping.channel_id,
        sku: mapping.sku,
        product_code: mapping.product_code,
        stock_buffer: stock_rule.stock_buffer,
        stock_max: stock_rule.stock_max,
    }))
}
