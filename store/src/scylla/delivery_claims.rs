//! Claims: any number of webhook workers share the deliveries, and each
//! attempt is made by one of them.
//!
//! A claim is a lightweight transaction on the delivery's row: read at
//! LOCAL_SERIAL, check it is pending, due, unleased and the head of its
//! queue, then `UPDATE … SET claimed_by, lease_until IF status = ? AND
//! next_attempt_at = ? AND lease_until = ?` with the values read (Cassandra
//! 2.1 has only `=` conditions). Every change of a pending delivery's row
//! changes one of the three (a claim sets the lease; recording an attempt
//! sets a later due time or another status), so a claim built on a stale
//! read fails. Recording the attempt is conditioned on `claimed_by` (the
//! holder's token), so a worker whose lease was taken over changes nothing;
//! its queue and list rows follow in a batch, then the queue's head
//! (`delivery_heads.rs`).

use agusto_schemas::Timestamp;

use super::Inner;
use super::codec::{at, big, micros, text};
use super::deliveries::DeliveryRow;
use super::delivery_heads::{HeadState, head_key};
use super::delivery_queue::Queue;
use super::statements::Stmt;
use crate::{Delivery, DeliveryStatus, Error, Lease, Result};

/// Whether a delivery read with `lease_until` may be claimed at `now`
/// (microseconds): pending, due, and no lease running past `now`.
pub(crate) fn claimable(d: &Delivery, lease_until: Option<i64>, now: i64) -> bool {
    d.status == DeliveryStatus::Pending
        && d.next_attempt_at.as_ref().is_some_and(|n| micros(n) <= now)
        && lease_until.is_none_or(|l| l <= now)
}

impl Inner {
    /// See [`crate::Store::claim_delivery`].
    pub(crate) async fn claim_delivery(
        &self,
        id: &str,
        lease: &Lease,
        now: &Timestamp,
    ) -> Result<Option<Delivery>> {
        let Some(row) = self
            .row_serial::<DeliveryRow>(Stmt::GetDelivery, vec![text(id)])
            .await?
        else {
            return Ok(None);
        };
        let seen_lease = row.lease_until();
        let d = row.into_delivery()?;
        if !claimable(&d, seen_lease, micros(now)) {
            return Ok(None);
        }
        let head = self
            .row::<HeadState>(Stmt::GetHead, head_key(&Queue::of(&d)))
            .await?;
        if head.and_then(|(_, p, i)| p.zip(i)) != Some((d.position, d.id.clone())) {
            return Ok(None);
        }
        let applied = self
            .lwt(
                Stmt::ClaimDelivery,
                vec![
                    text(&lease.holder),
                    at(&lease.until),
                    text(id),
                    text(DeliveryStatus::Pending.as_str()),
                    d.next_attempt_at.as_ref().and_then(|n| big(micros(n))),
                    seen_lease.and_then(big),
                ],
            )
            .await?;
        Ok(applied.then_some(d))
    }

    /// See [`crate::Store::finish_delivery`].
    pub(crate) async fn finish_delivery(&self, d: &Delivery, holder: &str) -> Result<bool> {
        let applied = self
            .lwt(Stmt::FinishDelivery, {
                let mut values = super::deliveries::outcome_values(d)?;
                values.extend([text(&d.id), text(holder)]);
                values
            })
            .await?;
        if !applied {
            return match self.get_delivery(&d.id).await? {
                None => Err(Error::Conflict(format!("no such delivery {}", d.id))),
                Some(_) => Ok(false),
            };
        }
        // The attempt is recorded; what follows only mirrors it, and a
        // failure here is repaired later (see delivery_heads.rs).
        if let Err(e) = self.sync_delivery(None, DeliveryStatus::Pending, d).await {
            tracing::warn!(delivery = %d.id, error = %e, "a recorded attempt's queue rows lag; they are repaired later");
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_due_unleased_pending_deliveries_are_claimable() {
        let t = |us| chrono::DateTime::from_timestamp_micros(us).expect("time");
        let d = Delivery {
            id: "d".into(),
            event_id: "e".into(),
            channel_id: "ch".into(),
            event_type: "stock.changed".into(),
            ordering_key: "P".into(),
            position: 1,
            payload: serde_json::json!({}),
            status: DeliveryStatus::Pending,
            tries: 0,
            attempts: vec![],
            next_attempt_at: Some(t(100)),
            created_at: t(0),
            updated_at: t(0),
        };
        assert!(claimable(&d, None, 100), "due exactly now");
        assert!(!claimable(&d, None, 99), "not due yet");
        assert!(!claimable(&d, Some(101), 100), "leased past now");
        assert!(claimable(&d, Some(100), 100), "lease ran out");
        let unscheduled = Delivery {
            next_attempt_at: None,
            ..d.clone()
        };
        assert!(!claimable(&unscheduled, None, 100));
        let done = Delivery {
            status: DeliveryStatus::Delivered,
            ..d
        };
        assert!(!claimable(&done, None, 100));
    }
}
