//! Leases: how a webhook worker holds a delivery while it attempts it, so
//! that any number of workers can run (see `Store::claim_delivery`).
//!
//! Each claim carries a token no other claim ever had (the worker's id, its
//! process, a random part and a counter), which fences the recording of the
//! attempt. An attempt, recording included, must end before its lease: the
//! worker abandons one that has not finished `RECORD_MARGIN` before the
//! lease runs out, since another worker may then take the delivery over.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use agusto_schemas::Timestamp;
use agusto_store::Lease;

/// Time kept free at the end of a lease: an attempt still running then is
/// abandoned rather than recorded late.
pub const RECORD_MARGIN: Duration = Duration::from_millis(500);

/// Issues this worker's leases.
#[derive(Debug)]
pub struct Claimer {
    prefix: String,
    next: AtomicU64,
}

impl Claimer {
    /// Leases of the worker `worker_id` (e.g. its instance id). Tokens stay
    /// unique even when several processes share an id.
    pub fn new(worker_id: &str) -> Claimer {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let mut random = [0u8; 6];
        let random = match getrandom::fill(&mut random) {
            Ok(()) => random
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
            Err(_) => format!("{nanos:08x}"),
        };
        Claimer {
            prefix: format!("{worker_id}/{}-{random}", std::process::id()),
            next: AtomicU64::new(1),
        }
    }

    /// A new lease from `now` for `length`, with a token never issued before.
    pub fn lease(&self, now: Timestamp, length: Duration) -> Lease {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        Lease {
            holder: format!("{}#{n}", self.prefix),
            until: now + chrono::Duration::from_std(length).unwrap_or(chrono::Duration::MAX),
        }
    }
}

/// Runs `attempt` (claimed with a lease of `length` just before) while the
/// lease has at least [`RECORD_MARGIN`] left; `None` when it had to be
/// abandoned.
pub async fn within_lease<F: Future>(length: Duration, attempt: F) -> Option<F::Output> {
    tokio::time::timeout(length.saturating_sub(RECORD_MARGIN), attempt)
        .await
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::{Instant, advance, sleep};

    #[test]
    fn tokens_are_never_reused_and_leases_run_from_now() {
        let (a, b) = (Claimer::new("webhooks-1"), Claimer::new("webhooks-1"));
        let now = agusto_schemas::now();
        let leases = [
            a.lease(now, Duration::from_secs(30)),
            a.lease(now, Duration::from_secs(30)),
            b.lease(now, Duration::from_secs(30)),
        ];
        assert!(leases[0].holder.starts_with("webhooks-1/"));
        assert_ne!(leases[0].holder, leases[1].holder);
        assert_ne!(
            leases[0].holder, leases[2].holder,
            "same id, other process state"
        );
        assert_eq!(leases[0].until - now, chrono::Duration::seconds(30));
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_that_fits_its_lease_completes() {
        let started = Instant::now();
        let out = within_lease(Duration::from_secs(15), async {
            sleep(Duration::from_secs(14)).await;
            "recorded"
        })
        .await;
        assert_eq!(out, Some("recorded"));
        assert_eq!(started.elapsed(), Duration::from_secs(14));
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_outlasting_its_lease_is_abandoned_before_the_lease_ends() {
        let lease = Duration::from_secs(15);
        let started = Instant::now();
        let attempt = tokio::spawn(within_lease(lease, async {
            sleep(Duration::from_secs(60)).await;
            "recorded too late"
        }));
        tokio::task::yield_now().await; // the attempt starts (and its clock)
        advance(lease - RECORD_MARGIN - Duration::from_millis(1)).await;
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!attempt.is_finished(), "still within its lease");
        advance(Duration::from_millis(1)).await;
        assert_eq!(attempt.await.expect("task"), None);
        assert_eq!(started.elapsed(), lease - RECORD_MARGIN);
        assert!(
            started.elapsed() < lease,
            "abandoned before another worker may claim"
        );
    }
}
