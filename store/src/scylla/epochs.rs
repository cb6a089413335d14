//! Fencing: each log partition's writer epoch, bumped by LWT when a writer
//! takes the partition and read before each of its batches. A logged batch
//! cannot carry the condition (its rows span partitions), so a zombie whose
//! read comes before the new owner's claim and whose batch lands after it is
//! not caught: the window is one batch of the old owner. The stock writers
//! of the new owner reload after the claim, and every batch is idempotent,
//! so such a late batch re-writes what the new owner will decide again.

use super::Inner;
use super::codec::{big, text};
use super::statements::Stmt;
use crate::{Error, Fence, Result};

/// Attempts at bumping an epoch that other claims keep changing.
const CLAIM_ATTEMPTS: usize = 16;

impl Inner {
    /// Bumps and returns a partition's epoch (1 the first time).
    pub(crate) async fn claim_partition(&self, log: &str, partition: u32) -> Result<u64> {
        let key = || vec![text(log), big(i64::from(partition))];
        for _ in 0..CLAIM_ATTEMPTS {
            let current = self
                .row_serial::<(Option<i64>,)>(Stmt::GetEpoch, key())
                .await?;
            let (won, next) = match current.and_then(|(e,)| e) {
                None => (self.lwt(Stmt::InitEpoch, key()).await?, 1),
                Some(e) => {
                    let mut values = vec![big(e + 1)];
                    values.extend(key());
                    values.push(big(e));
                    (self.lwt(Stmt::CasEpoch, values).await?, e + 1)
                }
            };
            if won {
                return Ok(u64::try_from(next).unwrap_or_default());
            }
        }
        Err(Error::Unavailable(format!(
            "{log} partition {partition}: the epoch kept changing ({CLAIM_ATTEMPTS} claims lost)"
        )))
    }

    /// `Fenced` unless `fence` is the partition's epoch.
    pub(crate) async fn check_fence(&self, fence: &Fence) -> Result<()> {
        let key = vec![text(&fence.log), big(i64::from(fence.partition))];
        let current = self
            .row::<(Option<i64>,)>(Stmt::GetEpoch, key)
            .await?
            .and_then(|(e,)| e)
            .unwrap_or(0);
        if u64::try_from(current).ok() == Some(fence.epoch) {
            return Ok(());
        }
        Err(Error::Fenced(format!(
            "{} partition {} is at epoch {current}, the batch at {}",
            fence.log, fence.partition, fence.epoch
        )))
    }
}
