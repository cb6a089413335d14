//! Short-lived caches for the lookups every request makes (token, channel,
//! SKU → product, a product's SKU and stock-rule override for a channel,
//! product), so the order path does not read the store for
//! them each time.
//!
//! Changes made through this process drop the affected entries at once. In
//! distributed mode, a change made through another ingress process is seen
//! here after at most the TTL (`cache_ttl_ms`, default 1 s; 0 disables).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use agusto_schemas::ProductQty;
use agusto_store::{Channel, ChannelSku, Product, Store, TokenRecord};

/// Entries kept per map before it is emptied (bounds memory).
const MAX_ENTRIES: usize = 100_000;

struct TtlMap<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlMap<K, V> {
    fn new() -> Self {
        TtlMap {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get<Q>(&self, key: &Q, ttl: Duration) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < ttl)
            .map(|(_, v)| v.clone())
    }

    fn put(&self, key: K, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), value));
    }

    fn remove<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// The cached lookups of one ingress process.
pub struct Lookups {
    ttl: Duration,
    tokens: TtlMap<Vec<u8>, TokenRecord>,
    channels: TtlMap<String, Channel>,
    /// Keyed by `channel_id NUL sku` (neither contains NUL).
    skus: TtlMap<String, Option<String>>,
    /// A product's SKU for a channel with its stock-rule override, keyed by
    /// `channel_id NUL product_code`.
    channel_skus: TtlMap<String, ChannelSku>,
    products: TtlMap<String, Option<Product>>,
    /// A product's bundle components (empty: a plain product).
    bundles: TtlMap<String, Vec<ProductQty>>,
}

/// `a NUL b` (neither contains NUL).
fn pair_key(a: &str, b: &str) -> String {
    let mut key = String::with_capacity(a.len() + b.len() + 1);
    key.push_str(a);
    key.push('\0');
    key.push_str(b);
    key
}

impl Lookups {
    /// Caches entries for `ttl` (zero: no caching).
    pub fn new(ttl: Duration) -> Self {
        Lookups {
            ttl,
            tokens: TtlMap::new(),
            channels: TtlMap::new(),
            skus: TtlMap::new(),
            channel_skus: TtlMap::new(),
            products: TtlMap::new(),
            bundles: TtlMap::new(),
        }
    }

    /// The unrevoked token with this hash (unknown hashes are not cached).
    pub async fn token(
        &self,
        store: &dyn Store,
        hash: &[u8],
    ) -> agusto_store::Result<Option<TokenRecord>> {
        if let Some(t) = self.tokens.get(hash, self.ttl) {
            return Ok(Some(t));
        }
        let found = store.token_by_hash(hash).await?;
        if let Some(t) = &found {
            self.tokens.put(hash.to_vec(), t.clone());
        }
        Ok(found)
    }

    /// A channel (unknown ids are not cached).
    pub async fn channel(
        &self,
        store: &dyn Store,
        id: &str,
    ) -> agusto_store::Result<Option<Channel>> {
        if let Some(c) = self.channels.get(id, self.ttl) {
            return Ok(Some(c));
        }
        let found = store.get_channel(id).await?;
        if let Some(c) = &found {
            self.channels.put(id.to_owned(), c.clone());
        }
        Ok(found)
    }

    /// The product a channel means by `sku`.
    pub async fn sku(
        &self,
        store: &dyn Store,
        channel_id: &str,
        sku: &str,
    ) -> agusto_store::Result<Option<String>> {
        let key = pair_key(channel_id, sku);
        if let Some(p) = self.skus.get(key.as_str(), self.ttl) {
            return Ok(p);
        }
        let found = store.resolve_sku(channel_id, sku).await?;
        self.skus.put(key, found.clone());
        Ok(found)
    }

    /// [`Lookups::sku`] of each of `skus`, in input order; misses are read
    /// in one call.
    pub async fn skus(
        &self,
        store: &dyn Store,
        channel_id: &str,
        skus: &[String],
    ) -> agusto_store::Result<Vec<Option<String>>> {
        let mut out: Vec<Option<Option<String>>> = skus
            .iter()
            .map(|s| self.skus.get(pair_key(channel_id, s).as_str(), self.ttl))
            .collect();
        let missing: Vec<String> = skus
            .iter()
            .zip(&out)
            .filter(|(_, p)| p.is_none())
            .map(|(s, _)| s.clone())
            .collect();
        if !missing.is_empty() {
            let mut found = store.resolve_skus(channel_id, &missing).await?.into_iter();
            for (sku, slot) in skus.iter().zip(out.iter_mut()) {
                if slot.is_none() {
                    let p = found.next().flatten();
                    self.skus.put(pair_key(channel_id, sku), p.clone());
                    *slot = Some(p);
                }
            }
        }
        Ok(out.into_iter().map(Option::flatten).collect())
    }

