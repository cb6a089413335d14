//! The distributed bus on Apache Kafka (rdkafka): command topics keyed by
//! product code / order id, one partition per writer, replies addressed to the
//! requesting process on `agusto.replies`.
//!
//! Writers store a message's offset only after its effect is durable in the
//! store, and commit synchronously when partitions are revoked
//! (at-least-once; replays are no-ops in the writers).

mod consumer;
mod metrics;
mod requester;
mod wire;

pub use consumer::CommandLog;
pub use consumer::PartitionBatch;
pub use requester::{KafkaBus, Replies};
pub use wire::LogCommand;

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;

use crate::{Error, Result};

/// Stock commands, keyed by product code.
pub const STOCK_TOPIC: &str = "agusto.stock.commands";
/// Order commands of the previous release, keyed by order id (forwarded by
/// `agusto worker orders` to the stock partitions during a rolling upgrade).
pub const ORDER_TOPIC: &str = "agusto.order.commands";
/// Replies, keyed by requester instance.
pub const REPLY_TOPIC: &str = "agusto.replies";

/// Connection and topology settings of every distributed process.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// Bootstrap brokers, comma-separated `host:port`.
    pub brokers: String,
    /// Partitions of `agusto.stock.commands` (= stock writers at most).
    pub stock_partitions: u32,
    /// Partitions of `agusto.order.commands`, the previous release's order
    /// topic (forwarded to the stock partitions during a rolling upgrade).
    pub order_partitions: u32,
    /// Partitions of `agusto.replies`.
    pub reply_partitions: u32,
    /// Replication factor for topics created at start-up.
    pub replication: i32,
    /// Consumer group session timeout.
    pub session_timeout: Duration,
    /// Longest gap between polls before a consumer leaves its group.
    pub max_poll_interval: Duration,
    /// This process's id (reply routing, client id).
    pub instance_id: String,
    /// Producer linger (batching delay before a send).
    pub linger: Duration,
    /// Longest time a fetch waits for data at the broker.
    pub fetch_wait_max: Duration,
    /// How long a published message may wait for the broker's
    /// acknowledgement before its send fails (`message.timeout.ms`). Kept
    /// below the ingress's order wait, so that with the broker gone a
    /// request ends in a clean 503 rather than a 202 for a command that was
    /// never appended.
    pub publish_timeout: Duration,
}

impl KafkaSettings {
    /// Client settings shared by producers, consumers and the admin client.
    pub fn client(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("client.id", format!("agusto-{}", self.instance_id))
            .set("socket.keepalive.enable", "true")
            // Commands and replies are latency-bound request/response traffic:
            // do not let a fetch wait for more data (Kafka's default is 500 ms).
            .set(
                "fetch.wait.max.ms",
                self.fetch_wait_max.as_millis().to_string(),
            )
            .set("socket.nagle.disable", "true");
        c
    }

    /// Idempotent producer settings.
    pub fn producer(&self) -> ClientConfig {
        let mut c = self.client();
        c.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", self.linger.as_millis().to_string())
            .set(
                "message.timeout.ms",
                self.publish_timeout.as_millis().max(1).to_string(),
            );
        c
    }

    /// Consumer settings for a writer group: manual offset store, auto commit
    /// of stored offsets, short timeouts (see DESIGN.md "Testing").
    pub fn consumer(&self, group: &str) -> ClientConfig {
        let mut c = self.client();
        c.set("group.id", group)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "500")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set(
                "session.timeout.ms",
                self.session_timeout.as_millis().to_string(),
            )
            .set(
                "max.poll.interval.ms",
                self.max_poll_interval.as_millis().to_string(),
            )
            .set("statistics.interval.ms", "5000");
        c
    }
}

/// Creates the command and reply topics with the configured partition counts
/// when they are missing (existing topics are left as they are).
pub async fn ensure_topics(settings: &KafkaSettings) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = settings
        .client()
        .create()
        .map_err(|e| Error::Unavailable(format!("kafka admin: {e}")))?;
    let replication = || TopicReplication::Fixed(settings.replication);
    let topics = [
        NewTopic::new(STOCK_TOPIC, settings.stock_partitions as i32, replication()),
        NewTopic::new(ORDER_TOPIC, settings.order_partitions as i32, replication()),
        NewTopic::new(REPLY_TOPIC, settings.reply_partitions as i32, replication()),
    ];
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .create_topics(&topics, &opts)
        .await
        .map_err(|e| Error::Unavailable(format!("creating topics: {e}")))?;
    for r in results {
        match r {
            Ok(topic) => tracing::info!(%topic, "topic created"),
            Err((topic, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {
                tracing::debug!(%topic, "topic exists")
            }
            Err((topic, code)) => {
                return Err(Error::Unavailable(format!(
                    "creating topic {topic}: {code}"
                )));
            }
        }
    }
    Ok(())
}
