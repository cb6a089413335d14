//! Bundles (schema V10): each bundle's components (`bundle_components`)
//! and the bundles of each component (`bundles_by_component`). The reverse
//! index is written before and removed after the components, and read
//! against them, so it never names a bundle that lacks the component.

use agusto_schemas::ProductQty;

use super::Inner;
use super::codec::{big, required, text};
use super::statements::Stmt;
use crate::Result;

impl Inner {
    /// One bundle's components (empty: a plain product).
    async fn bundle(&self, bundle: &str) -> Result<Vec<ProductQty>> {
        self.rows::<(String, Option<i64>)>(Stmt::GetBundle, vec![text(bundle)])
            .await?
            .into_iter()
            .map(|(product_code, q)| {
                Ok(ProductQty {
                    product_code,
                    quantity: required(q, "bundle component quantity")?,
                })
            })
            .collect()
    }

    /// See [`crate::Store::put_bundle`].
    pub(crate) async fn put_bundle(&self, bundle: &str, components: &[ProductQty]) -> Result<()> {
        let old = self.bundle(bundle).await?;
        for c in components {
            let values = vec![text(&c.product_code), text(bundle)];
            self.exec(Stmt::PutBundleOf, values).await?;
            let values = vec![text(bundle), text(&c.product_code), big(c.quantity)];
            self.exec(Stmt::PutBundlePart, values).await?;
        }
        for gone in old
            .iter()
            .filter(|o| !components.iter().any(|c| c.product_code == o.product_code))
        {
            let values = vec![text(bundle), text(&gone.product_code)];
            self.exec(Stmt::DelBundlePart, values).await?;
            let values = vec![text(&gone.product_code), text(bundle)];
            self.exec(Stmt::DelBundleOf, values).await?;
        }
        Ok(())
    }

    /// See [`crate::Store::bundle_components`].
    pub(crate) async fn bundle_components(
        &self,
        codes: &[String],
    ) -> Result<Vec<(String, Vec<ProductQty>)>> {
        let reads = codes.iter().map(|c| self.bundle(c));
        let parts = futures::future::try_join_all(reads).await?;
        let mut out: Vec<(String, Vec<ProductQty>)> = Vec::new();
        for (code, parts) in codes.iter().zip(parts) {
            if !parts.is_empty() && !out.iter().any(|(b, _)| b == code) {
                out.push((code.clone(), parts));
            }
        }
        Ok(out)
    }

    /// See [`crate::Store::bundles_containing`].
    pub(crate) async fn bundles_containing(&self, component: &str) -> Result<Vec<String>> {
        let mut bundles: Vec<String> = self
            .rows::<(String,)>(Stmt::BundlesOf, vec![text(component)])
            .await?
            .into_iter()
            .map(|(b,)| b)
            .collect();
        let parts = self.bundle_components(&bundles).await?;
        bundles.retain(|b| {
            parts
                .iter()
                .any(|(p, cs)| p == b && cs.iter().any(|c| c.product_code == component))
        });
        bundles.sort();
        Ok(bundles)
    }
}
