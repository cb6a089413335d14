//! The order writer of one partition (orders keyed by id). It decides each
//! command with the pure lifecycle in [`crate::domain::order`], asks the stock
//! writers for the stock side (a saga: reserve per stock partition, release
//! what was reserved if any partition is short), then writes the round's
//! orders and events in one store transaction and replies.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use agusto_bus::embedded::PartitionReader;
use agusto_bus::{Bus, Delivery};
use agusto_schemas::{
    NewOrder, Order, OrderAction, OrderCommand, OrderReply, ProductQty, ReleaseReason,
    StockCommand, StockReply, Timestamp, partition_for,
};
use agusto_store::{AppliedOffset, OrderBatch, Store};
use futures_util::future::join_all;

use crate::domain::order::{Placement, Transition, place, transition};
use crate::metrics::BATCH_SIZE;
use crate::order_outcome::{count, failure, settle_placement};

/// Name of the order command log (the Kafka topic in distributed mode).
pub const ORDER_LOG: &str = "agusto.order.commands";

/// Most commands taken from the log at once.
pub const MAX_BATCH: usize = 512;

/// Most orders one expiry sweep handles; the next sweep takes the rest.
const EXPIRY_SWEEP_LIMIT: usize = 500;

type StockBus = Arc<dyn Bus<StockCommand, StockReply>>;
/// An order command as the order writer receives it.
pub type OrderDelivery = Delivery<OrderCommand, OrderReply>;

/// Applies the order commands of one partition.
pub struct OrderWriter {
    partition: u32,
    partitions: u32,
    store: Arc<dyn Store>,
    stock: StockBus,
    stock_wait: std::time::Duration,
}

/// What one command of a round needs.
enum Job {
    Answer(OrderReply),
    Place {
        new: Box<NewOrder>,
        at: Timestamp,
        wanted: Vec<ProductQty>,
    },
    Move(Box<Transition>),
    Expire(Vec<Transition>),
}

impl OrderWriter {
    /// A writer for `partition` of `partitions`, asking the stock writers on
    /// `stock` and waiting at most `stock_wait` for each answer (a slow stock
    /// partition then fails the order as unavailable, holds given back, instead
    /// of stalling this writer past its consumer group's poll interval).
    pub fn new(
        partition: u32,
        partitions: u32,
        store: Arc<dyn Store>,
        stock: StockBus,
        stock_wait: std::time::Duration,
    ) -> Self {
        OrderWriter {
            partition,
            partitions,
            store,
            stock,
            stock_wait,
        }
    }

    /// One stock request, bounded by the writer's stock wait.
    async fn ask(&self, p: u32, cmd: StockCommand) -> agusto_bus::Result<StockReply> {
        match tokio::time::timeout(self.stock_wait, self.stock.request(p, cmd)).await {
            Ok(reply) => reply,
            Err(_) => Ok(StockReply::Unavailable(format!(
                "stock partition {p} did not answer within {:?}",
                self.stock_wait
            ))),
        }
    }

    /// Applies batches until the log closes.
    pub async fn run(self, mut reader: PartitionReader<OrderCommand, OrderReply>) {
        while let Some(batch) = reader.next_batch(MAX_BATCH).await {
            self.apply(batch).await;
        }
        tracing::debug!(partition = self.partition, "order writer stopped");
    }

    /// Applies one batch of deliveries, in rounds of distinct orders, and replies to each.
    pub async fn apply(&self, batch: Vec<OrderDelivery>) {
        BATCH_SIZE
            .with_label_values(&["orders"])
            .observe(batch.len() as f64);
        let mut rest: VecDeque<OrderDelivery> = batch.into();
        while !rest.is_empty() {
            let round = next_round(&mut rest);
            self.apply_round(round).await;
        }
    }

