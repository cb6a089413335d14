//! The stock writer of one partition: applies stock commands in log order,
//! one store transaction per batch, replies after the batch is durable.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use agusto_bus::Delivery;
use agusto_bus::embedded::PartitionReader;
use agusto_schemas::{Reservation, StockCommand, StockLevel, StockReply, Timestamp, partition_for};
use agusto_store::{AppliedOffset, StockBatch, StockChange, Store};

use crate::domain::stock::{ChangeRecord, StockEffects, StockState};
use crate::metrics::{BATCH_SIZE, COMMANDS_APPLIED, STORE_LATENCY};

/// Name of the stock command log (the Kafka topic in distributed mode).
pub const STOCK_LOG: &str = "agusto.stock.commands";

/// Most commands applied in one store transaction.
pub const MAX_BATCH: usize = 1024;

/// How long a partition remembers a receipt or adjustment it applied (and
/// an `Idempotency-Key` claim): a retry within this is answered with the
/// first answer. API.md promises at least 24 hours.
pub const CHANGE_RETENTION: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// Applies the stock commands of one partition.
pub struct StockWriter {
    partition: u32,
    partitions: u32,
    store: Arc<dyn Store>,
    state: StockState,
    applied: Option<u64>,
}

impl StockWriter {
    /// A writer for `partition` of `partitions`, with an empty cache.
    pub fn new(partition: u32, partitions: u32, store: Arc<dyn Store>) -> Self {
        StockWriter {
            partition,
            partitions,
            store,
            state: StockState::default(),
            applied: None,
        }
    }

    /// Applies batches until the log closes.
    pub async fn run(mut self, mut reader: PartitionReader<StockCommand, StockReply>) {
        while let Some(batch) = reader.next_batch(MAX_BATCH).await {
            self.apply(batch).await;
        }
        tracing::debug!(partition = self.partition, "stock writer stopped");
    }

    /// Applies one batch of deliveries (one store transaction) and replies to each.
    pub async fn apply(&mut self, mut batch: Vec<Delivery<StockCommand, StockReply>>) {
        let commands: Vec<_> = batch
            .iter()
            .map(|d| (d.offset, d.command.clone(), d.at))
            .collect();
        let replies = self.apply_batch(&commands).await;
        for (d, r) in batch.iter_mut().zip(replies) {
            d.reply(r);
        }
    }

    /// Applies `(offset, command, at)` triples and persists their effects with
    /// the highest offset; returns one reply per command. A receipt or
    /// adjustment is applied once per id: its record (and an
    /// `Idempotency-Key` claim) is written in the batch that applies it and
    /// read back before a batch that names the id again. One at or below the
    /// stored applied offset was applied before and is skipped too (its reply
    /// is its recorded answer, or the current levels once the record
    /// expired); every other command is idempotent by itself. If the store
    /// fails, every reply is `Unavailable`, nothing is kept, and the cache is
    /// dropped so the next batch reloads.
    pub async fn apply_batch(
        &mut self,
        commands: &[(u64, StockCommand, Timestamp)],
    ) -> Vec<StockReply> {
        BATCH_SIZE
            .with_label_values(&["stock"])
            .observe(commands.len() as f64);
        let Some(offset) = commands.iter().map(|c| c.0).max() else {
            return Vec::new();
        };
        let loaded = self.load(commands).await;
        let replies = match loaded {
            Ok(()) => self.decide_and_write(commands, offset).await,
            Err(e) => Err(e),
        };
        // Change records are read per batch, not kept: they are few and
        // would otherwise pile up for the whole retention.
        self.state.changes.clear();
        match replies {
            Ok(replies) => replies,
            Err(e) => {
                tracing::error!(partition = self.partition, error = %e, "stock batch not written");
                self.state = StockState::default();
                self.applied = None;
                unavailable(commands.len(), &e.to_string())
            }
        }
    }

