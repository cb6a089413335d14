//! The webhook worker: fans out outbox events to subscribed channels and
//! delivers them, signed, with bounded jittered retries, per-(channel,
//! product) ordering and dead letters. All state is in the store, so a
//! restart resumes where it stopped (at-least-once, same ids).
//!
//! Any number of workers may run against one store. Fan-out is idempotent
//! (deliveries have stable ids; the store keeps the first of each), and
//! every attempt is made under a claim on the delivery with a lease
//! ([`lease`]): one worker attempts it, and the next delivery of its queue
//! waits until the attempt is recorded. A worker that dies mid-attempt
//! holds the delivery until its lease runs out; then another worker
//! attempts it again (the receiver may see it twice, with the same id).

pub mod deliver;
pub mod fanout;
pub mod lease;
pub mod metrics;
pub mod ranges;
mod shown_stock;
pub mod signing;
pub mod target;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agusto_store::Store;
use tokio::sync::{Semaphore, watch};

pub use target::TargetPolicy;

/// Settings of the webhook worker.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Retries after the first attempt (then dead letter).
    pub max_retries: u32,
    /// First retry delay; ×4 per retry, with jitter.
    pub backoff_base: Duration,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Largest `Retry-After` honoured on 429 / 503.
    pub max_retry_after: Duration,
    /// Attempts in flight at once, in all.
    pub concurrency: usize,
    /// Attempts in flight at once to one channel (a slow store cannot take all).
    pub per_channel: usize,
    /// Which addresses webhooks may reach (SSRF protection).
    pub targets: TargetPolicy,
    /// How long a claim holds a delivery: longer than an attempt can take
    /// (the timeout, plus reading the channel and recording the attempt);
    /// a dead worker's deliveries wait this long before another retries.
    pub lease: Duration,
    /// This worker's id in its lease tokens (e.g. its instance id).
    pub worker_id: String,
    /// How often the worker looks for new events and due deliveries.
    pub poll: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_retries: 3,
            backoff_base: Duration::from_millis(2000),
            timeout: Duration::from_millis(10_000),
            max_retry_after: Duration::from_secs(300),
            concurrency: 64,
            per_channel: 8,
            targets: TargetPolicy::default(),
            lease: Duration::from_secs(30),
            worker_id: "webhooks".to_owned(),
            poll: Duration::from_millis(100),
        }
    }
}

/// Runs until `stop` turns true; attempts in flight then finish (each is
/// bounded by the timeout).
pub async fn run(store: Arc<dyn Store>, settings: Settings, mut stop: watch::Receiver<bool>) {
    let client = match settings.targets.client() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client could not be built; webhooks stay queued");
            return;
        }
    };
    for reason in ["retries_exhausted", "gone", "no_endpoint", "refused_target"] {
        metrics::DEAD_LETTERS.with_label_values(&[reason]).inc_by(0);
    }
    for outcome in ["won", "lost", "superseded", "abandoned"] {
        metrics::CLAIMS.with_label_values(&[outcome]).inc_by(0);
    }
    let claimer = Arc::new(lease::Claimer::new(&settings.worker_id));
    let all = Arc::new(Semaphore::new(settings.concurrency.max(1)));
    let mut per_channel: HashMap<String, Arc<Semaphore>> = HashMap::new();
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut tasks = tokio::task::JoinSet::new();
    'rounds: loop {
        if let Err(e) = fanout::fan_out(store.as_ref()).await {
            tracing::warn!(error = %e, "webhook fan-out failed; will retry");
        }
        match store
            .due_deliveries(agusto_schemas::now(), settings.concurrency * 2)
            .await
        {
            Err(e) => tracing::warn!(error = %e, "reading due webhook deliveries failed"),
            Ok(due) => {
                for d in due {
                    if in_flight
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .contains(&d.id)
                    {
                        continue;
                    }
                    let channel = per_channel
                        .entry(d.channel_id.clone())
                        .or_insert_with(|| Arc::new(Semaphore::new(settings.per_channel.max(1))))
                        .clone();
                    let (Ok(g), Ok(c)) =
                        (all.clone().try_acquire_owned(), channel.try_acquire_owned())
                    else {
                        continue;
                    };
                    in_flight
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(d.id.clone());
                    let (client, settings, store, in_flight, claimer) = (
                        client.clone(),
                        settings.clone(),
                        store.clone(),
                        in_flight.clone(),
                        claimer.clone(),
                    );
                    tasks.spawn(async move {
                        let id = d.id.clone();
                        let attempted =
                            claim_and_attempt(&client, &settings, store.as_ref(), &claimer, &id)
                                .await;
                        in_flight
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&id);
                        drop((g, c));
                        attempted
                    });
                }
            }
        }
        while tasks.try_join_next().is_some() {}
        // Look again when an attempt finishes (its slot and its queue are
        // free now; a lost claim frees nothing), or after the poll interval
        // for new events and due retries.
        let pause = tokio::time::sleep(settings.poll);
        tokio::pin!(pause);
        loop {
            tokio::select! {
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    if matches!(done, Ok(true)) {
                        break;
                    }
                }
                _ = &mut pause => break,
                _ = stop.changed() => break 'rounds,
            }
        }
    }
    while tasks.join_next().await.is_some() {}
}

/// Claims delivery `id` and, if this worker won it, makes the attempt
/// within the lease; true when it attempted.
async fn claim_and_attempt(
    client: &reqwest::Client,
    settings: &Settings,
    store: &dyn Store,
    claimer: &lease::Claimer,
    id: &str,
) -> bool {
    let now = agusto_schemas::now();
    let lease = claimer.lease(now, settings.lease);
    let claimed = match store.claim_delivery(id, &lease, now).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            metrics::CLAIMS.with_label_values(&["lost"]).inc();
            return false;
        }
        Err(e) => {
            tracing::warn!(delivery = %id, error = %e, "claiming a webhook delivery failed; it will be retried");
            return false;
        }
    };
    metrics::CLAIMS.with_label_values(&["won"]).inc();
    let attempt = deliver::attempt(client, settings, store, claimed, &lease.holder);
    match lease::within_lease(settings.lease, attempt).await {
        Some(Ok(())) => {}
        Some(Err(e)) => {
            tracing::warn!(delivery = %id, error = %e, "recording a webhook attempt failed; it will be retried");
        }
        None => {
            metrics::CLAIMS.with_label_values(&["abandoned"]).inc();
            tracing::warn!(delivery = %id, "a webhook attempt outlasted its lease; another worker retries it");
        }
    }
    true
}
