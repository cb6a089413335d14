//! Webhook deliveries: fan-out, updates, and the per-(channel, key) queues.
//!
//! A delivery is one `deliveries` row plus key-only rows in its list tables.
//! While pending it is also in its queue, `delivery_queue ((channel_id,
//! ordering_key), position, id)`, and each non-empty queue has one
//! `delivery_heads` row: its head (lowest pending position) and the
//! earliest due time of any of its deliveries — all `due_deliveries` and
//! `next_delivery_due` read.
//!
//! Several webhook workers run these at once, so nothing here relies on a
//! single writer:
//!
//! - Fan-out writes its rows (delivery, list rows, queue row) at a fixed,
//!   tiny write timestamp ([`FANOUT_WRITE_TIMESTAMP`]). Any later change of
//!   those cells (an attempt recorded, a queue row deleted) has a normal
//!   timestamp and wins, so a fan-out that lands late — another worker
//!   repeating the same round — can never bring a delivered or failed
//!   delivery back. Two fan-outs of one delivery write (nearly) the same
//!   values; ids already stored are skipped.
//! - An attempt is made only under a claim, and recorded only by the
//!   claim's holder (`delivery_claims.rs`).
//! - After its rows, every writer of a queue settles the queue's head row
//!   with a conditional write (`delivery_heads.rs`).

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use scylla::DeserializeRow;

use super::Inner;
use super::codec::{
    Values, at, big, from_json, micros, opt_at, opt_time, required, shard_of, text, time, to_json,
};
use super::delivery_heads::queue_move;
use super::delivery_queue::{Queue, chunks};
use super::statements::Stmt;
use crate::{Delivery, DeliveryStatus, Error, Result};

/// Queue heads a fan-out settles at once.
const SETTLES_AT_ONCE: usize = 16;

/// The write timestamp of fan-out rows (microseconds): below any real
/// clock, so every later write of the same cells wins over them.
pub(crate) const FANOUT_WRITE_TIMESTAMP: i64 = 1;

/// Data per logged batch of a fan-out (ScyllaDB warns above 128 KiB by
/// default). A fan-out may be split: it is idempotent and its position is
/// written last, so a failure half-way is repaired by the next round.
const FANOUT_BATCH_BYTES: usize = 96 * 1024;

/// A `deliveries` row.
#[derive(Debug, DeserializeRow)]
pub(crate) struct DeliveryRow {
    id: String,
    event_id: Option<String>,
    channel_id: Option<String>,
    event_type: Option<String>,
    ordering_key: Option<String>,
    position: Option<i64>,
    payload: Option<String>,
    status: Option<String>,
    tries: Option<i64>,
    attempts: Option<String>,
    next_attempt_at: Option<i64>,
    created_at: Option<i64>,
    updated_at: Option<i64>,
    claimed_by: Option<String>,
    lease_until: Option<i64>,
}

impl DeliveryRow {
    /// When the lease on it lapses, if it is held (microseconds).
    pub(crate) fn lease_until(&self) -> Option<i64> {
        self.lease_until.filter(|_| self.claimed_by.is_some())
    }

    /// Decodes the row.
    pub(crate) fn into_delivery(self) -> Result<Delivery> {
        let status = required(self.status, "delivery status")?;
        let status = DeliveryStatus::parse(&status)
            .ok_or_else(|| Error::Corrupt(format!("unknown delivery status {status:?}")))?;
        let tries = required(self.tries, "delivery tries")?;
        Ok(Delivery {
            id: self.id,
            event_id: required(self.event_id, "delivery event_id")?,
            channel_id: required(self.channel_id, "delivery channel_id")?,
            event_type: required(self.event_type, "delivery event_type")?,
            ordering_key: required(self.ordering_key, "delivery ordering_key")?,
            position: required(self.position, "delivery position")?,
            payload: from_json(
                &required(self.payload, "delivery payload")?,
                "delivery payload",
            )?,
            status,
            tries: u32::try_from(tries)
                .map_err(|_| Error::Corrupt(format!("delivery tries {tries}")))?,
            attempts: from_json(
                &required(self.attempts, "delivery attempts")?,
                "delivery attempts",
            )?,
            next_attempt_at: opt_time(self.next_attempt_at)?,
            created_at: time(required(self.created_at, "delivery created_at")?)?,
            updated_at: time(required(self.updated_at, "delivery updated_at")?)?,
        })
    }
}

/// The values of `PutDelivery`.
pub(crate) fn delivery_values(d: &Delivery) -> Result<Values> {
    Ok(vec![
        text(&d.id),
        text(&d.event_id),
        text(&d.channel_id),
        text(&d.event_type),
        text(&d.ordering_key),
        big(d.position),
        text(&to_json(&d.payload)?),
        text(d.status.as_str()),
        big(i64::from(d.tries)),
        text(&to_json(&d.attempts)?),
        opt_at(d.next_attempt_at.as_ref()),
        at(&d.created_at),
        at(&d.updated_at),
    ])
}