    /// Decides the batch in memory and writes its effects in one batch.
    async fn decide_and_write(
        &mut self,
        commands: &[(u64, StockCommand, Timestamp)],
        offset: u64,
    ) -> agusto_store::Result<Vec<StockReply>> {
        let applied = self.applied.unwrap_or(0);
        let mut fx = StockEffects::default();
        let replies: Vec<StockReply> = commands
            .iter()
            .map(|(o, c, at)| match c {
                StockCommand::Receipt {
                    receipt_id, lines, ..
                } if *o <= applied => self
                    .state
                    .recorded(receipt_id, None)
                    .unwrap_or_else(|| self.levels_of(lines.iter().map(|l| &l.product_code))),
                StockCommand::Adjust {
                    adjustment_id,
                    product_code,
                    ..
                } if *o <= applied => self
                    .state
                    .recorded(adjustment_id, None)
                    .unwrap_or_else(|| self.levels_of([product_code])),
                _ => self.state.apply(c, *at, &mut fx),
            })
            .collect();
        let changes = self.change_rows(&fx.changes);
        let batch = StockBatch {
            levels: fx
                .touched
                .iter()
                .map(|c| self.state.levels[c].clone())
                .collect(),
            movements: fx.movements,
            reservations_put: fx.holds_put,
            reservations_delete: fx.holds_deleted,
            events: fx.events,
            // Commands injected by this process's own timer (offset 0) are not in the log.
            applied: (offset > 0).then(|| AppliedOffset {
                log: STOCK_LOG.into(),
                partition: self.partition,
                offset,
            }),
            changes,
        };
        if fx_is_empty(&batch) {
            // Nothing changed (no-op commands, empty sweeps): no write needed;
            // replaying such commands changes nothing either.
            return Ok(replies);
        }
        let started = Instant::now();
        let written = self.store.apply_stock_batch(&batch).await;
        STORE_LATENCY
            .with_label_values(&["apply_stock_batch"])
            .observe(started.elapsed().as_secs_f64());
        written?;
        self.applied = Some(applied.max(offset));
        for r in &replies {
            let outcome = match r {
                StockReply::Rejected(_) | StockReply::Short(_) => "rejected",
                StockReply::Unavailable(_) => "failed",
                _ => "applied",
            };
            COMMANDS_APPLIED
                .with_label_values(&["stock", outcome])
                .inc();
        }
        Ok(replies)
    }

    /// The store rows of the change records a batch changed: their final
    /// state, kept for [`CHANGE_RETENTION`] after the command that wrote them.
    fn change_rows(&self, changed: &[(String, Timestamp)]) -> Vec<StockChange> {
        let mut last: HashMap<&str, Timestamp> = HashMap::new();
        for (id, at) in changed {
            last.insert(id, *at);
        }
        let mut rows: Vec<StockChange> = last
            .into_iter()
            .filter_map(|(id, at)| {
                let record = self.state.changes.get(id)?;
                Some(StockChange {
                    change_id: id.to_owned(),
                    partition: self.partition,
                    fingerprint: record.fingerprint.clone(),
                    levels: record.levels.clone(),
                    expires_at: at + CHANGE_RETENTION,
                })
            })
            .collect();
        rows.sort_by(|a, b| a.change_id.cmp(&b.change_id));
        rows
    }

