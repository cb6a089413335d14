//! Webhook metrics (default registry).

use std::sync::LazyLock;

use prometheus::{HistogramVec, IntCounterVec, register_histogram_vec, register_int_counter_vec};

/// Attempts by outcome: delivered, retry, dead, gone, error.
pub static ATTEMPTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "agusto_webhook_attempts_total",
        "Webhook attempts by outcome",
        &["outcome"]
    )
    .expect("metric registers once")
});

/// Claims by outcome: `won` (this worker attempts), `lost` (another worker
/// has it, or it is no longer due), `superseded` (the lease passed to
/// another worker before the attempt was recorded; its result was dropped),
/// `abandoned` (the attempt outlasted its lease).
pub static CLAIMS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "agusto_webhook_claims_total",
        "Delivery claims by outcome",
        &["outcome"]
    )
    .expect("metric registers once")
});

/// Dead-lettered deliveries.
pub static DEAD_LETTERS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "agusto_webhook_dead_letters_total",
        "Deliveries dead-lettered",
        &["reason"]
    )
    .expect("metric registers once")
});

/// Attempt latency by outcome.
pub static LATENCY: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "agusto_webhook_delivery_seconds",
        "Webhook attempt latency",
        &["outcome"],
        vec![
            0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0
        ]
    )
    .expect("metric registers once")
});

/// Deliveries queued per channel (queue depth = pushed - popped).
pub static QUEUE_PUSHED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "agusto_webhook_queue_pushed_total",
        "Deliveries queued, per channel",
        &["channel"]
    )
    .expect("metric registers once")
});

/// Deliveries that left the queue (delivered or dead-lettered), per channel.
pub static QUEUE_POPPED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "agusto_webhook_queue_popped_total",
        "Deliveries finished, per channel",
        &["channel"]
    )
    .expect("metric registers once")
});
