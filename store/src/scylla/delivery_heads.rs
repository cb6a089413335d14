//! Keeping each delivery queue's head row right while several processes
//! change the queue at once.
//!
//! A queue (channel, ordering key) changes when fan-out adds deliveries,
//! when the holder of its head records an attempt, and on a manual retry;
//! with several webhook workers these happen at the same moment. Each
//! writer first writes its queue rows (`delivery_queue`), then *settles*
//! the head row ([`Inner::settle_head`]): it reads the row at LOCAL_SERIAL
//! (its `rev`), reads the queue, and writes the head computed from that
//! read conditioned on the `rev` it saw, with a fresh random `rev` (an
//! insert `IF NOT EXISTS` when there was no row: Cassandra 2.1 does not
//! apply `IF rev = null` to a missing row). When another writer won in
//! between it reads both again. So the last head written was computed from
//! a queue read made after every earlier head write, hence after every
//! earlier writer's queue rows: once its writers are done, a head row never
//! trails its queue.
//!
//! A writer that dies between its rows and its head leaves the head behind
//! until the next change of that queue. Fan-out repeats its round (its
//! position is written last) and settles the queues again; a head row that
//! names a delivery no longer pending is repaired by `due_deliveries`
//! ([`Inner::repair_queue`]). Lightweight transactions here are off the
//! writers' hot path: one per queue change of the webhook worker.

use std::time::Duration;

use super::Inner;
use super::codec::{Values, big, random_u64, shard_of, text};
use super::delivery_queue::{Entry, Queue, head_change, head_of};
use super::statements::Stmt;
use crate::{Delivery, DeliveryStatus, Error, Result};

/// Rounds a settle may lose to other writers before it gives up.
const MAX_ROUNDS: u32 = 40;

/// (rev, head_position, head_id) of a head row.
pub(crate) type HeadState = (Option<i64>, Option<i64>, Option<String>);

/// The head row's key values.
pub(crate) fn head_key(q: &Queue) -> Values {
    vec![big(q.shard()), text(&q.channel), text(&q.key)]
}

/// The status list rows that move when a delivery goes from `old` to its
/// current status (channel-wide and per shard).
pub(crate) fn status_moves(d: &Delivery, old: DeliveryStatus) -> Vec<(Stmt, Values)> {
    let (id, pos, ch) = (d.id.as_str(), d.position, d.channel_id.as_str());
    let (old, new) = (old.as_str(), d.status.as_str());
    vec![
        (
            Stmt::DelDlvStatus,
            vec![text(old), big(shard_of(id)), big(pos), text(id)],
        ),
        (
            Stmt::PutDlvStatus,
            vec![text(new), big(shard_of(id)), big(pos), text(id)],
        ),
        (
            Stmt::DelDlvChannelStatus,
            vec![text(ch), text(old), big(pos), text(id)],
        ),
        (
            Stmt::PutDlvChannelStatus,
            vec![text(ch), text(new), big(pos), text(id)],
        ),
    ]
}

/// The queue row of a delivery after a change from `old`: written while it
/// is pending, deleted when it stops being pending, `None` otherwise.
pub(crate) fn queue_move(d: &Delivery, old: DeliveryStatus) -> Option<(Stmt, Values)> {
    let key = vec![
        text(&d.channel_id),
        text(&d.ordering_key),
        big(d.position),
        text(&d.id),
    ];
    if d.status == DeliveryStatus::Pending {
        let mut values = key;
        values.push(
            d.next_attempt_at
                .as_ref()
                .map(super::codec::micros)
                .and_then(big),
        );
        Some((Stmt::PutQueue, values))
    } else if old == DeliveryStatus::Pending {
        Some((Stmt::DelQueue, key))
    } else {
        None
    }
}

/// A growing, jittered pause after a lost round.
fn pause(round: u32) -> Duration {
    let cap = 2u64 << round.min(6);
    Duration::from_millis(1 + random_u64() % cap)
}