    /// Loads the products and holds the commands name that are not cached yet.
    async fn load(
        &mut self,
        commands: &[(u64, StockCommand, Timestamp)],
    ) -> agusto_store::Result<()> {
        if self.applied.is_none() {
            self.applied = Some(
                self.store
                    .applied_offset(STOCK_LOG, self.partition)
                    .await?
                    .unwrap_or(0),
            );
        }
        let mut products: Vec<String> = Vec::new();
        let mut orders: Vec<&str> = Vec::new();
        let mut changes: Vec<String> = Vec::new();
        for (_, c, _) in commands {
            match c {
                StockCommand::Receipt { receipt_id: id, .. }
                | StockCommand::Adjust {
                    adjustment_id: id, ..
                }
                | StockCommand::Claim { change_id: id, .. } => changes.push(id.clone()),
                _ => {}
            }
            match c {
                StockCommand::Receipt { lines, .. } | StockCommand::Reserve { lines, .. } => {
                    products.extend(lines.iter().map(|l| l.product_code.clone()))
                }
                StockCommand::Adjust { product_code, .. } => products.push(product_code.clone()),
                StockCommand::SweepLapsed { before } => {
                    let lapsed = self.store.lapsed_reservations(*before, 10_000).await?;
                    let mine: Vec<_> = lapsed
                        .into_iter()
                        .filter(|h| self.owns(&h.product_code))
                        .collect();
                    for h in mine {
                        if !self.state.holds.contains_key(&h.order_id) {
                            let all = self.store.reservations_for_order(&h.order_id).await?;
                            products.extend(all.iter().map(|h| h.product_code.clone()));
                            self.cache_holds(&h.order_id, all);
                        }
                    }
                }
                _ => {}
            }
            if let Some(id) = c.order_id() {
                orders.push(id);
            }
        }
        changes.retain(|id| !self.state.changes.contains_key(id));
        changes.sort();
        changes.dedup();
        if !changes.is_empty() {
            let now = agusto_schemas::now();
            for row in self
                .store
                .stock_changes(self.partition, &changes, now)
                .await?
            {
                let record = ChangeRecord {
                    fingerprint: row.fingerprint,
                    levels: row.levels,
                };
                self.state.changes.insert(row.change_id, record);
            }
        }
        let mut unknown: Vec<String> = orders
            .into_iter()
            .filter(|id| !self.state.holds.contains_key(*id))
            .map(str::to_owned)
            .collect();
        unknown.sort();
        unknown.dedup();
        if !unknown.is_empty() {
            // One store read for the holds of every order the batch names.
            let mut by_order: HashMap<String, Vec<Reservation>> = HashMap::new();
            for h in self.store.reservations_for_orders(&unknown).await? {
                by_order.entry(h.order_id.clone()).or_default().push(h);
            }
            for (id, holds) in by_order {
                products.extend(holds.iter().map(|h| h.product_code.clone()));
                self.cache_holds(&id, holds);
            }
        }
        products.retain(|p| !self.state.levels.contains_key(p));
        products.sort();
        products.dedup();
        if products.is_empty() {
            return Ok(());
        }
        for level in self.store.stock_levels(&products).await? {
            self.state.levels.insert(level.product_code.clone(), level);
        }
        for code in products {
            if !self.state.levels.contains_key(&code)
                && self.store.get_product(&code).await?.is_some()
            {
                let empty = StockLevel::empty(&code, agusto_schemas::now());
                self.state.levels.insert(code, empty);
            }
        }
        Ok(())
    }

    /// The current levels of `codes`, as the answer to a change applied before.
    fn levels_of<'a>(&self, codes: impl IntoIterator<Item = &'a String>) -> StockReply {
        StockReply::Recorded(
            codes
                .into_iter()
                .filter_map(|c| self.state.levels.get(c).cloned())
                .collect(),
        )
    }

    fn owns(&self, product_code: &str) -> bool {
        partition_for(product_code, self.partitions) == self.partition
    }

    fn cache_holds(&mut self, order_id: &str, holds: Vec<agusto_schemas::Reservation>) {
        let mine: Vec<_> = holds
            .into_iter()
            .filter(|h| self.owns(&h.product_code))
            .collect();
        if !mine.is_empty() {
            self.state.holds.insert(order_id.to_owned(), mine);
        }
    }
}

fn fx_is_empty(b: &StockBatch) -> bool {
    b.changes.is_empty()
        && b.levels.is_empty()
        && b.movements.is_empty()
        && b.reservations_put.is_empty()
        && b.reservations_delete.is_empty()
        && b.events.is_empty()
}

fn unavailable(n: usize, why: &str) -> Vec<StockReply> {
    COMMANDS_APPLIED
        .with_label_values(&["stock", "failed"])
        .inc_by(n as u64);
    (0..n)
        .map(|_| StockReply::Unavailable(why.to_owned()))
        .collect()
}
