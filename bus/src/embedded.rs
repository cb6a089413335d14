//! The embedded bus: one bounded in-process queue per partition, each read
//! by its own [`EmbeddedConsumer`] (so partitions' writers run side by side).
//!
//! Nothing here is durable, and nothing needs to be: a command is only
//! acknowledged after its writer made the effect durable in the store, so a
//! crash loses only commands that were never acknowledged.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::{Bus, Consumer, Delivery, Error, PartitionBatch, Result};

type Queued<C, R> = (agusto_schemas::Timestamp, C, Option<oneshot::Sender<R>>);

/// The queues' sending ends; when the last handle goes, the consumer is
/// woken to see the log closed.
struct Senders<C, R> {
    queues: Vec<mpsc::Sender<Queued<C, R>>>,
    /// Each partition's consumer's wake-up.
    wakes: Vec<Arc<Notify>>,
}

impl<C, R> Drop for Senders<C, R> {
    fn drop(&mut self) {
        self.queues.clear();
        for w in &self.wakes {
            w.notify_one();
        }
    }
}

/// Sending side of an embedded log; cheap to clone.
pub struct EmbeddedBus<C, R> {
    senders: Arc<Senders<C, R>>,
}

impl<C, R> Clone for EmbeddedBus<C, R> {
    fn clone(&self) -> Self {
        EmbeddedBus {
            senders: self.senders.clone(),
        }
    }
}

/// Receiving side of one partition.
struct PartitionReader<C, R> {
    partition: u32,
    next_offset: u64,
    rx: mpsc::Receiver<Queued<C, R>>,
}

/// Reads one partition of an embedded log: its writer's side.
pub struct EmbeddedConsumer<C, R> {
    readers: Mutex<Vec<PartitionReader<C, R>>>,
    wake: Arc<Notify>,
}

/// Creates an embedded log of `partitions` queues holding up to `capacity`
/// commands each, and one consumer per partition. `first_offsets[p]` is the
/// offset the first command of partition `p` gets (one past the stored
/// applied offset), so offsets keep growing across restarts.
pub fn log<C: Send + 'static, R: Send + 'static>(
    partitions: u32,
    capacity: usize,
    first_offsets: &[u64],
) -> (EmbeddedBus<C, R>, Vec<EmbeddedConsumer<C, R>>) {
    assert!(partitions > 0, "partition count must be positive");
    let mut queues = Vec::with_capacity(partitions as usize);
    let mut wakes = Vec::with_capacity(partitions as usize);
    let mut consumers = Vec::with_capacity(partitions as usize);
    for p in 0..partitions {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let wake = Arc::new(Notify::new());
        queues.push(tx);
        wakes.push(wake.clone());
        let reader = PartitionReader {
            partition: p,
            next_offset: first_offsets.get(p as usize).copied().unwrap_or(1),
            rx,
        };
        consumers.push(EmbeddedConsumer {
            readers: Mutex::new(vec![reader]),
            wake,
        });
    }
    let senders = Senders { queues, wakes };
    (
        EmbeddedBus {
            senders: Arc::new(senders),
        },
        consumers,
    )
}

impl<C: Send + 'static, R: Send + 'static> EmbeddedBus<C, R> {
    /// Appends a command whose reply nobody waits for.
    pub async fn publish(&self, partition: u32, command: C) -> Result<()> {
        self.append(partition, command, None).await
    }

    async fn append(
        &self,
        partition: u32,
        command: C,
        reply: Option<oneshot::Sender<R>>,
    ) -> Result<()> {
        let queue = self
            .senders
            .queues
            .get(partition as usize)
            .ok_or_else(|| Error::Unavailable(format!("no partition {partition}")))?;
        queue
            .send((agusto_schemas::now(), command, reply))
            .await
            .map_err(|_| Error::Unavailable("partition writer stopped".into()))?;
        self.senders.wakes[partition as usize].notify_one();
        Ok(())
    }
}

#[async_trait]
impl<C: Send + 'static, R: Send + 'static> Bus<C, R> for EmbeddedBus<C, R> {
    fn partitions(&self) -> u32 {
        self.senders.queues.len() as u32
    }

    async fn ready(&self) -> Result<()> {
        if self.senders.queues.iter().any(|s| s.is_closed()) {
            return Err(Error::Unavailable("a partition writer stopped".into()));
        }
        Ok(())
    }

    async fn request(&self, partition: u32, command: C) -> Result<R> {
        let (tx, rx) = oneshot::channel();
        self.append(partition, command, Some(tx)).await?;
        rx.await.map_err(|_| Error::NoReply)
    }
}

