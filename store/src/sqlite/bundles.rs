//! Bundles: each bundle's components (`bundle_components`), found by bundle
//! and by component.

use agusto_schemas::ProductQty;
use rusqlite::{Connection, Transaction, params};

use crate::Result;

/// Replaces the components of `bundle`.
pub(crate) fn put(tx: &Transaction<'_>, bundle: &str, components: &[ProductQty]) -> Result<()> {
    tx.prepare_cached("DELETE FROM bundle_components WHERE bundle = ?1")?
        .execute([bundle])?;
    let mut put = tx.prepare_cached(
        "INSERT INTO bundle_components (bundle, component, quantity) VALUES (?1, ?2, ?3)",
    )?;
    for c in components {
        put.execute(params![bundle, c.product_code, c.quantity])?;
    }
    Ok(())
}

/// The components of those of `codes` that are bundles.
pub(crate) fn components(
    conn: &Connection,
    codes: &[String],
) -> Result<Vec<(String, Vec<ProductQty>)>> {
    // One read transaction for all codes: one shared lock, not one per query.
    let tx = conn.unchecked_transaction()?;
    let mut stmt = tx.prepare_cached(
        "SELECT component, quantity FROM bundle_components WHERE bundle = ?1 ORDER BY component",
    )?;
    let mut out = Vec::new();
    for code in codes {
        let parts: Vec<ProductQty> = stmt
            .query_map([code], |r| {
                Ok(ProductQty {
                    product_code: r.get(0)?,
                    quantity: r.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        if !parts.is_empty() && !out.iter().any(|(b, _): &(String, _)| b == code) {
            out.push((code.clone(), parts));
        }
    }
    drop(stmt);
    tx.commit()?;
    Ok(out)
}

/// The bundles `component` is part of.
pub(crate) fn containing(conn: &Connection, component: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT bundle FROM bundle_components WHERE component = ?1 ORDER BY bundle",
    )?;
    let rows = stmt.query_map([component], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
