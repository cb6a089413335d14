//! The embedded runtime: in-process logs, one writer task per partition, and
//! the expiry clock. Used by `agusto serve` and by the tests.

use std::sync::Arc;
use std::time::Duration;

use agusto_bus::embedded;
use agusto_schemas::{StockCommand, StockReply};
use agusto_store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::expiry;
use crate::saga_carrier::Carrier;
use crate::stock_writer::{STOCK_LOG, StockWriter};
use crate::warehouse::{StockBus, Warehouse};

/// Settings of the embedded runtime.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Stock writer partitions (products are spread over them).
    pub stock_partitions: u32,
    /// Queue capacity per partition (back-pressure beyond it).
    pub queue_capacity: usize,
    /// Longest wait for an order outcome before the ingress answers 202.
    pub order_wait: Duration,
    /// Longest wait for a receipt or adjustment.
    pub stock_wait: Duration,
    /// How often unpaid orders past their deadline are expired.
    pub expiry_interval: Duration,
    /// How long after its deadline an orphaned hold (an order that was never
    /// written) is released by the stock writers' sweep.
    pub lapse_grace: Duration,
    /// The webhook worker's settings; `None` runs no webhook worker.
    pub webhooks: Option<crate::webhooks::Settings>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            stock_partitions: 4,
            queue_capacity: 16_384,
            order_wait: Duration::from_millis(5000),
            stock_wait: Duration::from_secs(30),
            expiry_interval: Duration::from_secs(1),
            lapse_grace: Duration::from_secs(60),
            webhooks: Some(crate::webhooks::Settings::default()),
        }
    }
}

/// A started embedded warehouse.
pub struct Running {
    warehouse: Arc<Warehouse>,
    writers: Vec<JoinHandle<()>>,
    clock: JoinHandle<()>,
    webhooks: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

/// Starts the writers and the expiry clock over `store`.
pub async fn start(store: Arc<dyn Store>, settings: &Settings) -> agusto_store::Result<Running> {
    let mut stock_first = Vec::new();
    for p in 0..settings.stock_partitions {
        stock_first.push(store.applied_offset(STOCK_LOG, p).await?.unwrap_or(0) + 1);
    }
    let (stock_bus, stock_readers) = embedded::log::<StockCommand, StockReply>(
        settings.stock_partitions,
        settings.queue_capacity,
        &stock_first,
    );
    let stock: StockBus = Arc::new(stock_bus);
    let mut writers = Vec::new();
    let committer = crate::committer::Committer::start(store.clone());
    let published = Arc::new(crate::published::PublishedLevels::new(
        settings.stock_partitions,
    ));
    for r in stock_readers {
        let w = StockWriter::new(r.partition(), settings.stock_partitions, store.clone())
            .with_committer(committer.clone())
            .with_published(published.clone())
            .with_carrier(Carrier::new(&stock, settings.stock_wait));
        writers.push(tokio::spawn(w.run(r)));
    }
    let (stop, stopped) = watch::channel(false);
    let clock = tokio::spawn(expiry::run(
        stock.clone(),
        settings.expiry_interval,
        settings.lapse_grace,
        stopped,
    ));
    let webhooks = settings
        .webhooks
        .clone()
        .map(|w| tokio::spawn(crate::webhooks::run(store.clone(), w, stop.subscribe())));
    let warehouse = Arc::new(
        Warehouse::new(
            stock,
            store.clone(),
            settings.order_wait,
            settings.stock_wait,
        )
        .with_published(published),
    );
    Ok(Running {
        warehouse,
        writers,
        clock,
        webhooks,
        stop,
    })
}

impl Running {
    /// The warehouse to hand to the ingress.
    pub fn warehouse(&self) -> Arc<Warehouse> {
        self.warehouse.clone()
    }

    /// Stops the clock, lets the writers finish what is queued, and waits for
    /// them (at most `grace`). Call after the ingress stopped taking requests.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let _ = self.clock.await;
        drop(self.warehouse);
        if let Some(w) = self.webhooks {
            let _ = w.await;
        }
        let all = futures_util::future::join_all(self.writers);
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("writers did not stop within {grace:?}");
        }
    }
}
