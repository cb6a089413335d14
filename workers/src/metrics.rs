//! Prometheus metrics of the writers (default registry, exported by `/metrics`).

use std::sync::LazyLock;

use prometheus::{HistogramVec, IntCounterVec, register_histogram_vec, register_int_counter_vec};

/// Commands applied, by log (`stock`, `orders`) and outcome.
pub static COMMANDS_APPLIED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "agusto_commands_applied_total",
        "Commands applied by the partition writers",
        &["log", "outcome"]
    )
    .expect("metric registers once")
});

/// Commands per writer batch, by log.
pub static BATCH_SIZE: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "agusto_batch_size",
        "Commands per writer batch (one store transaction)",
        &["log"],
        vec![
            1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0
        ]
    )
    .expect("metric registers once")
});

/// Reservation outcomes: accepted, rejected, expired, cancelled.
pub static RESERVATIONS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "agusto_reservations_total",
        "Order reservations by outcome",
        &["outcome"]
    )
    .expect("metric registers once")
});

/// Store call latency by operation.
pub static STORE_LATENCY: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "agusto_store_latency_seconds",
        "Latency of store writes by the partition writers",
        &["operation"],
        vec![
            0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0
        ]
    )
    .expect("metric registers once")
});

/// Writer batches refused because another writer claimed the partition
/// since (a zombie's writes), by log.
pub static FENCED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "agusto_writer_fenced_total",
        "Writer batches refused because another writer owns the partition now",
        &["log"]
    )
    .expect("metric registers once")
});
