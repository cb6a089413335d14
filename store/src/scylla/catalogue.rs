//! Products and channel SKU mappings.
//!
//! Catalogue writes come from staff and admin requests, not from a
//! partition writer: each is a read of the previous row followed by one
//! logged batch (the row and its query-table rows). Two concurrent edits of
//! the same product or SKU end with the later one's values in every table
//! (write timestamps order them) except that a query-table row of the lost
//! edit's old key may be left behind; listings re-check rows against the
//! base table where that matters. Neither is on the hot path, so no LWT.

use agusto_schemas::{SkuStockRule, Timestamp};

use super::Inner;
use super::codec::{
    at, boolean, cursor, cursor_payload, fetch_size, limit, merge_sorted, opt_big, opt_text, page,
    required, text, time,
};
use super::statements::Stmt;
use crate::{ChannelSku, Page, Product, Result, SkuMapping};

/// Cursor tag of `list_products`; the payload is the last product code.
const PRODUCTS: &str = "p";

/// A product row: (code, name, active, barcode, updated_at).
type ProductRow = (
    String,
    Option<String>,
    Option<bool>,
    Option<String>,
    Option<i64>,
);

fn product_of(row: ProductRow) -> Result<Product> {
    let (product_code, name, active, barcode, updated_at) = row;
    Ok(Product {
        product_code,
        name: required(name, "product name")?,
        active: required(active, "product active")?,
        barcode,
        updated_at: time(required(updated_at, "product updated_at")?)?,
    })
}

impl Inner {
    /// Upserts a product; true when it was new.
    pub(crate) async fn put_product(&self, p: &Product) -> Result<bool> {
        let old = self.get_product(&p.product_code).await?;
        let updated: &Timestamp = &p.updated_at;
        let mut ops = vec![
            (
                Stmt::PutProduct,
                vec![
                    text(&p.product_code),
                    text(&p.name),
                    boolean(p.active),
                    opt_text(p.barcode.as_deref()),
                    at(updated),
                ],
            ),
            (
                Stmt::PutProductListed,
                vec![
                    boolean(p.active),
                    text(&p.product_code),
                    text(&p.name),
                    opt_text(p.barcode.as_deref()),
                    at(updated),
                ],
            ),
        ];
        if let Some(old) = old.as_ref().filter(|o| o.active != p.active) {
            ops.push((
                Stmt::DelProductListed,
                vec![boolean(old.active), text(&p.product_code)],
            ));
        }
        self.batch(ops).await?;
        Ok(old.is_none())
    }

    /// One product.
    pub(crate) async fn get_product(&self, code: &str) -> Result<Option<Product>> {
        self.row::<ProductRow>(Stmt::GetProduct, vec![text(code)])
            .await?
            .map(product_of)
            .transpose()
    }

    /// A page of products by code, optionally only (in)active ones: the
    /// `active` partition asked, or both merged.
    pub(crate) async fn list_products(
        &self,
        active: Option<bool>,
        after: Option<&str>,
        want: usize,
    ) -> Result<Page<Product>> {
        let after = after.map(|c| cursor_payload(PRODUCTS, c)).transpose()?;
        let fetch = fetch_size(want);
        let partitions: Vec<bool> = active.map_or_else(|| vec![false, true], |a| vec![a]);
        let reads = partitions.iter().map(|a| {
            let (stmt, values) = match after {
                Some(code) => (
                    Stmt::ListProductsAfter,
                    vec![boolean(*a), text(code), limit(fetch)],
                ),
                None => (Stmt::ListProducts, vec![boolean(*a), limit(fetch)]),
            };
            self.rows::<ProductRow>(stmt, values)
        });
        let parts = futures::future::try_join_all(reads)
            .await?
            .into_iter()
            .map(|rows| rows.into_iter().map(product_of).collect::<Result<Vec<_>>>())
            .collect::<Result<Vec<_>>>()?;
        let rows = merge_sorted(parts, |p| p.product_code.clone(), fetch);
        Ok(page(rows, want, |p| cursor(PRODUCTS, &p.product_code)))
    }

