//! The command log between Agusto's ingress and its writers.
//!
//! A [`Bus`] carries commands of one kind (stock or order commands) to the
//! partition that owns their key, where exactly one writer applies them in
//! order and answers with a reply once the effect is durable. The embedded
//! implementation ([`embedded`]) is a set of in-process queues; the
//! distributed one is a Kafka topic pair (commands + replies).

pub mod embedded;
pub mod kafka;

use std::time::Duration;

use agusto_schemas::Timestamp;
use async_trait::async_trait;

/// Errors of every bus implementation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The log or its writers are gone (shutting down, broker unreachable).
    #[error("bus unavailable: {0}")]
    Unavailable(String),
    /// The writer dropped the command without replying (it failed or stopped);
    /// the command may or may not have been applied.
    #[error("no reply from the writer")]
    NoReply,
}

/// Result of bus operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Publishes commands `C` and waits for their replies `R`.
#[async_trait]
pub trait Bus<C, R>: Send + Sync + 'static {
    /// Number of partitions; keys map to partitions with
    /// [`agusto_schemas::partition_for`].
    fn partitions(&self) -> u32;

    /// Appends `command` to `partition` and resolves to the writer's reply,
    /// which is sent only after the command's effect is durable. Callers bound
    /// the wait themselves (the command goes on even if they stop waiting).
    async fn request(&self, partition: u32, command: C) -> Result<R>;

    /// Succeeds when commands can be published and writers can be reached.
    async fn ready(&self) -> Result<()> {
        Ok(())
    }

    /// The partition that owns `key`.
    fn partition_of(&self, key: &str) -> u32 {
        agusto_schemas::partition_for(key, self.partitions())
    }
}

/// One partition's share of a poll: deliveries in log order, and the
/// position to record once they are durable.
pub struct PartitionBatch<C, R> {
    /// Partition.
    pub partition: u32,
    /// Commands, in log order.
    pub deliveries: Vec<Delivery<C, R>>,
    /// The log position following the last one (Kafka: the offset to store).
    pub next_offset: i64,
}

/// A writer group member's view of a command log (the in-process log of
/// `agusto serve` or a Kafka topic): the partitions it owns and their
/// commands. One writer loop runs over either.
#[async_trait]
pub trait Consumer<C, R>: Send + Sync {
    /// Waits up to `wait` for commands, then takes what else is ready,
    /// grouped by partition (possibly none). `None` once the log is closed
    /// and drained (the in-process log at shutdown).
    async fn poll(&self, max: usize, wait: Duration) -> Option<Vec<PartitionBatch<C, R>>>;
    /// Records that a partition's batch is durable (up to `next_offset`).
    fn done(&self, partition: u32, next_offset: i64);
    /// True once after partitions moved between members: writers drop
    /// their state, another member may have written their partitions.
    fn take_rebalanced(&self) -> bool;
    /// The partitions this member owns now.
    fn assigned(&self) -> Vec<u32>;
    /// Commits what is done (on stop).
    fn commit(&self);
}

/// Sends a reply to whoever waits for it (an in-process channel, a reply topic).
pub type ReplyFn<R> = Box<dyn FnOnce(R) + Send + Sync>;

/// A command as a writer receives it.
pub struct Delivery<C, R> {
    /// Partition it was read from.
    pub partition: u32,
    /// Its position in the partition, 1-based (strictly increasing); 0 for a
    /// command the writer's own process injected (a timer), which is not in the log.
    pub offset: u64,
    /// When it was appended; the writer's notion of "now" for this command.
    pub at: Timestamp,
    /// The command.
    pub command: C,
    reply_to: Option<ReplyFn<R>>,
}

impl<C, R> Delivery<C, R> {
    /// A delivery whose reply goes to `reply_to` (if anyone waits).
    pub fn new(
        partition: u32,
        offset: u64,
        at: Timestamp,
        command: C,
        reply_to: Option<ReplyFn<R>>,
    ) -> Self {
        Delivery {
            partition,
            offset,
            at,
            command,
            reply_to,
        }
    }

    /// Takes the reply's destination, to answer later (a command whose
    /// outcome waits for other partitions); [`Delivery::reply`] is a no-op then.
    pub fn take_reply(&mut self) -> Option<ReplyFn<R>> {
        self.reply_to.take()
    }

    /// Sends the reply; a no-op when nobody waits any more or it was sent already.
    pub fn reply(&mut self, reply: R) {
        if let Some(send) = self.reply_to.take() {
            send(reply);
        }
    }
}
