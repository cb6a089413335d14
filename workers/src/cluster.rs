//! Distributed roles: stock and order writers consuming their Kafka topics as
//! consumer groups, and the warehouse the ingress uses over Kafka. Partitions
//! move between processes on rebalance; a writer's cache is dropped then, and
//! its state is reloaded from the store.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agusto_bus::Delivery;
use agusto_bus::kafka::{CommandLog, KafkaBus, KafkaSettings, Replies};
use agusto_schemas::{OrderCommand, StockCommand};
use agusto_store::Store;
use futures_util::future::join_all;
use tokio::sync::watch;

use crate::order_writer::OrderWriter;
use crate::saga_carrier::Carrier;
use crate::stock_writer::StockWriter;
use crate::warehouse::{OrderBus, StockBus, Warehouse};

/// Consumer group of the stock writers.
pub const STOCK_GROUP: &str = "agusto-stock-writers";
/// Consumer group of the order writers.
pub const ORDER_GROUP: &str = "agusto-order-writers";

/// How long a poll waits for the first message.
const LINGER: Duration = Duration::from_millis(50);

/// Timers of the writers.
#[derive(Debug, Clone)]
pub struct Timers {
    /// How often unpaid orders past their deadline are expired (order writers)
    /// and lapsed orphan holds are swept (stock writers).
    pub expiry_interval: Duration,
    /// How long after its deadline an orphaned hold is released.
    pub lapse_grace: Duration,
}

/// A warehouse whose commands go over Kafka (for `agusto ingest`).
pub async fn warehouse(
    kafka: &KafkaSettings,
    store: Arc<dyn Store>,
    order_wait: Duration,
    stock_wait: Duration,
) -> agusto_bus::Result<Warehouse> {
    let replies = Replies::start(kafka).await?;
    let stock: StockBus = Arc::new(KafkaBus::<StockCommand>::new(
        kafka,
        kafka.stock_partitions,
        replies.clone(),
    )?);
    let orders: OrderBus = Arc::new(KafkaBus::<OrderCommand>::new(
        kafka,
        kafka.order_partitions,
        replies,
    )?);
    Ok(Warehouse::new(stock, orders, store, order_wait, stock_wait))
}

/// Runs stock writers for the partitions this process is assigned, until `stop`.
pub async fn run_stock_writers(
    store: Arc<dyn Store>,
    kafka: KafkaSettings,
    timers: Timers,
    stop: watch::Receiver<bool>,
) -> agusto_bus::Result<()> {
    let log = CommandLog::<StockCommand>::subscribe(&kafka, STOCK_GROUP)?;
    // Saga steps travel over the same topic, asked and answered by spawned
    // tasks (never awaited in this loop).
    let replies = Replies::start(&kafka).await?;
    let bus: StockBus = Arc::new(KafkaBus::<StockCommand>::new(
        &kafka,
        kafka.stock_partitions,
        replies,
    )?);
    let carrier = Carrier::new(&bus, kafka.max_poll_interval / 3);
    let writer = |p: u32| {
        StockWriter::new(p, kafka.stock_partitions, store.clone()).with_carrier(carrier.clone())
    };
    let mut writers: HashMap<u32, StockWriter> = HashMap::new();
    let mut last_sweep = Instant::now();
    while !*stop.borrow() {
        let batches = log.poll(crate::stock_writer::MAX_BATCH, LINGER).await;
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
        if last_sweep.elapsed() >= timers.expiry_interval {
            last_sweep = Instant::now();
            let before = agusto_schemas::now()
                - chrono::Duration::from_std(timers.lapse_grace).unwrap_or(chrono::Duration::MAX);
            let now = agusto_schemas::now();
            for p in log.assigned() {
                let w = writers.entry(p).or_insert_with(|| writer(p));
                let expire = StockCommand::Order(Box::new(OrderCommand::ExpireDue { now }));
                let sweep = StockCommand::SweepLapsed { before };
                let timers = [expire, sweep]
                    .into_iter()
                    .map(|c| Delivery::new(p, 0, now, c, None));
                w.apply(timers.collect()).await;
            }
        }
    }
    log.commit();
    Ok(())
}

/// Runs order writers for the partitions this process is assigned, until
/// `stop`. Orders are decided by their home stock partitions now; the order
/// writers only drain `agusto.order.commands` of what ingress processes of
/// the previous release append during a rolling upgrade (no timers).
pub async fn run_order_writers(
    store: Arc<dyn Store>,
    kafka: KafkaSettings,
    _timers: Timers,
    stop: watch::Receiver<bool>,
) -> agusto_bus::Result<()> {
    let replies = Replies::start(&kafka).await?;
    let stock: StockBus = Arc::new(KafkaBus::<StockCommand>::new(
        &kafka,
        kafka.stock_partitions,
        replies,
    )?);
    let log = CommandLog::<OrderCommand>::subscribe(&kafka, ORDER_GROUP)?;
    // A third of the poll interval: a round of stock requests, then its
    // compensations, then the write all fit before the group evicts us.
    let stock_wait = kafka.max_poll_interval / 3;
    let writer = |p: u32| {
        OrderWriter::new(
            p,
            kafka.order_partitions,
            store.clone(),
            stock.clone(),
            stock_wait,
        )
    };
    while !*stop.borrow() {
        let batches = log.poll(crate::order_writer::MAX_BATCH, LINGER).await;
        // Order writers keep no cache between batches: nothing to drop on rebalance.
        let _ = log.take_rebalanced();
        let done = join_all(batches.into_iter().map(|b| {
            let w = writer(b.partition);
            async move {
                w.apply(b.deliveries).await;
                (b.partition, b.next_offset)
            }
        }))
        .await;
        for (partition, next) in done {
            log.done(partition, next);
        }
    }
    log.commit();
    Ok(())
}