/// The list-table rows of a delivery.
fn list_rows(d: &Delivery) -> Vec<(Stmt, Values)> {
    let (id, pos, ch, st) = (
        d.id.as_str(),
        d.position,
        d.channel_id.as_str(),
        d.status.as_str(),
    );
    vec![
        (
            Stmt::PutDlvPosition,
            vec![big(shard_of(id)), big(pos), text(id)],
        ),
        (
            Stmt::PutDlvStatus,
            vec![text(st), big(shard_of(id)), big(pos), text(id)],
        ),
        (Stmt::PutDlvChannel, vec![text(ch), big(pos), text(id)]),
        (
            Stmt::PutDlvChannelStatus,
            vec![text(ch), text(st), big(pos), text(id)],
        ),
    ]
}

impl Inner {
    /// One delivery.
    pub(crate) async fn get_delivery(&self, id: &str) -> Result<Option<Delivery>> {
        self.row::<DeliveryRow>(Stmt::GetDelivery, vec![text(id)])
            .await?
            .map(DeliveryRow::into_delivery)
            .transpose()
    }

    /// Inserts the deliveries whose id is new (the first of repeated ids),
    /// settles the head of every queue with a pending one among them, then
    /// raises the fan-out position to `position` (never lowers it).
    pub(crate) async fn fan_out(&self, deliveries: &[Delivery], position: i64) -> Result<()> {
        let mut distinct: Vec<&Delivery> = Vec::new();
        for d in deliveries {
            if !distinct.iter().any(|f| f.id == d.id) {
                distinct.push(d);
            }
        }
        let stored =
            futures::future::try_join_all(distinct.iter().map(|d| self.get_delivery(&d.id)))
                .await?;
        // Queues to settle, from their lowest position in this round: those
        // of new pending deliveries, and of stored ones still pending (a
        // repeated round whose first run may have died before its heads).
        let mut settle: BTreeMap<Queue, i64> = BTreeMap::new();
        let mut units: Vec<Vec<(Stmt, Values)>> = Vec::new();
        for (d, stored) in distinct.into_iter().zip(stored) {
            let pending = stored.as_ref().unwrap_or(d).status == DeliveryStatus::Pending;
            if pending {
                let from = settle.entry(Queue::of(d)).or_insert(d.position);
                *from = (*from).min(d.position);
            }
            if stored.is_none() {
                let mut unit = vec![(Stmt::PutDelivery, delivery_values(d)?)];
                unit.extend(list_rows(d));
                unit.extend(queue_move(d, DeliveryStatus::Pending).filter(|_| pending));
                units.push(unit);
            }
        }
        for chunk in chunks(units, FANOUT_BATCH_BYTES) {
            self.batch_at(chunk, FANOUT_WRITE_TIMESTAMP).await?;
        }
        let settles: Vec<_> = settle
            .iter()
            .map(|(q, from)| self.settle_head(q, Some(*from)))
            .collect();
        futures::stream::iter(settles)
            .buffer_unordered(SETTLES_AT_ONCE)
            .try_collect::<Vec<()>>()
            .await?;
        // The mark is the highest row; the one it replaces is deleted by
        // key (a range deletion would need Cassandra 3.0). A stale lower row
        // left by a concurrent fan-out is harmless: readers take the highest.
        let position = position.max(0);
        let previous = self.fanout_position().await?;
        let mut ops = vec![(Stmt::PutFanoutMark, vec![big(position)])];
        if previous < position {
            ops.push((Stmt::DelFanoutMark, vec![big(previous)]));
        }
        self.batch(ops).await
    }

    /// The fan-out position, 0 before the first fan-out.
    pub(crate) async fn fanout_position(&self) -> Result<i64> {
        Ok(self
            .row::<(i64,)>(Stmt::GetFanoutMark, vec![])
            .await?
            .map_or(0, |(p,)| p))
    }

    /// Replaces the mutable fields of a delivery and releases any lease;
    /// `Conflict` if there is none. Its list and queue rows follow in the
    /// same logged batch, then its queue's head.
    pub(crate) async fn update_delivery(&self, d: &Delivery) -> Result<()> {
        let old = self
            .get_delivery(&d.id)
            .await?
            .ok_or_else(|| Error::Conflict(format!("no such delivery {}", d.id)))?;
        let mut values = outcome_values(d)?;
        values.push(text(&old.id));
        let row = (Stmt::UpdateDelivery, values);
        let now = Delivery {
            status: d.status,
            tries: d.tries,
            attempts: d.attempts.clone(),
            next_attempt_at: d.next_attempt_at,
            updated_at: d.updated_at,
            ..old.clone()
        };
        self.sync_delivery(Some(row), old.status, &now).await
    }
}

/// A delivery's outcome fields in the order `UpdateDelivery` and
/// `FinishDelivery` bind them: status, tries, attempts, next attempt, updated_at.
pub(super) fn outcome_values(d: &Delivery) -> Result<Values> {
    Ok(vec![
        text(d.status.as_str()),
        big(i64::from(d.tries)),
        text(&to_json(&d.attempts)?),
        d.next_attempt_at.as_ref().and_then(|n| big(micros(n))),
        at(&d.updated_at),
    ])
}
