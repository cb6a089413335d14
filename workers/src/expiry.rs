//! The expiry clock: asks each stock partition to expire the unpaid orders
//! it is the home of past their deadline (and to ask again the
//! participants of saga steps that did not answer), and to release
//! orphaned holds. Driven by the stored deadlines, so expiry survives restarts.

use std::time::Duration;

use agusto_schemas::{OrderCommand, StockCommand};
use tokio::sync::watch;

use crate::warehouse::StockBus;

/// Runs until `stop` turns true.
pub async fn run(
    stock: StockBus,
    every: Duration,
    lapse_grace: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let now = agusto_schemas::now();
        for p in 0..stock.partitions() {
            let expire = StockCommand::Order(Box::new(OrderCommand::ExpireDue { now }));
            if let Err(e) = stock.request(p, expire).await {
                tracing::warn!(partition = p, error = %e, "expiry sweep failed");
            }
        }
        let before = now - chrono::Duration::from_std(lapse_grace).unwrap_or(chrono::Duration::MAX);
        for p in 0..stock.partitions() {
            if let Err(e) = stock.request(p, StockCommand::SweepLapsed { before }).await {
                tracing::warn!(partition = p, error = %e, "lapse sweep failed");
            }
        }
    }
}
