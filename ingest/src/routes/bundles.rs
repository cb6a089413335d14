//! Bundles (kits) at the edge: the components a `PUT /products` may carry,
//! checked (plain, existing products; no bundle of bundles; no stock of the
//! bundle's own), and a bundle's figures derived from its components.

use std::collections::HashSet;

use agusto_schemas::{OrderLine, ProductQty, Shortage, StockLevel, bundle_stock};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::catalogue::CODE_MAX;
use super::views::StockView;
use crate::AppState;
use crate::error::{ApiError, ApiResult, FieldError, ShortageBody};
use crate::extract::{code, valid};

/// Most components of one bundle.
const MAX_COMPONENTS: usize = 100;

/// One component of a bundle: a plain product and how many of it one
/// bundle holds.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentBody {
    /// A plain product (not a bundle).
    #[schema(min_length = 1, max_length = 64)]
    pub product_code: String,
    /// Units of it per bundle (> 0).
    #[schema(minimum = 1)]
    pub quantity: i64,
}

/// The components `body` names for product `bundle`, checked: each an
/// existing plain product other than the bundle, once, quantity > 0; the
/// bundle itself no component of another bundle and without stock of its
/// own. An empty list makes the product plain again.
pub(crate) async fn checked(
    state: &AppState,
    bundle: &str,
    body: &[ComponentBody],
) -> ApiResult<Vec<ProductQty>> {
    let mut errors = Vec::new();
    if body.len() > MAX_COMPONENTS {
        errors.push(FieldError::new(
            "components",
            format!("at most {MAX_COMPONENTS} components"),
        ));
    }
    let mut seen = HashSet::new();
    for (i, c) in body.iter().enumerate() {
        let field = format!("components[{i}].product_code");
        code(&field, &c.product_code, CODE_MAX, &mut errors);
        if c.quantity <= 0 {
            errors.push(FieldError::new(
                format!("components[{i}].quantity"),
                "must be > 0",
            ));
        }
        if c.product_code == bundle {
            errors.push(FieldError::new(&field, "a bundle cannot contain itself"));
        } else if !seen.insert(c.product_code.as_str()) {
            errors.push(FieldError::new(&field, "duplicate component"));
        }
    }
    valid(errors)?;
    let mut errors = Vec::new();
    let codes: Vec<String> = body.iter().map(|c| c.product_code.clone()).collect();
    let nested = state.store.bundle_components(&codes).await?;
    for (i, c) in body.iter().enumerate() {
        let field = format!("components[{i}].product_code");
        if state.store.get_product(&c.product_code).await?.is_none() {
            errors.push(FieldError::new(field, "no such product"));
        } else if nested.iter().any(|(b, _)| *b == c.product_code) {
            errors.push(FieldError::new(field, "is a bundle (no bundle of bundles)"));
        }
    }
    if !body.is_empty() {
        if !state.store.bundles_containing(bundle).await?.is_empty() {
            errors.push(FieldError::new(
                "components",
                "this product is a component of a bundle (no bundle of bundles)",
            ));
        }
        let own = state.store.stock_levels(&[bundle.to_owned()]).await?;
        if own
            .iter()
            .any(|l| l.on_hand != 0 || l.reserved != 0 || l.damaged != 0)
        {
            errors.push(FieldError::new(
                "components",
                "this product has stock of its own; a bundle has none",
            ));
        }
    }
    valid(errors)?;
    Ok(body
        .iter()
        .map(|c| ProductQty {
            product_code: c.product_code.clone(),
            quantity: c.quantity,
        })
        .collect())
}

/// Components as the API shows them.
pub(crate) fn component_views(parts: &[ProductQty]) -> Vec<ComponentBody> {
    parts
        .iter()
        .map(|p| ComponentBody {
            product_code: p.product_code.clone(),
            quantity: p.quantity,
        })
        .collect()
}

