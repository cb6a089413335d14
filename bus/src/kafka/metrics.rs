//! Kafka metrics: consumer lag per partition, rebalances, undecodable messages.

use std::sync::LazyLock;

use prometheus::{IntCounterVec, IntGaugeVec, register_int_counter_vec, register_int_gauge_vec};

/// Messages behind the high watermark, per topic and partition (from librdkafka statistics).
pub static CONSUMER_LAG: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "agusto_consumer_lag",
        "Consumer lag per topic partition",
        &["topic", "partition"]
    )
    .expect("metric registers once")
});

/// Rebalances seen by this process, by group and kind (assign / revoke).
pub static REBALANCES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "agusto_rebalances_total",
        "Consumer group rebalances",
        &["group", "kind"]
    )
    .expect("metric registers once")
});

/// Messages that could not be decoded (skipped), by topic.
pub static UNDECODABLE: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "agusto_undecodable_messages_total",
        "Messages skipped because they do not decode",
        &["topic"]
    )
    .expect("metric registers once")
});

/// Partitions currently assigned to this process, by group.
pub static ASSIGNED: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "agusto_assigned_partitions",
        "Partitions assigned to this process, by consumer group",
        &["group"]
    )
    .expect("metric registers once")
});
