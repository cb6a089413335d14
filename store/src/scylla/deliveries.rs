//! Webhook deliveries: fan-out, updates, and the per-(channel, key) queues.
//!
//! A delivery is one `deliveries` row plus key-only rows in its list tables.
//! While pending it is also in its queue, `delivery_queue ((channel_id,
//! ordering_key), position, id)`, and each non-empty queue has one
//! `delivery_heads` row: its head (lowest pending position) and the
//! earliest due time of any of its deliveries — all `due_deliveries` and
//! `next_delivery_due` read. Every change of a queue rewrites its head row in
//! the same logged batch, computed from the queue's rows read just before
//! (from the current head on, so the tombstones of delivered entries below
//! it are never scanned).
//!
//! Why this is safe without a lightweight transaction: deliveries are
//! written by the webhook worker — fan-out inserts only ids that are not
//! stored yet, and a delivery is updated by the one task attempting it
//! (deliveries of one queue go out one at a time, head first). Run one
//! webhook worker per cluster (or give each its own channels): two workers
//! updating one queue at the same moment could leave a head row that trails
//! the queue until its next change.

use std::collections::BTreeMap;

use scylla::DeserializeRow;

use super::Inner;
use super::codec::{
    Values, at, big, from_json, opt_at, opt_time, required, shard_of, text, time, to_json,
};
use super::delivery_queue::{Entry, Queue, chunks, head_row};
use super::statements::Stmt;
use crate::{Delivery, DeliveryStatus, Error, Result};

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
}

impl DeliveryRow {
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

    /// The pending deliveries of a queue, from its head on (empty when it
    /// has no head row); `from` lowers the start for a delivery that may
    /// rejoin below the head.
    async fn queue_entries(&self, q: &Queue, from: Option<i64>) -> Result<Vec<Entry>> {
        let head = self
            .row::<(Option<i64>,)>(
                Stmt::GetHead,
                vec![big(q.shard()), text(&q.channel), text(&q.key)],
            )
            .await?
            .and_then(|(p,)| p);
        let Some(head) = head else {
            return Ok(Vec::new());
        };
        let start = from.map_or(head, |f| f.min(head));
        self.scan::<Entry>(
            Stmt::QueueFrom,
            vec![text(&q.channel), text(&q.key), big(start)],
        )
        .await
    }

    /// Inserts the deliveries whose id is new (the first of repeated ids),
    /// then raises the fan-out position to `position` (never lowers it).
    pub(crate) async fn fan_out(&self, deliveries: &[Delivery], position: i64) -> Result<()> {
        let mut fresh: Vec<&Delivery> = Vec::new();
        for d in deliveries {
            if !fresh.iter().any(|f| f.id == d.id) {
                fresh.push(d);
            }
        }
        let stored =
            futures::future::try_join_all(fresh.iter().map(|d| self.get_delivery(&d.id))).await?;
        let fresh: Vec<&Delivery> = fresh
            .into_iter()
            .zip(stored)
            .filter_map(|(d, s)| s.is_none().then_some(d))
            .collect();
        // One unit of rows per queue (its deliveries and head row), and one
        // per delivery that is not pending (it joins no queue).
        let mut queues: BTreeMap<Queue, Vec<&Delivery>> = BTreeMap::new();
        let mut units: Vec<Vec<(Stmt, Values)>> = Vec::new();
        for d in &fresh {
            if d.status == DeliveryStatus::Pending {
                queues.entry(Queue::of(d)).or_default().push(d);
            } else {
                let mut unit = vec![(Stmt::PutDelivery, delivery_values(d)?)];
                unit.extend(list_rows(d));
                units.push(unit);
            }
        }
        let queued: Vec<(&Queue, &Vec<&Delivery>)> = queues.iter().collect();
        let entries =
            futures::future::try_join_all(queued.iter().map(|(q, _)| self.queue_entries(q, None)))
                .await?;
        for ((q, ds), mut entries) in queued.into_iter().zip(entries) {
            let mut unit = Vec::new();
            for d in ds {
                unit.push((Stmt::PutDelivery, delivery_values(d)?));
                unit.extend(list_rows(d));
                let next = d.next_attempt_at.as_ref().map(super::codec::micros);
                unit.push((
                    Stmt::PutQueue,
                    vec![
                        text(&q.channel),
                        text(&q.key),
                        big(d.position),
                        text(&d.id),
                        next.and_then(big),
                    ],
                ));
                entries.push((d.position, d.id.clone(), next));
            }
            unit.push(head_row(q, &entries));
            units.push(unit);
        }
        for chunk in chunks(units, FANOUT_BATCH_BYTES) {
            self.batch(chunk).await?;
        }
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

    /// Replaces the mutable fields of a delivery; `Conflict` if there is none.
    /// Its queue and head row follow its status and due time.
    pub(crate) async fn update_delivery(&self, d: &Delivery) -> Result<()> {
        let old = self
            .get_delivery(&d.id)
            .await?
            .ok_or_else(|| Error::Conflict(format!("no such delivery {}", d.id)))?;
        let q = Queue::of(&old);
        let (id, pos) = (old.id.as_str(), old.position);
        let mut entries = self.queue_entries(&q, Some(pos)).await?;
        entries.retain(|(p, i, _)| !(*p == pos && i == id));
        let next = d.next_attempt_at.as_ref().map(super::codec::micros);
        let mut ops = vec![(
            Stmt::UpdateDelivery,
            vec![
                text(d.status.as_str()),
                big(i64::from(d.tries)),
                text(&to_json(&d.attempts)?),
                next.and_then(big),
                at(&d.updated_at),
                text(id),
            ],
        )];
        if d.status != old.status {
            let (old_st, new_st, ch) = (
                old.status.as_str(),
                d.status.as_str(),
                old.channel_id.as_str(),
            );
            ops.extend([
                (
                    Stmt::DelDlvStatus,
                    vec![text(old_st), big(shard_of(id)), big(pos), text(id)],
                ),
                (
                    Stmt::PutDlvStatus,
                    vec![text(new_st), big(shard_of(id)), big(pos), text(id)],
                ),
                (
                    Stmt::DelDlvChannelStatus,
                    vec![text(ch), text(old_st), big(pos), text(id)],
                ),
                (
                    Stmt::PutDlvChannelStatus,
                    vec![text(ch), text(new_st), big(pos), text(id)],
                ),
            ]);
        }
        if d.status == DeliveryStatus::Pending {
            ops.push((
                Stmt::PutQueue,
                vec![
                    text(&q.channel),
                    text(&q.key),
                    big(pos),
                    text(id),
                    next.and_then(big),
                ],
            ));
            entries.push((pos, id.to_owned(), next));
        } else if old.status == DeliveryStatus::Pending {
            ops.push((
                Stmt::DelQueue,
                vec![text(&q.channel), text(&q.key), big(pos), text(id)],
            ));
        }
        ops.push(head_row(&q, &entries));
        self.batch(ops).await
    }
}
