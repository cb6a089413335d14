//! Receipts and adjustments applied once per change id, and the claims of
//! `Idempotency-Key`s: the part of the stock state machine that remembers
//! which changes a partition applied, and what it answered.
//!
//! A change id is a receipt or adjustment id. With an `Idempotency-Key` it
//! is derived from (principal, key), so a retried request has the same id:
//! the partition that owns the id (`partition_for(id)`) holds the claim,
//! the request's fingerprint, and decides whether a request is a retry
//! (same fingerprint) or a reused key (another one: a conflict). Every
//! partition that applies part of a change records the levels it answered,
//! so the same id again gets that answer and changes nothing.

use agusto_schemas::{StockLevel, StockReply, Timestamp};

use super::stock::{StockEffects, StockState};

/// What a partition knows of a change id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeRecord {
    /// The fingerprint of the request that claimed the id here, if one did.
    pub fingerprint: Option<String>,
    /// The levels this partition answered when it applied its part.
    pub levels: Option<Vec<StockLevel>>,
}

const REUSED_KEY: &str = "this Idempotency-Key was used for another request body";

impl StockState {
    /// The answer for a change this partition applied before (or a
    /// conflict when `claim` names another request than the one that
    /// claimed the id); `None` when the change is to be applied now.
    pub(crate) fn recorded(&self, change_id: &str, claim: Option<&str>) -> Option<StockReply> {
        let record = self.changes.get(change_id)?;
        if let (Some(want), Some(have)) = (claim, record.fingerprint.as_deref())
            && want != have
        {
            return Some(StockReply::Conflict(REUSED_KEY.into()));
        }
        record.levels.clone().map(StockReply::Recorded)
    }

    /// Records that this partition applied `change_id` and answered
    /// `levels`, claiming the id for `claim` if it is not claimed yet.
    pub(crate) fn record(
        &mut self,
        change_id: &str,
        claim: Option<&str>,
        levels: &[StockLevel],
        at: Timestamp,
        fx: &mut StockEffects,
    ) {
        let record = self.changes.entry(change_id.to_owned()).or_default();
        if record.fingerprint.is_none() {
            record.fingerprint = claim.map(str::to_owned);
        }
        record.levels = Some(levels.to_vec());
        fx.changes.push((change_id.to_owned(), at));
    }

    /// Claims `change_id` for the request with `fingerprint` (see the
    /// module docs).
    pub(crate) fn claim(
        &mut self,
        change_id: &str,
        fingerprint: &str,
        at: Timestamp,
        fx: &mut StockEffects,
    ) -> StockReply {
        let record = self.changes.entry(change_id.to_owned()).or_default();
        match record.fingerprint.as_deref() {
            Some(have) if have == fingerprint => StockReply::Claimed { first: false },
            Some(_) => StockReply::Conflict(REUSED_KEY.into()),
            None => {
                record.fingerprint = Some(fingerprint.to_owned());
                fx.changes.push((change_id.to_owned(), at));
                StockReply::Claimed { first: true }
            }
        }
    }
}
