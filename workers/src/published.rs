//! What the stock writers publish for reads in the embedded mode: every
//! product's levels as of the partition's last durable batch, updated
//! before the batch's commands are answered — so `inventory` and
//! `stock-levels` answer from memory and are never older than the last 2xx.
//! A partition that is not loaded (or whose state was dropped after a
//! failed write) publishes nothing: readers then ask the store.

use std::collections::HashMap;
use std::sync::RwLock;

use agusto_schemas::{StockLevel, partition_for};

/// The published levels of every stock partition of one process.
#[derive(Debug)]
pub struct PublishedLevels {
    partitions: Vec<RwLock<Option<HashMap<String, StockLevel>>>>,
}

impl PublishedLevels {
    /// Nothing published yet for `partitions` partitions.
    pub fn new(partitions: u32) -> Self {
        PublishedLevels {
            partitions: (0..partitions.max(1)).map(|_| RwLock::new(None)).collect(),
        }
    }

    /// The stored levels of `codes` (products without a stock row left
    /// out, like `Store::stock_levels`), or `None` when a partition they
    /// live in has published nothing.
    pub fn levels(&self, codes: &[String]) -> Option<Vec<StockLevel>> {
        let n = self.partitions.len() as u32;
        // One read lock per partition for the whole call.
        let slots: Vec<_> = self
            .partitions
            .iter()
            .map(|p| p.read().unwrap_or_else(|p| p.into_inner()))
            .collect();
        let mut out = Vec::with_capacity(codes.len());
        for code in codes {
            let slot = &slots[partition_for(code, n) as usize];
            if let Some(level) = slot.as_ref()?.get(code) {
                out.push(level.clone());
            }
        }
        Some(out)
    }

    /// Publishes a whole partition (after `load_partition`).
    pub(crate) fn load(&self, partition: u32, levels: impl IntoIterator<Item = StockLevel>) {
        let map = levels
            .into_iter()
            .filter(|l| l.version > 0)
            .map(|l| (l.product_code.clone(), l))
            .collect();
        *self.slot(partition) = Some(map);
    }

    /// Publishes the levels a durable batch wrote.
    pub(crate) fn update(&self, partition: u32, levels: &[StockLevel]) {
        if let Some(map) = self.slot(partition).as_mut() {
            for l in levels {
                map.insert(l.product_code.clone(), l.clone());
            }
        }
    }

    /// Withdraws a partition (its writer dropped its state).
    pub(crate) fn forget(&self, partition: u32) {
        *self.slot(partition) = None;
    }

    fn slot(
        &self,
        partition: u32,
    ) -> std::sync::RwLockWriteGuard<'_, Option<HashMap<String, StockLevel>>> {
        self.partitions[partition as usize % self.partitions.len()]
            .write()
            .unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(code: &str, on_hand: i64, version: i64) -> StockLevel {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let mut l = StockLevel::empty(code, at);
        l.on_hand = on_hand;
        l.version = version;
        l
    }

    #[test]
    fn a_partition_answers_once_loaded_and_follows_its_batches() {
        let codes: Vec<String> = (0..40).map(|i| format!("pub-{i}")).collect();
        let p = |c: &str| partition_for(c, 2);
        let published = PublishedLevels::new(2);
        assert_eq!(published.levels(&codes[..1]), None, "nothing loaded");
        let (mine, other): (Vec<_>, Vec<_>) = codes.iter().partition(|c| p(c) == 0);
        published.load(0, [level(mine[0], 5, 1), level(mine[1], 0, 0)]);
        assert_eq!(
            published.levels(&[mine[0].clone(), mine[1].clone()]),
            Some(vec![level(mine[0], 5, 1)]),
            "a product without a stock row is left out"
        );
        assert_eq!(published.levels(&[other[0].clone()]), None);
        published.update(0, &[level(mine[0], 7, 2)]);
        assert_eq!(
            published.levels(&[mine[0].clone()]),
            Some(vec![level(mine[0], 7, 2)])
        );
        published.update(1, &[level(other[0], 1, 1)]);
        assert_eq!(
            published.levels(&[other[0].clone()]),
            None,
            "not loaded: not updated"
        );
        published.forget(0);
        assert_eq!(published.levels(&[mine[0].clone()]), None);
    }
}
