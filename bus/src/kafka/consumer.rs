//! The writing side: a consumer group on a command topic. Messages come out
//! as per-partition batches of [`Delivery`]s whose replies go to the
//! requester's reply partition; an offset is stored only after the batch's
//! effect is durable ([`CommandLog::done`]), and stored offsets are committed
//! synchronously before partitions are revoked.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use agusto_schemas::ReplyEnvelope;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::statistics::Statistics;
use rdkafka::{Message, Offset, TopicPartitionList};

use super::metrics::{ASSIGNED, CONSUMER_LAG, REBALANCES, UNDECODABLE};
use super::wire::LogCommand;
use super::{KafkaSettings, REPLY_TOPIC};
use crate::{Delivery, Error, ReplyFn, Result};
use agusto_schemas::avro::AvroMessage;

/// Consumer callbacks: commit before revoke, note rebalances, export lag.
pub struct WriterContext {
    group: String,
    rebalanced: Arc<AtomicBool>,
}

impl ClientContext for WriterContext {
    fn stats(&self, statistics: Statistics) {
        for (topic, t) in statistics.topics {
            for (p, part) in t.partitions {
                if p >= 0 && part.consumer_lag >= 0 {
                    CONSUMER_LAG
                        .with_label_values(&[&topic, &p.to_string()])
                        .set(part.consumer_lag);
                }
            }
        }
    }
}

impl ConsumerContext for WriterContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let kind = match rebalance {
            Rebalance::Assign(_) => "assign",
            Rebalance::Revoke(_) => "revoke",
            Rebalance::Error(_) => "error",
        };
        REBALANCES.with_label_values(&[&self.group, kind]).inc();
        self.rebalanced.store(true, Ordering::SeqCst);
        if let Rebalance::Revoke(revoked) = rebalance {
            // Lag of partitions this process no longer owns is someone else's to report.
            for e in revoked.elements() {
                let _ = CONSUMER_LAG.remove_label_values(&[e.topic(), &e.partition().to_string()]);
            }
            // Every batch handed out before this poll is durable and its
            // offsets are stored: commit them before another member takes over.
            if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
                tracing::debug!(error = %e, "commit on revoke");
            }
        }
    }
}

/// A writer group's view of one command topic.
pub struct CommandLog<C: LogCommand> {
    group: String,
    consumer: StreamConsumer<WriterContext>,
    producer: FutureProducer,
    rebalanced: Arc<AtomicBool>,
    _command: std::marker::PhantomData<fn(C)>,
}

/// One partition's share of a poll of a Kafka topic (offsets are Kafka
/// offset + 1; `next_offset` is the Kafka offset to store when done).
pub type PartitionBatch<C> = crate::PartitionBatch<C, <C as LogCommand>::Reply>;

impl<C: LogCommand> CommandLog<C> {
    /// Joins `group` on `C::TOPIC`.
    pub fn subscribe(settings: &KafkaSettings, group: &str) -> Result<Self> {
        let rebalanced = Arc::new(AtomicBool::new(true));
        let context = WriterContext {
            group: group.to_owned(),
            rebalanced: rebalanced.clone(),
        };
        let consumer: StreamConsumer<WriterContext> = settings
            .consumer(group)
            .create_with_context(context)
            .map_err(unavailable)?;
        consumer.subscribe(&[C::TOPIC]).map_err(unavailable)?;
        let producer = settings.producer().create().map_err(unavailable)?;
        Ok(CommandLog {
            group: group.to_owned(),
            consumer,
            producer,
            rebalanced,
            _command: std::marker::PhantomData,
        })
    }

    /// True once after each rebalance: writers must drop what they cached,
    /// since another member may have written their partitions meanwhile.
    pub fn take_rebalanced(&self) -> bool {
        self.rebalanced.swap(false, Ordering::SeqCst)
    }