    /// The SKU under which a channel sees a product, with the mapping's
    /// stock-rule override (see [`Store::channel_skus`]).
    pub async fn channel_sku(
        &self,
        store: &dyn Store,
        channel_id: &str,
        product_code: &str,
    ) -> agusto_store::Result<ChannelSku> {
        let key = pair_key(channel_id, product_code);
        if let Some(s) = self.channel_skus.get(key.as_str(), self.ttl) {
            return Ok(s);
        }
        let found = store
            .channel_skus(channel_id, std::slice::from_ref(&product_code.to_owned()))
            .await?
            .into_iter()
            .next()
            .unwrap_or_else(|| ChannelSku {
                sku: product_code.to_owned(),
                stock_rule: Default::default(),
            });
        self.channel_skus.put(key, found.clone());
        Ok(found)
    }

    /// A product's catalogue entry.
    pub async fn product(
        &self,
        store: &dyn Store,
        code: &str,
    ) -> agusto_store::Result<Option<Product>> {
        if let Some(p) = self.products.get(code, self.ttl) {
            return Ok(p);
        }
        let found = store.get_product(code).await?;
        self.products.put(code.to_owned(), found.clone());
        Ok(found)
    }

    /// Each of `codes`' SKU for a channel with its stock-rule override, in
    /// the order of `codes`; misses are read in one call.
    pub async fn channel_skus(
        &self,
        store: &dyn Store,
        channel_id: &str,
        codes: &[String],
    ) -> agusto_store::Result<Vec<ChannelSku>> {
        let mut out: Vec<Option<ChannelSku>> = codes
            .iter()
            .map(|c| {
                self.channel_skus
                    .get(pair_key(channel_id, c).as_str(), self.ttl)
            })
            .collect();
        let missing: Vec<String> = codes
            .iter()
            .zip(&out)
            .filter(|(_, s)| s.is_none())
            .map(|(c, _)| c.clone())
            .collect();
        if !missing.is_empty() {
            let mut found = store.channel_skus(channel_id, &missing).await?.into_iter();
            for (code, slot) in codes.iter().zip(out.iter_mut()) {
                if slot.is_none() {
                    let s = found.next().unwrap_or_else(|| ChannelSku {
                        sku: code.clone(),
                        stock_rule: Default::default(),
                    });
                    self.channel_skus.put(pair_key(channel_id, code), s.clone());
                    *slot = Some(s);
                }
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// The bundle components of each of `codes` (empty for a plain
    /// product), in the order of `codes`; misses are read in one call.
    pub async fn components(
        &self,
        store: &dyn Store,
        codes: &[String],
    ) -> agusto_store::Result<Vec<Vec<ProductQty>>> {
        let cached: Vec<Option<Vec<ProductQty>>> = codes
            .iter()
            .map(|c| self.bundles.get(c.as_str(), self.ttl))
            .collect();
        let missing: Vec<String> = codes
            .iter()
            .zip(&cached)
            .filter(|(_, c)| c.is_none())
            .map(|(code, _)| code.clone())
            .collect();
        if missing.is_empty() {
            return Ok(cached.into_iter().flatten().collect());
        }
        let found = store.bundle_components(&missing).await?;
        for code in &missing {
            let parts = found
                .iter()
                .find(|(b, _)| b == code)
                .map(|(_, p)| p.clone())
                .unwrap_or_default();
            self.bundles.put(code.clone(), parts);
        }
        Ok(codes
            .iter()
            .zip(cached)
            .map(|(code, c)| {
                c.unwrap_or_else(|| {
                    found
                        .iter()
                        .find(|(b, _)| b == code)
                        .map(|(_, p)| p.clone())
                        .unwrap_or_default()
                })
            })
            .collect())
    }

    /// A token was revoked: forget every cached token.
    pub fn tokens_changed(&self) {
        self.tokens.clear();
    }

    /// A channel changed.
    pub fn channel_changed(&self, id: &str) {
        self.channels.remove(id);
    }

    /// A product or a SKU mapping changed.
    pub fn catalogue_changed(&self) {
        self.skus.clear();
        self.channel_skus.clear();
        self.products.clear();
        self.bundles.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_can_be_dropped() {
        let m: TtlMap<String, u32> = TtlMap::new();
        m.put("a".into(), 1);
        assert_eq!(m.get("a", Duration::from_secs(60)), Some(1));
        assert_eq!(m.get("a", Duration::ZERO), None);
        m.remove("a");
        assert_eq!(m.get("a", Duration::from_secs(60)), None);
    }
}
