//! End-to-end tests: the real `agusto` binary over HTTP on 127.0.0.1.

mod common;

mod bundles;
mod catalogue;
mod channel_rule_hooks;
mod channel_rules;
mod chaos;
mod cluster;
mod damaged;
mod durability;
mod errors;
mod http_limits;
mod kafka;
mod legacy_orders;
mod orders;
mod receiver;
mod returns;
mod saga;
mod stock_idempotency;
mod webhook_targets;
mod webhook_workers;
mod webhooks;
mod worker_defaults;
mod workflow;
mod zombie;
