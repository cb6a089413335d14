//! The embedded bus: one bounded in-process queue per partition.
//!
//! Nothing here is durable, and nothing needs to be: a command is only
//! acknowledged after its writer made the effect durable in the store, so a
//! crash loses only commands that were never acknowledged.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use crate::{Bus, Delivery, Error, Result};

type Queued<C, R> = (agusto_schemas::Timestamp, C, Option<oneshot::Sender<R>>);

/// Sending side of an embedded log; cheap to clone.
pub struct EmbeddedBus<C, R> {
    senders: Arc<Vec<mpsc::Sender<Queued<C, R>>>>,
}

impl<C, R> Clone for EmbeddedBus<C, R> {
    fn clone(&self) -> Self {
        EmbeddedBus {
            senders: self.senders.clone(),
        }
    }
}

/// Receiving side of one partition, owned by that partition's writer.
pub struct PartitionReader<C, R> {
    partition: u32,
    next_offset: u64,
    rx: mpsc::Receiver<Queued<C, R>>,
}

/// Creates an embedded log of `partitions` queues holding up to `capacity`
/// commands each. `first_offsets[p]` is the offset the first command of
/// partition `p` gets (one past the stored applied offset), so offsets keep
/// growing across restarts.
pub fn log<C: Send + 'static, R: Send + 'static>(
    partitions: u32,
    capacity: usize,
    first_offsets: &[u64],
) -> (EmbeddedBus<C, R>, Vec<PartitionReader<C, R>>) {
    assert!(partitions > 0, "partition count must be positive");
    let mut senders = Vec::with_capacity(partitions as usize);
    let mut readers = Vec::with_capacity(partitions as usize);
    for p in 0..partitions {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        senders.push(tx);
        readers.push(PartitionReader {
            partition: p,
            next_offset: first_offsets.get(p as usize).copied().unwrap_or(1),
            rx,
        });
    }
    (
        EmbeddedBus {
            senders: Arc::new(senders),
        },
        readers,
    )
}

impl<C: Send + 'static, R: Send + 'static> EmbeddedBus<C, R> {
    /// Appends a command whose reply nobody waits for.
    pub async fn publish(&self, partition: u32, command: C) -> Result<()> {
        self.sender(partition)?
            .send((agusto_schemas::now(), command, None))
            .await
            .map_err(|_| Error::Unavailable("partition writer stopped".into()))
    }

    fn sender(&self, partition: u32) -> Result<&mpsc::Sender<Queued<C, R>>> {
        self.senders
            .get(partition as usize)
            .ok_or_else(|| Error::Unavailable(format!("no partition {partition}")))
    }
}

#[async_trait]
impl<C: Send + 'static, R: Send + 'static> Bus<C, R> for EmbeddedBus<C, R> {
    fn partitions(&self) -> u32 {
        self.senders.len() as u32
    }

    async fn ready(&self) -> Result<()> {
        if self.senders.iter().any(|s| s.is_closed()) {
            return Err(Error::Unavailable("a partition writer stopped".into()));
        }
        Ok(())
    }

    async fn request(&self, partition: u32, command: C) -> Result<R> {
        let (tx, rx) = oneshot::channel();
        self.sender(partition)?
            .send((agusto_schemas::now(), command, Some(tx)))
            .await
            .map_err(|_| Error::Unavailable("partition writer stopped".into()))?;
        rx.await.map_err(|_| Error::NoReply)
    }
}

impl<C, R: Send + 'static> PartitionReader<C, R> {
    /// This reader's partition.
    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// Waits for at least one command, then takes what else is queued, up to
    /// `max` in all. `None` once every sender is gone and the queue is empty.
    pub async fn next_batch(&mut self, max: usize) -> Option<Vec<Delivery<C, R>>> {
        let first = self.rx.recv().await?;
        let mut batch = Vec::with_capacity(max.clamp(1, 64));
        batch.push(self.deliver(first));
        while batch.len() < max {
            match self.rx.try_recv() {
                Ok(item) => batch.push(self.deliver(item)),
                Err(_) => break,
            }
        }
        Some(batch)
    }

    fn deliver(&mut self, (at, command, reply_to): Queued<C, R>) -> Delivery<C, R>
    where
        R: Send + 'static,
    {
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

    #[tokio::test]
    async fn commands_reach_their_partition_in_order_and_get_replies() {
        let (bus, mut readers) = log::<u32, u32>(2, 16, &[10, 1]);
        let mut r1 = readers.pop().unwrap();
        let writer = tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(batch) = r1.next_batch(8).await {
                for mut d in batch {
                    seen.push((d.offset, d.command));
                    d.reply(d.command * 2);
                }
            }
            seen
        });
        let a = bus.request(1, 5).await.unwrap();
        let b = bus.request(1, 7).await.unwrap();
        assert_eq!((a, b), (10, 14));
        drop(bus);
        assert_eq!(writer.await.unwrap(), vec![(1, 5), (2, 7)]);
        assert_eq!(readers[0].partition(), 0);
    }

    #[tokio::test]
    async fn a_writer_that_drops_a_command_gives_no_reply() {
        let (bus, mut readers) = log::<u32, u32>(1, 4, &[]);
        let mut r0 = readers.remove(0);
        tokio::spawn(async move { while r0.next_batch(4).await.is_some() {} });
        assert!(matches!(bus.request(0, 1).await, Err(Error::NoReply)));
        assert!(bus.request(3, 1).await.is_err());
    }
}