    /// Applies commands about distinct orders together: their stock requests
    /// run concurrently and their results are written in one transaction.
    async fn apply_round(&self, mut round: Vec<OrderDelivery>) {
        let offset = round.last().map(|d| d.offset).unwrap_or_default();
        // One store read for every order the round names.
        let ids: Vec<String> = round
            .iter()
            .filter_map(|d| order_id(&d.command).cloned())
            .collect();
        let known: Result<HashMap<String, Order>, _> = self
            .store
            .get_orders(&ids)
            .await
            .map(|orders| orders.into_iter().map(|o| (o.id.clone(), o)).collect());
        let mut jobs = Vec::with_capacity(round.len());
        for d in &round {
            let job = match &known {
                Ok(known) => self.job(&d.command, d.at, known).await,
                Err(e) => Err(agusto_store::Error::Unavailable(e.to_string())),
            };
            jobs.push(job.unwrap_or_else(|e| Job::Answer(OrderReply::Unavailable(e.to_string()))));
        }
        // Stock phase: every request of every job at once.
        let mut requests: Vec<(usize, u32, StockCommand)> = Vec::new();
        for (i, job) in jobs.iter().enumerate() {
            match job {
                Job::Place { new, wanted, .. } => {
                    for (p, lines) in self.split(wanted) {
                        let order_id = new.order_id.clone();
                        let expires_at = new.expires_at;
                        requests.push((
                            i,
                            p,
                            StockCommand::Reserve {
                                order_id,
                                lines,
                                expires_at,
                            },
                        ));
                    }
                }
                Job::Move(t) => requests.extend(self.stock_requests(i, t)),
                Job::Expire(ts) => ts
                    .iter()
                    .for_each(|t| requests.extend(self.stock_requests(i, t))),
                Job::Answer(_) => {}
            }
        }
        let replies = join_all(requests.iter().map(|(_, p, c)| self.ask(*p, c.clone()))).await;
        let mut per_job: Vec<Vec<(u32, &StockCommand, StockReply)>> =
            jobs.iter().map(|_| Vec::new()).collect();
        for ((i, p, c), r) in requests.iter().zip(replies) {
            let r = r.unwrap_or_else(|e| StockReply::Unavailable(e.to_string()));
            per_job[*i].push((*p, c, r));
        }
        // Decide each job from its stock replies.
        let mut batch = OrderBatch::default();
        let mut answers = Vec::with_capacity(jobs.len());
        let mut compensate: Vec<(u32, String)> = Vec::new();
        for (job, stock) in jobs.into_iter().zip(per_job) {
            answers.push(match job {
                Job::Answer(r) => r,
                Job::Place { new, at, .. } => {
                    let reply = settle_placement(&new, at, &stock, &mut compensate);
                    if let OrderReply::Placed(o) = &reply {
                        batch.orders.push((**o).clone());
                    }
                    reply
                }
                Job::Move(t) => match stock.iter().find_map(|(_, _, r)| failure(r)) {
                    Some(why) => OrderReply::Unavailable(why),
                    None => {
                        batch.orders.push(t.order.clone());
                        batch.events.extend(t.events);
                        OrderReply::Updated(Box::new(t.order))
                    }
                },
                Job::Expire(ts) => {
                    let mut n = 0;
                    for t in ts {
                        let mine = stock
                            .iter()
                            .filter(|(_, c, _)| c.order_id() == Some(&t.order.id));
                        if mine.clone().all(|(_, _, r)| failure(r).is_none()) {
                            n += 1;
                            batch.orders.push(t.order);
                            batch.events.extend(t.events);
                        }
                    }
                    OrderReply::Swept(n)
                }
            });
        }
        // Commands injected by this process's own timer (offset 0) are not in the log.
        batch.applied = (offset > 0).then(|| AppliedOffset {
            log: ORDER_LOG.into(),
            partition: self.partition,
            offset,
        });
        let nothing_changed = batch.orders.is_empty() && batch.events.is_empty();
        if nothing_changed {
            // Only refusals, replays and empty sweeps: nothing to write.
        } else if let Err(e) = self.write(&batch).await {
            tracing::error!(partition = self.partition, error = %e, "order batch not written");
            for a in answers.iter_mut() {
                if let OrderReply::Placed(o) = a {
                    compensate.extend(self.partitions_of(o).into_iter().map(|p| (p, o.id.clone())));
                }
                if matches!(
                    a,
                    OrderReply::Placed(_) | OrderReply::Updated(_) | OrderReply::Swept(_)
                ) {
                    *a = OrderReply::Unavailable(e.to_string());
                }
            }
        }
        self.release(compensate).await;
        for (d, a) in round.iter_mut().zip(answers) {
            count(&d.command, &a);
            d.reply(a);
        }
    }