    /// Partitions currently assigned to this member.
    pub fn assigned(&self) -> Vec<u32> {
        self.consumer
            .assignment()
            .map(|tpl| {
                tpl.elements()
                    .iter()
                    .map(|e| e.partition() as u32)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits up to `linger` for messages, then takes what else is ready, up
    /// to `max`; returns them grouped by partition (possibly none).
    pub async fn poll(&self, max: usize, linger: Duration) -> Vec<PartitionBatch<C>> {
        let mut by_partition: BTreeMap<u32, PartitionBatch<C>> = BTreeMap::new();
        let mut taken = 0;
        let mut wait = linger;
        while taken < max {
            let m = match tokio::time::timeout(wait, self.consumer.recv()).await {
                Err(_) => break,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, topic = C::TOPIC, "consuming failed");
                    break;
                }
                Ok(Ok(m)) => m,
            };
            wait = Duration::from_millis(1);
            taken += 1;
            let partition = m.partition() as u32;
            let batch = by_partition
                .entry(partition)
                .or_insert_with(|| PartitionBatch {
                    partition,
                    deliveries: Vec::new(),
                    next_offset: 0,
                });
            batch.next_offset = m.offset() + 1;
            match C::decode(m.payload().unwrap_or_default()) {
                Ok(env) => {
                    let reply = env.reply_to.map(|to| self.replier(to, env.correlation_id));
                    let offset = (m.offset() + 1) as u64;
                    batch.deliveries.push(Delivery::new(
                        partition,
                        offset,
                        env.issued_at,
                        env.command,
                        reply,
                    ));
                }
                Err(e) => {
                    UNDECODABLE.with_label_values(&[C::TOPIC]).inc();
                    tracing::error!(topic = C::TOPIC, partition, offset = m.offset(), error = %e, "skipping undecodable message");
                }
            }
        }
        ASSIGNED
            .with_label_values(&[&self.group])
            .set(self.assigned().len() as i64);
        by_partition.into_values().collect()
    }

    /// Records that a partition's batch is durable: its offset may be committed.
    pub fn done(&self, partition: u32, next_offset: i64) {
        let mut tpl = TopicPartitionList::new();
        if tpl
            .add_partition_offset(C::TOPIC, partition as i32, Offset::Offset(next_offset))
            .is_ok()
            && let Err(e) = self.consumer.store_offsets(&tpl)
        {
            tracing::debug!(error = %e, partition, "storing offset (partition revoked?)");
        }
    }

    /// Commits every stored offset now (on shutdown).
    pub fn commit(&self) {
        if let Err(e) = self.consumer.commit_consumer_state(CommitMode::Sync) {
            tracing::debug!(error = %e, "final commit");
        }
    }

    fn replier(&self, to: agusto_schemas::ReplyTo, correlation_id: String) -> ReplyFn<C::Reply> {
        let producer = self.producer.clone();
        Box::new(move |reply| {
            let envelope = ReplyEnvelope {
                correlation_id,
                instance: to.instance,
                body: C::wrap(reply),
            };
            let payload = envelope.encode();
            tokio::spawn(async move {
                let record = FutureRecord::to(REPLY_TOPIC)
                    .partition(to.partition as i32)
                    .key(&envelope.instance)
                    .payload(&payload);
                if let Err((e, _)) = producer.send(record, Duration::from_secs(10)).await {
                    tracing::warn!(error = %e, "reply not published; the requester will time out");
                }
            });
        })
    }
}

fn unavailable(e: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!("kafka: {e}"))
}

#[async_trait::async_trait]
impl<C: LogCommand> crate::Consumer<C, C::Reply> for CommandLog<C> {
    async fn poll(&self, max: usize, wait: Duration) -> Option<Vec<PartitionBatch<C>>> {
        Some(CommandLog::poll(self, max, wait).await)
    }

    fn done(&self, partition: u32, next_offset: i64) {
        CommandLog::done(self, partition, next_offset)
    }

    fn take_rebalanced(&self) -> bool {
        CommandLog::take_rebalanced(self)
    }

    fn assigned(&self) -> Vec<u32> {
        CommandLog::assigned(self)
    }

    fn commit(&self) {
        CommandLog::commit(self)
    }
}
