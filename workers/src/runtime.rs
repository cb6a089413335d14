//! The one writer runtime of both modes: a loop over a [`Consumer`] of the
//! stock log — the in-process log of `agusto serve` or the Kafka topic of
//! `agusto worker stock` — that hands each owned partition's batch to its
//! [`StockWriter`] (all partitions' batches of a round concurrently: in
//! `serve` their writes meet in one group commit), records what is durable,
//! and runs the timers as commands of each owned partition: expiry of unpaid
//! orders (which also asks again the silent participants of saga steps) and
//! the lapse sweep of orphaned holds.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use agusto_bus::{Consumer, Delivery};
use agusto_schemas::{OrderCommand, StockCommand, StockReply};
use futures_util::future::join_all;
use tokio::sync::watch;

use crate::stock_writer::{MAX_BATCH, StockWriter};

/// How long a poll waits for the first command.
const LINGER: Duration = Duration::from_millis(50);

/// Timers of the writers.
#[derive(Debug, Clone)]
pub struct Timers {
    /// How often unpaid orders past their deadline are expired and lapsed
    /// orphan holds are swept.
    pub expiry_interval: Duration,
    /// How long after its deadline an orphaned hold is released.
    pub lapse_grace: Duration,
}

/// Runs the writers of the partitions `log` assigns until `stop` turns true
/// or the log closes; `writer` makes the writer of a partition (it loads
/// the partition before its first batch).
pub async fn run_stock_writers(
    log: &dyn Consumer<StockCommand, StockReply>,
    writer: impl Fn(u32) -> StockWriter,
    timers: Timers,
    stop: watch::Receiver<bool>,
) {
    let mut writers: HashMap<u32, StockWriter> = HashMap::new();
    let mut last_timers: Option<Instant> = None;
    while !*stop.borrow() {
        let Some(batches) = log.poll(MAX_BATCH, LINGER).await else {
            break;
        };
        if log.take_rebalanced() {
            writers.clear();
        }
        let mut work = Vec::with_capacity(batches.len());
        for b in batches {
            let w = writers
                .remove(&b.partition)
                .unwrap_or_else(|| writer(b.partition));
            work.push((w, b));
        }
        let done = join_all(work.into_iter().map(|(mut w, b)| async move {
            w.apply(b.deliveries).await;
            (w, b.partition, b.next_offset)
        }))
        .await;
        for (w, partition, next) in done {
            log.done(partition, next);
            writers.insert(partition, w);
        }
        if last_timers.is_none_or(|t| t.elapsed() >= timers.expiry_interval) {
            last_timers = Some(Instant::now());
            run_timers(log.assigned(), &mut writers, &writer, &timers).await;
        }
    }
    log.commit();
}

/// The timers' commands, applied by every owned partition's writer (they
/// are not on the log: each writer decides them from its own state).
async fn run_timers(
    assigned: Vec<u32>,
    writers: &mut HashMap<u32, StockWriter>,
    writer: &impl Fn(u32) -> StockWriter,
    timers: &Timers,
) {
    let now = agusto_schemas::now();
    let grace = chrono::Duration::from_std(timers.lapse_grace).unwrap_or(chrono::Duration::MAX);
    let before = now - grace;
    let mut owned: Vec<(u32, StockWriter)> = assigned
        .into_iter()
        .map(|p| (p, writers.remove(&p).unwrap_or_else(|| writer(p))))
        .collect();
    join_all(owned.iter_mut().map(|(p, w)| {
        let expire = StockCommand::Order(Box::new(OrderCommand::ExpireDue { now }));
        let sweep = StockCommand::SweepLapsed { before };
        let commands = [expire, sweep]
            .into_iter()
            .map(|c| Delivery::new(*p, 0, now, c, None))
            .collect();
        w.apply(commands)
    }))
    .await;
    writers.extend(owned);
}
