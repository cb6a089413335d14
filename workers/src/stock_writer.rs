//! The writer of one stock partition: owns the partition's state in memory
//! ([`PartitionState`]: stock, holds, the open orders it decides in one hop),
//! loaded once by `Store::load_partition`; applies commands in log order,
//! writes each batch's effects in one atomic store write with the applied
//! offset, and replies after the batch is durable.

use std::sync::Arc;
use std::time::Instant;

use agusto_bus::Delivery;
use agusto_schemas::{StockCommand, StockReply, Timestamp};
use agusto_store::{AppliedOffset, Fence, StockBatch, Store};

use crate::committer::Committer;
use crate::domain::partition::PartitionState;
use crate::domain::stock::{ChangeRecord, StockEffects};
use crate::metrics::{BATCH_SIZE, STORE_LATENCY};
use crate::published::PublishedLevels;
use crate::saga_carrier::{Carrier, Parked};
use crate::stock_outcome::{
    change_rows, count, final_holds, fx_is_empty, levels_of, step_name, unavailable,
};

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
    /// `None` until loaded (and after a failed write: reloaded then).
    state: Option<PartitionState>,
    applied: u64,
    /// The epoch this writer claimed the partition with (fencing).
    epoch: u64,
    /// Set when a write was refused because another writer claimed the
    /// partition: this one answers `Unavailable` from then on, without
    /// claiming it back (its runtime replaces it on the next assignment).
    fenced: bool,
    committer: Option<Committer>,
    published: Option<Arc<PublishedLevels>>,
    carrier: Option<Carrier>,
    /// Replies waiting for their saga; `parked_now` and `finished` pass a
    /// batch's parked commands and ended steps from deciding to replying.
    parked: Parked,
    parked_now: Vec<(usize, String)>,
    finished: Vec<(String, StockReply)>,
}

impl StockWriter {
    /// A writer for `partition` of `partitions`; it loads the partition
    /// before its first batch.
    pub fn new(partition: u32, partitions: u32, store: Arc<dyn Store>) -> Self {
        StockWriter {
            partition,
            partitions,
            store,
            state: None,
            applied: 0,
            epoch: 0,
            fenced: false,
            committer: None,
            published: None,
            carrier: None,
            parked: Parked::default(),
            parked_now: Vec::new(),
            finished: Vec::new(),
        }
    }

    /// Carries the steps of the sagas this partition is the home of
    /// (orders spanning partitions); without one they are not carried.
    pub fn with_carrier(mut self, carrier: Carrier) -> Self {
        self.carrier = Some(carrier);
        self
    }

    /// Writes through `committer` (group commit) instead of one store call per batch.
    pub fn with_committer(mut self, committer: Committer) -> Self {
        self.committer = Some(committer);
        self
    }

    /// Publishes the partition's levels to `published` (reads in the
    /// embedded mode) after every durable batch, before replying.
    pub fn with_published(mut self, published: Arc<PublishedLevels>) -> Self {
        self.published = Some(published);
        self
    }

    /// The partition's state in memory, once loaded.
    pub fn state(&self) -> Option<&PartitionState> {
        self.state.as_ref()
    }