impl<C: Send + 'static, R: Send + 'static> EmbeddedConsumer<C, R> {
    /// What is queued, up to `max` per partition; `None` once every sender
    /// is gone and every queue is empty.
    fn take(&self, max: usize) -> Option<Vec<PartitionBatch<C, R>>> {
        let mut readers = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        let mut batches = Vec::new();
        let mut open = false;
        for r in readers.iter_mut() {
            let mut deliveries = Vec::new();
            loop {
                if deliveries.len() >= max {
                    open = true;
                    break;
                }
                match r.rx.try_recv() {
                    Ok(item) => deliveries.push(r.deliver(item)),
                    Err(TryRecvError::Empty) => {
                        open = true;
                        break;
                    }
                    Err(TryRecvError::Disconnected) => break,
                }
            }
            if !deliveries.is_empty() {
                batches.push(PartitionBatch {
                    partition: r.partition,
                    deliveries,
                    next_offset: r.next_offset as i64,
                });
            }
        }
        (open || !batches.is_empty()).then_some(batches)
    }
}

#[async_trait]
impl<C: Send + 'static, R: Send + 'static> Consumer<C, R> for EmbeddedConsumer<C, R> {
    async fn poll(&self, max: usize, wait: Duration) -> Option<Vec<PartitionBatch<C, R>>> {
        match self.take(max) {
            Some(batches) if batches.is_empty() => {}
            taken => return taken,
        }
        let _ = tokio::time::timeout(wait, self.wake.notified()).await;
        self.take(max)
    }

    /// Nothing to record: the in-process log restarts from the store's
    /// applied offsets.
    fn done(&self, _partition: u32, _next_offset: i64) {}

    /// Partitions never move in one process.
    fn take_rebalanced(&self) -> bool {
        false
    }

    fn assigned(&self) -> Vec<u32> {
        let readers = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        readers.iter().map(|r| r.partition).collect()
    }

    fn commit(&self) {}
}

impl<C, R: Send + 'static> PartitionReader<C, R> {
    fn deliver(&mut self, (at, command, reply_to): Queued<C, R>) -> Delivery<C, R> {
        let offset = self.next_offset;
        self.next_offset += 1;
        let reply = reply_to.map(|tx| -> crate::ReplyFn<R> {
            Box::new(move |r| {
                let _ = tx.send(r);
            })
        });
        Delivery::new(self.partition, offset, at, command, reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies every delivery (replying twice its command) until the log closes.
    async fn writer(log: EmbeddedConsumer<u32, u32>) -> Vec<(u32, u64, u32)> {
        let mut seen = Vec::new();
        while let Some(batches) = log.poll(8, Duration::from_secs(5)).await {
            for b in batches {
                for mut d in b.deliveries {
                    seen.push((b.partition, d.offset, d.command));
                    d.reply(d.command * 2);
                }
            }
        }
        seen
    }

    #[tokio::test]
    async fn commands_reach_their_partition_in_order_and_get_replies() {
        let (bus, logs) = log::<u32, u32>(2, 16, &[10, 1]);
        let owned: Vec<Vec<u32>> = logs.iter().map(|l| l.assigned()).collect();
        assert_eq!(owned, vec![vec![0], vec![1]]);
        let writers: Vec<_> = logs.into_iter().map(|l| tokio::spawn(writer(l))).collect();
        let a = bus.request(1, 5).await.unwrap();
        let b = bus.request(1, 7).await.unwrap();
        let c = bus.request(0, 1).await.unwrap();
        assert_eq!((a, b, c), (10, 14, 2));
        drop(bus);
        let mut seen = Vec::new();
        for w in writers {
            let w = tokio::time::timeout(Duration::from_secs(5), w).await;
            seen.extend(w.expect("the consumer sees the log closed").unwrap());
        }
        assert_eq!(seen, vec![(0, 10, 1), (1, 1, 5), (1, 2, 7)]);
    }

    #[tokio::test]
    async fn a_writer_that_drops_a_command_gives_no_reply() {
        let (bus, mut logs) = log::<u32, u32>(1, 4, &[]);
        let log = logs.remove(0);
        tokio::spawn(async move {
            while let Some(batches) = log.poll(4, Duration::from_secs(5)).await {
                drop(batches);
            }
        });
        assert!(matches!(bus.request(0, 1).await, Err(Error::NoReply)));
        assert!(bus.request(3, 1).await.is_err());
    }
}