    /// Maps a channel SKU to a product, replacing the SKU's earlier mapping
    /// (and its reverse row).
    pub(crate) async fn put_sku_mapping(&self, m: &SkuMapping) -> Result<()> {
        let old = self
            .row::<(Option<String>,)>(Stmt::GetSkuMapping, vec![text(&m.channel_id), text(&m.sku)])
            .await?
            .and_then(|(p,)| p);
        let mut ops = vec![
            (
                Stmt::PutSkuMapping,
                vec![
                    text(&m.channel_id),
                    text(&m.sku),
                    text(&m.product_code),
                    opt_big(m.stock_rule.stock_buffer),
                    opt_big(m.stock_rule.stock_max),
                ],
            ),
            (
                Stmt::PutSkuByProduct,
                vec![
                    text(&m.channel_id),
                    text(&m.product_code),
                    text(&m.sku),
                    opt_big(m.stock_rule.stock_buffer),
                    opt_big(m.stock_rule.stock_max),
                ],
            ),
        ];
        if let Some(old) = old.filter(|p| *p != m.product_code) {
            ops.push((
                Stmt::DelSkuByProduct,
                vec![text(&m.channel_id), text(&old), text(&m.sku)],
            ));
        }
        self.batch(ops).await
    }

    /// The product a channel means by `sku` (see [`crate::Store::resolve_sku`]).
    pub(crate) async fn resolve_sku(&self, channel: &str, sku: &str) -> Result<Option<String>> {
        let mapped = self
            .row::<(Option<String>,)>(Stmt::GetSkuMapping, vec![text(channel), text(sku)])
            .await?
            .and_then(|(p,)| p);
        if mapped.is_some() {
            return Ok(mapped);
        }
        let exists = async { Ok::<_, crate::Error>(self.get_product(sku).await?.is_some()) };
        let (product, other_sku) = futures::try_join!(exists, self.first_sku(channel, sku))?;
        Ok((product && other_sku.is_none()).then(|| sku.to_owned()))
    }

    /// Each product's SKU for a channel, in input order: the smallest mapped
    /// SKU, else the product code.
    pub(crate) async fn skus_for(&self, channel: &str, codes: &[String]) -> Result<Vec<String>> {
        let reads = codes.iter().map(|code| async move {
            Ok::<_, crate::Error>(
                self.first_sku(channel, code)
                    .await?
                    .unwrap_or_else(|| code.clone()),
            )
        });
        futures::future::try_join_all(reads).await
    }

    /// Each product's SKU for a channel with the mapping's stock-rule
    /// override, in input order: the smallest mapped SKU, else the product
    /// code (no override).
    pub(crate) async fn channel_skus(
        &self,
        channel: &str,
        codes: &[String],
    ) -> Result<Vec<ChannelSku>> {
        let reads = codes.iter().map(|code| async move {
            let row = self
                .row::<(String, Option<i64>, Option<i64>)>(
                    Stmt::FirstSkuRuleOfProduct,
                    vec![text(channel), text(code)],
                )
                .await?;
            Ok::<_, crate::Error>(match row {
                Some((sku, stock_buffer, stock_max)) => ChannelSku {
                    sku,
                    stock_rule: SkuStockRule {
                        stock_buffer,
                        stock_max,
                    },
                },
                None => ChannelSku {
                    sku: code.clone(),
                    stock_rule: SkuStockRule::default(),
                },
            })
        });
        futures::future::try_join_all(reads).await
    }

    async fn first_sku(&self, channel: &str, code: &str) -> Result<Option<String>> {
        Ok(self
            .row::<(String,)>(Stmt::FirstSkuOfProduct, vec![text(channel), text(code)])
            .await?
            .map(|(sku,)| sku))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn product_rows_decode_or_are_corrupt() {
        let p =
            product_of(("a".into(), Some("A".into()), Some(true), None, Some(7))).expect("product");
        assert_eq!((p.name.as_str(), p.active, p.barcode), ("A", true, None));
        assert!(matches!(
            product_of(("a".into(), None, Some(true), None, Some(7))),
            Err(Error::Corrupt(_))
        ));
    }
}