    /// Applies one batch of deliveries (one store transaction) and replies to each.
    pub async fn apply(&mut self, mut batch: Vec<Delivery<StockCommand, StockReply>>) {
        let commands: Vec<_> = batch
            .iter()
            .map(|d| (d.offset, d.command.clone(), d.at))
            .collect();
        let replies = self.apply_batch(&commands).await;
        for (i, order_id) in std::mem::take(&mut self.parked_now) {
            let command = batch[i].command.clone();
            self.parked.park(order_id, command, batch[i].take_reply());
        }
        for (d, r) in batch.iter_mut().zip(replies) {
            d.reply(r);
        }
        for (order_id, r) in std::mem::take(&mut self.finished) {
            self.parked.answer(&order_id, &r);
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
        if self.fenced {
            let why = format!("partition {} is owned by another writer", self.partition);
            return unavailable(commands.len(), &why);
        }
        let loaded = self.load(commands).await;
        let replies = match loaded {
            Ok(()) => self.decide_and_write(commands, offset).await,
            Err(e) => Err(e),
        };
        // Change records are read per batch, not kept: they are few and
        // would otherwise pile up for the whole retention.
        if let Some(state) = &mut self.state {
            state.stock.changes.clear();
        }
        match replies {
            Ok(replies) => replies,
            Err(e) => {
                tracing::error!(partition = self.partition, error = %e, "stock batch not written");
                self.fenced = matches!(e, agusto_store::Error::Fenced(_));
                if self.fenced {
                    crate::metrics::FENCED.with_label_values(&["stock"]).inc();
                    self.parked.clear();
                }
                self.state = None;
                if let Some(p) = &self.published {
                    p.forget(self.partition);
                }
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
        let applied = self.applied;
        let mut fx = StockEffects::default();
        let mut replies: Vec<StockReply> = Vec::with_capacity(commands.len());
        let mut parked = Vec::new();
        for (i, (o, c, at)) in commands.iter().enumerate() {
            let waiting = fx.parked.len();
            let state = self.state_mut();
            let reply = match c {
                StockCommand::Receipt {
                    receipt_id, lines, ..
                } if *o <= applied => state
                    .stock
                    .recorded(receipt_id, None)
                    .unwrap_or_else(|| levels_of(state, lines.iter().map(|l| &l.product_code))),
                StockCommand::Adjust {
                    adjustment_id,
                    product_code,
                    ..
                } if *o <= applied => state
                    .stock
                    .recorded(adjustment_id, None)
                    .unwrap_or_else(|| levels_of(state, [product_code])),
                StockCommand::ReturnReceipt {
                    change_id, lines, ..
                } if *o <= applied => state
                    .stock
                    .recorded(change_id, None)
                    .unwrap_or_else(|| levels_of(state, lines.iter().map(|l| &l.product_code))),
                _ => state.apply(c, *at, &mut fx),
            };
            if fx.parked.len() > waiting {
                parked.extend(fx.parked.last().map(|id| (i, id.clone())));
            }
            replies.push(reply);
        }
        let (mut sagas_put, mut sagas_delete) = (Vec::new(), Vec::new());
        for (id, saga) in std::mem::take(&mut fx.sagas) {
            match saga {
                Some(saga) => sagas_put.push(saga),
                None => sagas_delete.push((self.partition, id)),
            }
        }
        let steps: Vec<&'static str> = sagas_put.iter().map(|g| step_name(g.kind)).collect();
        let changes = change_rows(self.partition, self.state.as_ref(), &fx.changes);
        let (reservations_put, reservations_delete) =
            final_holds(&self.state_mut().stock, &fx.holds_put, &fx.holds_deleted);
        let state = self.state_mut();
        let batch = StockBatch {
            levels: fx
                .touched
                .iter()
                .map(|c| state.stock.levels[c].clone())
                .collect(),
            movements: fx.movements,
            reservations_put,
            reservations_delete,
            events: fx.events,
            // Commands injected by this process's own timer (offset 0) are not in the log.
            applied: (offset > 0).then(|| AppliedOffset {
                log: STOCK_LOG.into(),
                partition: self.partition,
                offset,
            }),
            changes,
            orders: fx.orders,
            sagas_put,
            sagas_delete,
            fence: Some(Fence {
                log: STOCK_LOG.into(),
                partition: self.partition,
                epoch: self.epoch,
            }),
        };
        if fx_is_empty(&batch) {
            // Nothing changed (no-op commands, empty sweeps, a placement
            // again while its saga runs): no write needed; replaying such
            // commands changes nothing either.
            self.after_durable(parked, fx.answers, fx.sends);
            return Ok(replies);
        }
        if let Some(pause) = crate::fault::first_write_pause() {
            tracing::warn!(
                partition = self.partition,
                ?pause,
                "fault injection: pausing before the first store write"
            );
            tokio::time::sleep(pause).await;
        }
        let levels = self.published.as_ref().map(|_| batch.levels.clone());
        let started = Instant::now();
        let written = match &self.committer {
            Some(c) => c.commit(batch).await,
            None => self.store.apply_stock_batch(&batch).await,
        };
        STORE_LATENCY
            .with_label_values(&["apply_stock_batch"])
            .observe(started.elapsed().as_secs_f64());
        written?;
        for step in steps {
            crate::fault::saga_crash(step);
        }
        self.after_durable(parked, fx.answers, fx.sends);
        self.applied = applied.max(offset);
        if let (Some(p), Some(levels)) = (&self.published, levels) {
            p.update(self.partition, &levels);
        }
        // Parked commands are counted when their saga answers.
        let waiting: Vec<usize> = self.parked_now.iter().map(|(i, _)| *i).collect();
        for (i, ((_, c, _), r)) in commands.iter().zip(&replies).enumerate() {
            if !waiting.contains(&i) {
                count(c, r);
            }
        }
        Ok(replies)
    }

    /// Once a batch is durable: its parked commands and ended saga steps go
    /// to the replying side, its saga steps to their participants.
    fn after_durable(
        &mut self,
        parked: Vec<(usize, String)>,
        finished: Vec<(String, StockReply)>,
        sends: Vec<crate::domain::saga::SagaSend>,
    ) {
        self.parked_now = parked;
        self.finished = finished;
        match &self.carrier {
            Some(c) => c.carry(sends),
            None if !sends.is_empty() => {
                tracing::warn!(
                    partition = self.partition,
                    "saga steps not carried: no carrier"
                );
            }
            None => {}
        }
    }

    /// Makes sure the writer owns its partition's state: one
    /// `load_partition` the first time (and after a failed write), then
    /// only the records of the receipts and adjustments the batch names
    /// (few; they are not kept between batches).
    async fn load(
        &mut self,
        commands: &[(u64, StockCommand, Timestamp)],
    ) -> agusto_store::Result<()> {
        if self.state.is_none() {
            let started = Instant::now();
            self.epoch = self
                .store
                .claim_partition(STOCK_LOG, self.partition)
                .await?;
            let loaded = self
                .store
                .load_partition(STOCK_LOG, self.partition, self.partitions)
                .await?;
            STORE_LATENCY
                .with_label_values(&["load_partition"])
                .observe(started.elapsed().as_secs_f64());
            tracing::info!(
                partition = self.partition,
                epoch = self.epoch,
                products = loaded.levels.len(),
                holds = loaded.holds.len(),
                orders = loaded.orders.len(),
                sagas = loaded.sagas.len(),
                applied = loaded.applied,
                "stock partition loaded"
            );
            self.applied = loaded.applied.unwrap_or(0);
            if let Some(p) = &self.published {
                p.load(self.partition, loaded.levels.iter().cloned());
            }
            let (partition, partitions) = (self.partition, self.partitions);
            self.state = Some(PartitionState::loaded(partition, partitions, loaded));
        }
        let mut changes: Vec<String> = commands
            .iter()
            .filter_map(|(_, c, _)| match c {
                StockCommand::Receipt { receipt_id: id, .. }
                | StockCommand::Adjust {
                    adjustment_id: id, ..
                }
                | StockCommand::Claim { change_id: id, .. }
                | StockCommand::ReturnReceipt { change_id: id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect();
        changes.sort();
        changes.dedup();
        if !changes.is_empty() {
            let now = agusto_schemas::now();
            let rows = self
                .store
                .stock_changes(self.partition, &changes, now)
                .await?;
            let state = self.state_mut();
            for row in rows {
                let record = ChangeRecord {
                    fingerprint: row.fingerprint,
                    levels: row.levels,
                };
                state.stock.changes.insert(row.change_id, record);
            }
        }
        Ok(())
    }

    fn state_mut(&mut self) -> &mut PartitionState {
        let (partition, partitions) = (self.partition, self.partitions);
        self.state
            .get_or_insert_with(|| PartitionState::new(partition, partitions))
    }
}
