//! What each channel is shown in its `stock.changed` webhooks: its
//! published `available` (API.md, "Published availability per channel"),
//! and whether a stock event changes anything the channel can see.
//!
//! The "previous value" is a record per (channel, product) in the store
//! ([`PublishedStock`]): the published `available` and the physical figures
//! (`on_hand`, and `damaged` when events carry it) of the last
//! `stock.changed` the fan-out sent that channel, with the event's outbox
//! position. A stock event goes to a channel when any of them differs from
//! that record (or there is none); otherwise the channel gets nothing (a
//! change of `reserved` alone, by orders, is not one it is sent).
//! Records are read once per fan-out round, for the round's products, and
//! written before the round's deliveries, so a round that dies in between is
//! repeated with records at or past its events' positions: such an event
//! is delivered again (same delivery id, so nothing twice), never lost.

use std::collections::HashMap;

use agusto_schemas::{Event, published_available};
use agusto_store::{Channel, PublishedStock, Store};
use serde_json::{Value, json};

/// The records of one fan-out round, keyed by (channel id, product code).
pub(crate) struct ShownStock {
    last: HashMap<(String, String), PublishedStock>,
    changed: Vec<(String, String)>,
    /// Each (channel, product)'s SKU and override, read once per round.
    skus: HashMap<(String, String), Option<agusto_store::ChannelSku>>,
}

impl ShownStock {
    /// Reads the records of every product `events` are about.
    pub(crate) async fn load(
        store: &dyn Store,
        events: &[(i64, Event)],
    ) -> agusto_store::Result<Self> {
        let mut codes: Vec<String> = events
            .iter()
            .filter_map(|(_, e)| e.product_code.clone())
            .collect();
        codes.sort();
        codes.dedup();
        let last = store
            .published_stock(&codes)
            .await?
            .into_iter()
            .map(|r| ((r.channel_id.clone(), r.product_code.clone()), r))
            .collect();
        Ok(ShownStock {
            last,
            changed: Vec::new(),
            skus: HashMap::new(),
        })
    }

    /// The `data` of `event` (a `stock.changed` about `code` at outbox
    /// `position`) as `channel` sees it — its SKU, its published
    /// `available` — or `None` when neither that nor `on_hand` (nor
    /// `damaged`) differs from what the channel was last sent.
    ///
    /// An event addressed to the channel alone is a rule change's
    /// announcement: it carries the levels the ingress read, so it is
    /// brought up to the product's newest stored levels first (a stock
    /// event fanned out meanwhile may be newer than what the ingress read).
    pub(crate) async fn data_for(
        &mut self,
        store: &dyn Store,
        channel: &Channel,
        position: i64,
        event: &Event,
        code: &str,
    ) -> agusto_store::Result<Option<Value>> {
        let mut data = event.data.clone();
        if event.channel_id.is_some() {
            data = newest(store, code, data).await?;
        }
        let key = (channel.id.clone(), code.to_owned());
        let sku = match self.skus.get(&key) {
            Some(s) => s.clone(),
            None => {
                let s = store
                    .channel_skus(&channel.id, &[code.to_owned()])
                    .await?
                    .into_iter()
                    .next();
                self.skus.insert(key, s.clone());
                s
            }
        };
        let rule = sku.as_ref().map(|s| s.stock_rule).unwrap_or_default();
        if let Some(s) = sku {
            data["sku"] = json!(s.sku);
        }
        let real = data["available"].as_i64().unwrap_or(0);
        let on_hand = data["on_hand"].as_i64().unwrap_or(0);
        let damaged = data["damaged"].as_i64().unwrap_or(0);
        let available = published_available(real, &channel.stock_rule, &rule);
        data["available"] = json!(available);
        let key = (channel.id.clone(), code.to_owned());
        let send = match self.last.get(&key) {
            None => true,
            // Decided by an earlier run of this round: deliver again.
            Some(last) if last.position >= position => return Ok(Some(data)),
            Some(last) => {
                last.available != available || last.on_hand != on_hand || last.damaged != damaged
            }
        };
        if !send {
            return Ok(None);
        }
        let record = PublishedStock {
            channel_id: channel.id.clone(),
            product_code: code.to_owned(),
            on_hand,
            available,
            damaged,
            position,
        };
        self.last.insert(key.clone(), record);
        self.changed.push(key);
        Ok(Some(data))
    }

    /// Writes the records this round changed.
    pub(crate) async fn save(self, store: &dyn Store) -> agusto_store::Result<()> {
        let mut changed = self.changed;
        changed.sort();
        changed.dedup();
        let records: Vec<PublishedStock> = changed
            .iter()
            .filter_map(|k| self.last.get(k).cloned())
            .collect();
        if records.is_empty() {
            return Ok(());
        }
        store.put_published_stock(&records).await
    }
}

/// `data` with the product's stored levels when they are newer (a higher
/// `version`); its `reason` is kept.
async fn newest(store: &dyn Store, code: &str, data: Value) -> agusto_store::Result<Value> {
    let stored = store.stock_levels(&[code.to_owned()]).await?;
    let Some(level) = stored.into_iter().next() else {
        return Ok(data);
    };
    if level.version <= data["version"].as_i64().unwrap_or(0) {
        return Ok(data);
    }
    let reason = data["reason"].as_str().unwrap_or("adjustment").to_owned();
    Ok(crate::domain::stock::stock_changed(&level, &reason).data)
}
