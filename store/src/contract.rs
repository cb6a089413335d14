//! The contract every [`Store`] backend honours, written once against the
//! trait and run on each backend (enable the `contract` feature to use it
//! from another crate).
//!
//! Each scenario panics on the first broken promise. Scenarios use their own
//! keys and their own year of timestamps, so [`run_all`] can run them one
//! after another on one store; that store must start empty. Timestamps have
//! millisecond precision, which every backend keeps.

mod access;
mod bundles;
mod catalogue;
mod channel_rules;
mod claims;
mod deliveries;
mod fencing;
mod fixtures;
mod orders;
mod outbox;
mod paging;
mod partition;
mod returns;
mod stock;
mod stock_changes;

pub use access::tokens_and_channels;
pub use bundles::bundles_know_their_components_both_ways;
pub use catalogue::{catalogue_round_trip, sku_resolution};
pub use channel_rules::channel_stock_rules_round_trip;
pub use claims::{
    delivery_claims_are_exclusive_and_expire, queue_heads_survive_concurrent_changes,
};
pub use deliveries::{
    deliveries_list_filters_and_paging, delivery_updates_round_trip,
    due_deliveries_respect_queue_heads, fan_out_is_idempotent,
    next_delivery_due_is_earliest_pending,
};
pub use fencing::writers_are_fenced_by_a_newer_claim;
pub use orders::{
    idempotency_key_lookup, open_order_quantities_follow_status, orders_round_trip_and_filters,
};
pub use outbox::outbox_positions_follow_writes;
pub use paging::{invalid_cursor_is_an_error, paging_covers_everything_once};
pub use partition::load_partition_returns_what_batches_wrote;
pub use returns::returns_are_limited_by_what_was_dispatched;
pub use stock::{applied_offsets, ledger_sums_match, stock_batch_is_atomic_and_replay_safe};
pub use stock_changes::stock_changes_are_recorded_per_partition_until_they_expire;

use crate::Store;

/// Runs every scenario, in turn, on one initially empty store.
pub async fn run_all(store: &dyn Store) {
    store.ping().await.expect("ping");
    catalogue_round_trip(store).await;
    sku_resolution(store).await;
    paging_covers_everything_once(store).await;
    invalid_cursor_is_an_error(store).await;
    stock_batch_is_atomic_and_replay_safe(store).await;
    ledger_sums_match(store).await;
    applied_offsets(store).await;
    stock_changes_are_recorded_per_partition_until_they_expire(store).await;
    orders_round_trip_and_filters(store).await;
    idempotency_key_lookup(store).await;
    open_order_quantities_follow_status(store).await;
    load_partition_returns_what_batches_wrote(store).await;
    writers_are_fenced_by_a_newer_claim(store).await;
    tokens_and_channels(store).await;
    channel_stock_rules_round_trip(store).await;
    outbox_positions_follow_writes(store).await;
    fan_out_is_idempotent(store).await;
    due_deliveries_respect_queue_heads(store).await;
    delivery_updates_round_trip(store).await;
    deliveries_list_filters_and_paging(store).await;
    delivery_claims_are_exclusive_and_expire(store).await;
    queue_heads_survive_concurrent_changes(store).await;
    next_delivery_due_is_earliest_pending(store).await;
    returns_are_limited_by_what_was_dispatched(store).await;
    bundles_know_their_components_both_ways(store).await;
}
