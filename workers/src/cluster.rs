//! Distributed roles: stock writers consuming their Kafka topic as a
//! consumer group, the forwarder of the previous release's order topic, and
//! the warehouse the ingress uses over Kafka. Partitions
//! move between processes on rebalance; a writer's cache is dropped then, and
//! its state is reloaded from the store.

use std::sync::Arc;
use std::time::Duration;

use agusto_bus::kafka::{CommandLog, KafkaBus, KafkaSettings, Replies};
use agusto_schemas::{OrderCommand, OrderReply, StockCommand};
use agusto_store::Store;
use futures_util::future::join_all;
use tokio::sync::watch;

use crate::saga_carrier::Carrier;
use crate::stock_writer::StockWriter;
use crate::warehouse::{StockBus, Warehouse};

/// Consumer group of the stock writers.
pub const STOCK_GROUP: &str = "agusto-stock-writers";
/// Consumer group of the forwarder of `agusto.order.commands`.
pub const ORDER_GROUP: &str = "agusto-order-writers";

/// How long a poll waits for the first message.
const LINGER: Duration = Duration::from_millis(50);

pub use crate::runtime::Timers;

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
        replies,
    )?);
    Ok(Warehouse::new(stock, store, order_wait, stock_wait))
}

/// Runs stock writers for the partitions this process is assigned, until
/// `stop` (the one writer runtime, [`crate::runtime`], over the Kafka topic).
pub async fn run_stock_writers(
    store: Arc<dyn Store>,
    kafka: KafkaSettings,
    timers: Timers,
    stop: watch::Receiver<bool>,
) -> agusto_bus::Result<()> {
    let log = CommandLog::<StockCommand>::subscribe(&kafka, STOCK_GROUP)?;
    // Saga steps travel over the same topic, asked and answered by spawned
    // tasks (never awaited by the writers).
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
    crate::runtime::run_stock_writers(&log, writer, timers, stop).await;
    Ok(())
}

/// `agusto worker orders` in this release: there are no order writers any
/// more (orders are decided by their home stock partitions). What ingress
/// processes of the previous release append to `agusto.order.commands`
/// during a rolling upgrade is forwarded to the order's home stock partition
/// (as the ingress of this release sends it) and the answer relayed; an old
/// expiry sweep is answered with nothing expired (the stock writers expire
/// orders). Each partition's commands are forwarded in order.
pub async fn run_order_forwarder(
    store: Arc<dyn Store>,
    kafka: KafkaSettings,
    stop: watch::Receiver<bool>,
) -> agusto_bus::Result<()> {
    let replies = Replies::start(&kafka).await?;
    let stock: StockBus = Arc::new(KafkaBus::<StockCommand>::new(
        &kafka,
        kafka.stock_partitions,
        replies,
    )?);
    // A third of the poll interval per command: well inside the group's
    // patience for the usual one-command batches of an upgrade.
    let wait = kafka.max_poll_interval / 3;
    let warehouse = Warehouse::new(stock, store, wait, wait);
    let log = CommandLog::<OrderCommand>::subscribe(&kafka, ORDER_GROUP)?;
    while !*stop.borrow() {
        let batches = log.poll(FORWARD_BATCH, LINGER).await;
        let _ = log.take_rebalanced();
        let done = join_all(batches.into_iter().map(|b| {
            let warehouse = &warehouse;
            async move {
                for mut d in b.deliveries {
                    if let Some(reply) = forward(warehouse, d.command.clone()).await {
                        d.reply(reply);
                    }
                }
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

/// Most legacy order commands taken from the log at once.
const FORWARD_BATCH: usize = 64;

/// One legacy order command, decided by its home stock partition; `None`
/// when the outcome is not known within the wait (the old ingress answers 202).
async fn forward(warehouse: &Warehouse, command: OrderCommand) -> Option<OrderReply> {
    let order_id = match &command {
        OrderCommand::Place(new) => new.order_id.clone(),
        OrderCommand::Transition { order_id, .. } => order_id.clone(),
        OrderCommand::ExpireDue { .. } => return Some(OrderReply::Swept(0)),
    };
    match warehouse.order(&order_id, command).await {
        Ok(reply) => Some(reply),
        Err(crate::Error::Pending) => None,
        Err(crate::Error::Conflict(why)) => Some(OrderReply::Conflict(why)),
        Err(e) => Some(OrderReply::Unavailable(e.to_string())),
    }
}