impl Inner {
    /// Writes `q`'s head row from its queue rows (see the module doc).
    /// `from`: the lowest position the caller wrote or removed; the queue is
    /// read from there when it is below the current head.
    pub(crate) async fn settle_head(&self, q: &Queue, from: Option<i64>) -> Result<()> {
        for round in 0..MAX_ROUNDS {
            let seen = self
                .row_serial::<HeadState>(Stmt::GetHead, head_key(q))
                .await?;
            let start = match (seen.as_ref().and_then(|s| s.1), from) {
                (Some(head), Some(from)) => head.min(from),
                (Some(head), None) => head,
                (None, Some(from)) => from,
                (None, None) if seen.is_none() => return Ok(()),
                (None, None) => i64::MIN,
            };
            let entries: Vec<Entry> = self
                .scan(
                    Stmt::QueueFrom,
                    vec![text(&q.channel), text(&q.key), big(start)],
                )
                .await?;
            let head = head_of(&entries);
            let rev = random_u64() as i64;
            let Some((stmt, values)) = head_change(q, seen.map(|s| s.0), head.as_ref(), rev) else {
                return Ok(());
            };
            if self.lwt(stmt, values).await? {
                return Ok(());
            }
            tokio::time::sleep(pause(round)).await;
        }
        Err(Error::Unavailable(format!(
            "the head of delivery queue {}/{} stayed contended",
            q.channel, q.key
        )))
    }

    /// After a delivery's row changed from `old` to `d`'s state: its status
    /// list rows and queue row (one logged batch with `row`, the row's own
    /// write, when given), then its queue's head.
    pub(crate) async fn sync_delivery(
        &self,
        row: Option<(Stmt, Values)>,
        old: DeliveryStatus,
        d: &Delivery,
    ) -> Result<()> {
        let mut ops: Vec<(Stmt, Values)> = row.into_iter().collect();
        if d.status != old {
            ops.extend(status_moves(d, old));
        }
        let queue = queue_move(d, old);
        let queued = queue.is_some();
        ops.extend(queue);
        self.batch(ops).await?;
        if queued {
            self.settle_head(&Queue::of(d), Some(d.position)).await?;
        }
        Ok(())
    }

    /// Repairs a queue whose head row names a delivery that is no longer
    /// pending (its recorder died before its queue rows): from `from` on,
    /// drops the queue rows of settled deliveries (fixing their status list
    /// rows) up to the first pending one, then settles the head.
    pub(crate) async fn repair_queue(&self, q: &Queue, from: i64) -> Result<()> {
        let entries: Vec<Entry> = self
            .scan(
                Stmt::QueueFrom,
                vec![text(&q.channel), text(&q.key), big(from)],
            )
            .await?;
        for (position, id, _) in entries {
            let del = (
                Stmt::DelQueue,
                vec![text(&q.channel), text(&q.key), big(position), text(&id)],
            );
            match self.get_delivery(&id).await? {
                Some(d) if d.status == DeliveryStatus::Pending => break,
                Some(d) => {
                    tracing::warn!(delivery = %id, status = d.status.as_str(), "repairing a delivery queue left behind");
                    let mut ops = vec![del];
                    ops.extend(status_moves(&d, DeliveryStatus::Pending));
                    self.batch(ops).await?;
                }
                None => self.batch(vec![del]).await?,
            }
        }
        self.settle_head(q, Some(from)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeliveryStatus::{Delivered, Failed, Pending};

    fn delivery(status: DeliveryStatus) -> Delivery {
        let at = chrono::DateTime::from_timestamp_micros(1_000).expect("time");
        Delivery {
            id: "d1".into(),
            event_id: "e1".into(),
            channel_id: "ch".into(),
            event_type: "stock.changed".into(),
            ordering_key: "P".into(),
            position: 7,
            payload: serde_json::json!({}),
            status,
            tries: 0,
            attempts: vec![],
            next_attempt_at: (status == Pending).then_some(at),
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn queue_rows_follow_pending() {
        let key = vec![text("ch"), text("P"), big(7), text("d1")];
        assert_eq!(
            queue_move(&delivery(Pending), Pending),
            Some((Stmt::PutQueue, [key.clone(), vec![big(1_000)]].concat()))
        );
        assert_eq!(
            queue_move(&delivery(Delivered), Pending),
            Some((Stmt::DelQueue, key))
        );
        assert_eq!(queue_move(&delivery(Delivered), Failed), None);
    }

    #[test]
    fn status_moves_delete_the_old_and_write_the_new() {
        let moves = status_moves(&delivery(Failed), Pending);
        let stmts: Vec<Stmt> = moves.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            stmts,
            [
                Stmt::DelDlvStatus,
                Stmt::PutDlvStatus,
                Stmt::DelDlvChannelStatus,
                Stmt::PutDlvChannelStatus
            ]
        );
        assert_eq!(moves[0].1[0], text("pending"));
        assert_eq!(moves[3].1[1], text("failed"));
    }

    #[test]
    fn pauses_grow_and_stay_bounded() {
        for round in 0..MAX_ROUNDS {
            let p = pause(round);
            assert!(
                p >= Duration::from_millis(1) && p <= Duration::from_millis(129),
                "{p:?}"
            );
        }
    }
}
