//! Agusto WMS workers: the pure domain (stock ledger, order lifecycle,
//! reservation expiry), the partition writers that apply it, and the
//! embedded runtime that wires them to in-process logs.

pub mod cluster;
pub mod committer;
pub mod domain;
pub mod embedded;
mod fault;
pub mod ledger;
pub mod metrics;
mod order_outcome;
pub mod published;
pub mod runtime;
pub mod saga_carrier;
mod stock_outcome;
pub mod stock_writer;
pub mod warehouse;
mod warehouse_changes;
pub mod webhooks;

pub use warehouse::{Error, StockChanged, Warehouse};
