//! The requesting side: publish a command to its partition and wait for the
//! reply on this process's partition of `agusto.replies`.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agusto_schemas::{CommandEnvelope, ReplyBody, ReplyEnvelope, ReplyTo};
use async_trait::async_trait;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::oneshot;

use super::wire::LogCommand;
use super::{KafkaSettings, REPLY_TOPIC};
use crate::{Bus, Error, Result};
use agusto_schemas::avro::AvroMessage;

/// Longest wait for a reply before a request gives up with `NoReply`.
const REPLY_WAIT: Duration = Duration::from_secs(60);

/// Replies addressed to this process, routed to the requests waiting for them.
pub struct Replies {
    instance: String,
    partition: u32,
    waiting: Mutex<HashMap<String, oneshot::Sender<ReplyBody>>>,
}

impl Replies {
    /// Starts reading this process's reply partition from its current end.
    pub async fn start(settings: &KafkaSettings) -> Result<Arc<Replies>> {
        let partition =
            agusto_schemas::partition_for(&settings.instance_id, settings.reply_partitions);
        let consumer: StreamConsumer = settings
            .client()
            .set(
                "group.id",
                format!("agusto-replies-{}", settings.instance_id),
            )
            .set("enable.auto.commit", "false")
            .create()
            .map_err(unavailable)?;
        // Start at the current high watermark, fixed before any request is sent,
        // so no reply to this process can slip past.
        let (_, high) = consumer
            .fetch_watermarks(REPLY_TOPIC, partition as i32, Duration::from_secs(10))
            .map_err(unavailable)?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(REPLY_TOPIC, partition as i32, Offset::Offset(high))
            .map_err(unavailable)?;
        consumer.assign(&tpl).map_err(unavailable)?;
        let replies = Arc::new(Replies {
            instance: settings.instance_id.clone(),
            partition,
            waiting: Mutex::new(HashMap::new()),
        });
        let routing = replies.clone();
        tokio::spawn(async move {
            loop {
                match consumer.recv().await {
                    Ok(m) => routing.route(m.payload().unwrap_or_default()),
                    Err(e) => {
                        tracing::warn!(error = %e, "reading replies failed");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        });
        Ok(replies)
    }

    fn route(&self, payload: &[u8]) {
        let Ok(reply) = ReplyEnvelope::decode(payload) else {
            super::metrics::UNDECODABLE
                .with_label_values(&[REPLY_TOPIC])
                .inc();
            return;
        };
        if reply.instance != self.instance {
            return; // another process sharing this reply partition
        }
        let waiter = self
            .waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&reply.correlation_id);
        if let Some(tx) = waiter {
            let _ = tx.send(reply.body);
        }
    }

    fn wait_for(&self, correlation_id: &str) -> oneshot::Receiver<ReplyBody> {
        let (tx, rx) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(correlation_id.to_owned(), tx);
        rx
    }

    fn forget(&self, correlation_id: &str) {
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(correlation_id);
    }

    /// Where replies to this process go.
    pub fn reply_to(&self) -> ReplyTo {
        ReplyTo {
            instance: self.instance.clone(),
            partition: self.partition,
        }
    }
}

/// Publishes commands `C` to their topic and waits for the replies.
pub struct KafkaBus<C> {
    producer: FutureProducer,
    partitions: u32,
    replies: Arc<Replies>,
    _command: PhantomData<fn(C)>,
}

impl<C: LogCommand> KafkaBus<C> {
    /// A bus over `partitions` partitions of `C::TOPIC`.
    pub fn new(settings: &KafkaSettings, partitions: u32, replies: Arc<Replies>) -> Result<Self> {
        let producer = settings.producer().create().map_err(unavailable)?;
        Ok(KafkaBus {
            producer,
            partitions,
            replies,
            _command: PhantomData,
        })
    }
}

/// Forgets a waiting request when the caller stops waiting.
struct Waiting<'a>(&'a Replies, String);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.forget(&self.1);
    }
}

#[async_trait]
impl<C: LogCommand> Bus<C, C::Reply> for KafkaBus<C> {
    fn partitions(&self) -> u32 {
        self.partitions
    }

    async fn ready(&self) -> Result<()> {
        use rdkafka::producer::Producer;
        let producer = self.producer.clone();
        tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(Some(C::TOPIC), Duration::from_secs(2))
                .map(|_| ())
        })
        .await
        .map_err(|e| Error::Unavailable(e.to_string()))?
        .map_err(unavailable)
    }

    async fn request(&self, partition: u32, command: C) -> Result<C::Reply> {
        let correlation_id = new_correlation_id();
        let rx = self.replies.wait_for(&correlation_id);
        let _guard = Waiting(&self.replies, correlation_id.clone());
        let key = command.key().to_owned();
        let envelope = CommandEnvelope {
            correlation_id,
            reply_to: Some(self.replies.reply_to()),
            issued_at: agusto_schemas::now(),
            command,
        };
        let payload = C::encode(&envelope);
        let record = FutureRecord::to(C::TOPIC)
            .partition(partition as i32)
            .key(&key)
            .payload(&payload);
        self.producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| Error::Unavailable(format!("publishing to {}: {e}", C::TOPIC)))?;
        // A reply can be lost (its publish failed after the writer's retries):
        // never wait for ever; the command itself stays applied or not.
        let body = tokio::time::timeout(REPLY_WAIT, rx)
            .await
            .map_err(|_| Error::NoReply)?
            .map_err(|_| Error::NoReply)?;
        C::unwrap(body).ok_or(Error::NoReply)
    }
}

fn new_correlation_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{nanos:x}-{n:x}")
}

fn unavailable(e: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!("kafka: {e}"))
}
