//! Products and channel SKU mappings.

use rusqlite::{Connection, OptionalExtension, Row, ToSql, params};

use super::codec::{cursor, cursor_payload, fetch_size, micros, page, time};
use agusto_schemas::SkuStockRule;

use crate::{ChannelSku, Page, Product, Result, SkuMapping};

/// Cursor tag of `list_products`; the payload is the last product code.
const PRODUCTS: &str = "p";

const PRODUCT_COLUMNS: &str = "product_code, name, active, barcode, updated_at";

fn product(row: &Row<'_>) -> Result<Product> {
    Ok(Product {
        product_code: row.get(0)?,
        name: row.get(1)?,
        active: row.get(2)?,
        barcode: row.get(3)?,
        updated_at: time(row.get(4)?)?,
    })
}

/// Upserts a product; true when it was new.
pub(crate) fn put_product(conn: &Connection, p: &Product) -> Result<bool> {
    let existed = conn
        .prepare_cached("SELECT 1 FROM products WHERE product_code = ?1")?
        .exists([&p.product_code])?;
    conn.prepare_cached(
        "INSERT INTO products (product_code, name, active, barcode, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (product_code) DO UPDATE SET
             name = excluded.name, active = excluded.active,
             barcode = excluded.barcode, updated_at = excluded.updated_at",
    )?
    .execute(params![
        p.product_code,
        p.name,
        p.active,
        p.barcode,
        micros(&p.updated_at)
    ])?;
    Ok(!existed)
}

/// One product.
pub(crate) fn get_product(conn: &Connection, code: &str) -> Result<Option<Product>> {
    let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE product_code = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query_and_then([code], product)?;
    rows.next().transpose()
}

/// A page of products by code, optionally only (in)active ones.
pub(crate) fn list_products(
    conn: &Connection,
    active: Option<bool>,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Product>> {
    let after = after.map(|c| cursor_payload(PRODUCTS, c)).transpose()?;
    let fetch = fetch_size(limit);
    let mut sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE 1 = 1");
    let mut args: Vec<&dyn ToSql> = Vec::with_capacity(3);
    if let Some(active) = &active {
        sql.push_str(" AND active = ?");
        args.push(active);
    }
    if let Some(code) = &after {
        sql.push_str(" AND product_code > ?");
        args.push(code);
    }
    sql.push_str(" ORDER BY product_code LIMIT ?");
    args.push(&fetch);
    let rows = conn
        .prepare_cached(&sql)?
        .query_and_then(args.as_slice(), product)?
        .collect::<Result<Vec<_>>>()?;
    Ok(page(rows, limit, |p| cursor(PRODUCTS, &p.product_code)))
}

/// Maps a channel SKU to a product, replacing the SKU's earlier mapping.
pub(crate) fn put_sku_mapping(conn: &Connection, m: &SkuMapping) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sku_mappings (channel_id, sku, product_code, stock_buffer, stock_max)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (channel_id, sku) DO UPDATE SET product_code = excluded.product_code,
             stock_buffer = excluded.stock_buffer, stock_max = excluded.stock_max",
    )?
    .execute(params![
        m.channel_id,
        m.sku,
        m.product_code,
        m.stock_rule.stock_buffer,
        m.stock_rule.stock_max
    ])?;
    Ok(())
}

/// The product a channel means by `sku` (see [`crate::Store::resolve_sku`]).
pub(crate) fn resolve_sku(conn: &Connection, channel: &str, sku: &str) -> Result<Option<String>> {
    let mapped: Option<String> = conn
        .prepare_cached("SELECT product_code FROM sku_mappings WHERE channel_id = ?1 AND sku = ?2")?
        .query_row([channel, sku], |r| r.get(0))
        .optional()?;
    if mapped.is_some() {
        return Ok(mapped);
    }
    let by_code: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM products WHERE product_code = ?2)
                AND NOT EXISTS (SELECT 1 FROM sku_mappings
                                WHERE channel_id = ?1 AND product_code = ?2)",
        )?
        .query_row([channel, sku], |r| r.get(0))?;
    Ok(by_code.then(|| sku.to_owned()))
}

/// Each product's SKU for a channel, in input order: the smallest mapped SKU,
/// else the product code.
pub(crate) fn skus_for(conn: &Connection, channel: &str, codes: &[String]) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT MIN(sku) FROM sku_mappings WHERE channel_id = ?1 AND product_code = ?2",
    )?;
    codes
        .iter()
        .map(|code| {
            let sku: Option<String> = stmt.query_row([channel, code.as_str()], |r| r.get(0))?;
            Ok(sku.unwrap_or_else(|| code.clone()))
        })
        .collect()
}

/// Each product's SKU for a channel with the mapping's stock-rule override,
/// in input order: the smallest mapped SKU, else the product code (no override).
pub(crate) fn channel_skus(
    conn: &Connection,
    channel: &str,
    codes: &[String],
) -> Result<Vec<ChannelSku>> {
    // One read transaction for all codes: one shared lock, not one per query.
    let tx = conn.unchecked_transaction()?;
    let mut stmt = tx.prepare_cached(
        "SELECT sku, stock_buffer, stock_max FROM sku_mappings
         WHERE channel_id = ?1 AND product_code = ?2 ORDER BY sku LIMIT 1",
    )?;
    let skus = codes
        .iter()
        .map(|code| {
            let found = stmt
                .query_row([channel, code.as_str()], |r| {
                    Ok(ChannelSku {
                        sku: r.get(0)?,
                        stock_rule: SkuStockRule {
                            stock_buffer: r.get(1)?,
                            stock_max: r.get(2)?,
                        },
                    })
                })
                .optional()?;
            Ok(found.unwrap_or_else(|| ChannelSku {
                sku: code.clone(),
                stock_rule: SkuStockRule::default(),
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    drop(stmt);
    tx.commit()?;
    Ok(skus)
}