/// Rejects stock changes of bundles (they have no stock of their own):
/// the field of the first line naming one, with why.
pub(crate) async fn no_bundles(
    state: &AppState,
    codes: &[String],
    field: impl Fn(usize) -> String,
) -> ApiResult<()> {
    let parts = state
        .lookups
        .components(state.store.as_ref(), codes)
        .await?;
    let errors: Vec<FieldError> = parts
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_empty())
        .map(|(i, _)| FieldError::new(field(i), "is a bundle: it has no stock of its own"))
        .collect();
    valid(errors)
}

/// `views` (one per code of `codes`) with each bundle's figures derived
/// from its components' levels.
pub(crate) async fn derive(
    state: &AppState,
    codes: &[String],
    views: &mut [StockView],
) -> ApiResult<()> {
    let parts = state
        .lookups
        .components(state.store.as_ref(), codes)
        .await?;
    if parts.iter().all(Vec::is_empty) {
        return Ok(());
    }
    let mut wanted: Vec<String> = parts
        .iter()
        .flatten()
        .map(|p| p.product_code.clone())
        .collect();
    wanted.sort();
    wanted.dedup();
    let levels: Vec<StockLevel> = state.warehouse.stock_levels(&wanted).await?;
    for (view, parts) in views.iter_mut().zip(parts) {
        if parts.is_empty() {
            continue;
        }
        let b = bundle_stock(&parts, &levels, view.updated_at);
        view.on_hand = b.on_hand;
        view.reserved = 0;
        view.available = b.available;
        view.damaged = 0;
        view.version = b.version;
        view.updated_at = b.updated_at;
        view.components = Some(component_views(&parts));
    }
    Ok(())
}

/// Fills in the components each bundle line holds (the bundle's quantity
/// of each × the line's quantity).
pub(crate) async fn expand(state: &AppState, lines: &mut [OrderLine]) -> ApiResult<()> {
    let codes: Vec<String> = lines.iter().map(|l| l.product_code.clone()).collect();
    let parts = state
        .lookups
        .components(state.store.as_ref(), &codes)
        .await?;
    for (i, (line, parts)) in lines.iter_mut().zip(parts).enumerate() {
        let mut held = Vec::with_capacity(parts.len());
        for p in parts {
            let Some(quantity) = p.quantity.checked_mul(line.quantity) else {
                return Err(ApiError::invalid(
                    format!("lines[{i}].quantity"),
                    "too many units of the bundle's components",
                ));
            };
            held.push(ProductQty {
                product_code: p.product_code,
                quantity,
            });
        }
        line.components = held;
    }
    Ok(())
}

/// The writer's shortages (per product held) as the order's lines name
/// them: a bundle line by its SKU, in bundles (`available` is how many of
/// the bundle its short component still makes), a plain line by its SKU
/// with the units the bundle lines of the order leave it.
pub(crate) fn shortages(lines: &[OrderLine], short: &[Shortage]) -> Vec<ShortageBody> {
    let mut out: Vec<ShortageBody> = Vec::new();
    let mut add = |b: ShortageBody| match out.iter_mut().find(|o| o.sku == b.sku) {
        Some(o) => o.available = o.available.min(b.available),
        None => out.push(b),
    };
    for s in short {
        let in_bundles: i64 = lines
            .iter()
            .flat_map(|l| &l.components)
            .filter(|c| c.product_code == s.product_code)
            .map(|c| c.quantity)
            .sum();
        let mut named = false;
        for l in lines {
            if l.components.is_empty() && l.product_code == s.product_code {
                named = true;
                add(ShortageBody {
                    sku: l.sku.clone(),
                    requested: s.requested - in_bundles,
                    available: s.available,
                });
            } else if let Some(c) = l
                .components
                .iter()
                .find(|c| c.product_code == s.product_code)
            {
                named = true;
                let per = (c.quantity / l.quantity.max(1)).max(1);
                add(ShortageBody {
                    sku: l.sku.clone(),
                    requested: l.quantity,
                    available: s.available / per,
                });
            }
        }
        if !named {
            add(ShortageBody {
                sku: s.product_code.clone(),
                requested: s.requested,
                available: s.available,
            });
        }
    }
    out
}