    /// Writes a round's orders and events, timed.
    async fn write(&self, batch: &OrderBatch) -> agusto_store::Result<()> {
        let started = std::time::Instant::now();
        let written = self.store.apply_order_batch(batch).await;
        crate::metrics::STORE_LATENCY
            .with_label_values(&["apply_order_batch"])
            .observe(started.elapsed().as_secs_f64());
        written
    }

    /// Loads what a command needs and decides it as far as possible without the stock writers.
    async fn job(
        &self,
        command: &OrderCommand,
        at: Timestamp,
        known: &HashMap<String, Order>,
    ) -> agusto_store::Result<Job> {
        Ok(match command {
            OrderCommand::Place(new) => {
                let same_id = known.get(&new.order_id).cloned();
                let same_key = match (&same_id, &new.idempotency_key) {
                    (None, Some(k)) => {
                        self.store
                            .order_by_idempotency_key(&new.channel_id, k)
                            .await?
                    }
                    _ => None,
                };
                match place(new, same_id.as_ref(), same_key.as_ref()) {
                    Placement::Answer(r) => Job::Answer(r),
                    Placement::Reserve(wanted) => Job::Place {
                        new: Box::new(new.clone()),
                        at,
                        wanted,
                    },
                }
            }
            OrderCommand::Transition {
                order_id,
                channel_id,
                action,
            } => match known.get(order_id) {
                None => Job::Answer(OrderReply::NotFound),
                Some(o) => match transition(o, channel_id.as_deref(), action, at) {
                    Ok(t) => Job::Move(Box::new(t)),
                    Err(r) => Job::Answer(r),
                },
            },
            OrderCommand::ExpireDue { now } => {
                let due = self.store.due_orders(*now, EXPIRY_SWEEP_LIMIT).await?;
                let mine = due
                    .iter()
                    .filter(|o| partition_for(&o.id, self.partitions) == self.partition)
                    // One-hop orders are expired by their stock partition.
                    .filter(|o| self.partitions_of(o).len() > 1)
                    .filter_map(|o| transition(o, None, &OrderAction::Expire, *now).ok())
                    .collect();
                Job::Expire(mine)
            }
        })
    }

    /// Groups lines by the stock partition that owns their product.
    fn split(&self, lines: &[ProductQty]) -> BTreeMap<u32, Vec<ProductQty>> {
        crate::warehouse::by_partition(&self.stock, lines)
    }

    fn partitions_of(&self, order: &Order) -> HashSet<u32> {
        order
            .lines
            .iter()
            .map(|l| self.stock.partition_of(&l.product_code))
            .collect()
    }

    fn stock_requests(&self, i: usize, t: &Transition) -> Vec<(usize, u32, StockCommand)> {
        let Some(cmd) = &t.stock else {
            return Vec::new();
        };
        self.partitions_of(&t.order)
            .into_iter()
            .map(|p| (i, p, cmd.clone()))
            .collect()
    }

    /// Gives back holds of orders that were not placed after all. A release
    /// that fails here is left to the stock writers' lapse sweep.
    async fn release(&self, holds: Vec<(u32, String)>) {
        let requests = holds.into_iter().map(|(p, order_id)| {
            let cmd = StockCommand::Release {
                order_id,
                reason: ReleaseReason::Compensation,
            };
            self.ask(p, cmd)
        });
        for r in join_all(requests).await {
            if let Err(e) = r {
                tracing::warn!(error = %e, "compensating release failed; the lapse sweep will release it");
            }
        }
    }
}

/// The order a command is about, if it names one.
fn order_id(command: &OrderCommand) -> Option<&String> {
    match command {
        OrderCommand::Place(n) => Some(&n.order_id),
        OrderCommand::Transition { order_id, .. } => Some(order_id),
        OrderCommand::ExpireDue { .. } => None,
    }
}

/// Takes the longest prefix of commands about distinct orders (an expiry
/// sweep goes alone), so one order's commands apply one after another.
fn next_round(rest: &mut VecDeque<OrderDelivery>) -> Vec<OrderDelivery> {
    let mut round = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    while let Some(d) = rest.front() {
        match order_id(&d.command) {
            None if round.is_empty() => {
                round.extend(rest.pop_front());
                break;
            }
            Some(id) if !ids.contains(id) => {
                ids.insert(id.clone());
                round.extend(rest.pop_front());
            }
            _ => break,
        }
    }
    round
}
