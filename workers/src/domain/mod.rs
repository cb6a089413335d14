//! The pure domain: no IO, driven by the writers and by tests directly.

pub mod effects;
pub mod order;
pub mod partition;
mod quantities;
mod returns;
pub mod saga;
pub mod stock;
mod stock_changes;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod saga_proptests;
#[cfg(test)]
mod saga_tests;
