//! `agusto serve`'s wiring: the in-process stock log, the one writer
//! runtime ([`crate::runtime`]) over it with a group committer and the
//! published levels, and the webhook worker. Used by the tests too.

use std::sync::Arc;
use std::time::Duration;

use agusto_bus::embedded;
use agusto_schemas::{StockCommand, StockReply};
use agusto_store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::runtime::Timers;
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
    webhooks: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

/// Starts the writers (and their timers) over `store`.
pub async fn start(store: Arc<dyn Store>, settings: &Settings) -> agusto_store::Result<Running> {
    let mut stock_first = Vec::new();
    for p in 0..settings.stock_partitions {
        stock_first.push(store.applied_offset(STOCK_LOG, p).await?.unwrap_or(0) + 1);
    }
    let (stock_bus, logs) = embedded::log::<StockCommand, StockReply>(
        settings.stock_partitions,
        settings.queue_capacity,
        &stock_first,
    );
    let stock: StockBus = Arc::new(stock_bus);
    let committer = crate::committer::Committer::start(store.clone());
    let published = Arc::new(crate::published::PublishedLevels::new(
        settings.stock_partitions,
    ));
    let carrier = Carrier::new(&stock, settings.stock_wait);
    let timers = Timers {
        expiry_interval: settings.expiry_interval,
        lapse_grace: settings.lapse_grace,
    };
    // One runtime loop per partition, so partitions decide side by side
    // (their writes still meet in the committer). They run until the log
    // closes (every sender gone): what was queued is applied first.
    let (_, forever) = watch::channel(false);
    let mut writers = Vec::with_capacity(logs.len());
    for log in logs {
        let (store, committer, published) = (store.clone(), committer.clone(), published.clone());
        let (carrier, timers, forever) = (carrier.clone(), timers.clone(), forever.clone());
        let partitions = settings.stock_partitions;
        let writer = move |p: u32| {
            StockWriter::new(p, partitions, store.clone())
                .with_committer(committer.clone())
                .with_published(published.clone())
                .with_carrier(carrier.clone())
        };
        writers.push(tokio::spawn(async move {
            crate::runtime::run_stock_writers(&log, writer, timers, forever).await;
        }));
    }
    let (stop, _) = watch::channel(false);
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
        webhooks,
        stop,
    })
}

impl Running {
    /// The warehouse to hand to the ingress.
    pub fn warehouse(&self) -> Arc<Warehouse> {
        self.warehouse.clone()
    }

    /// Stops the webhook worker, lets the writers finish what is queued, and
    /// waits for them (at most `grace`). Call after the ingress stopped
    /// taking requests (the log closes when its last sender goes).
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
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
