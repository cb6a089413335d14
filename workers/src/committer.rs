//! Group commit for the embedded runtime: the stock writers of every
//! partition hand their ready batches to one committer, which writes all
//! that are waiting in one store call (one SQLite transaction, one fsync)
//! and answers each writer. While one commit runs, the next round's batches
//! gather, so the number of fsyncs follows the disk, not the writers.

use std::sync::Arc;
use std::time::Instant;

use agusto_store::{StockBatch, Store};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::{BATCH_SIZE, STORE_LATENCY};

type Ready = (StockBatch, oneshot::Sender<agusto_store::Result<()>>);

/// Most writer batches committed together.
const MAX_GROUP: usize = 64;

/// A handle to the committer; cloned into every stock writer.
#[derive(Clone)]
pub struct Committer {
    ready: mpsc::UnboundedSender<Ready>,
}

impl Committer {
    /// Starts the committer over `store`; it stops when every handle is dropped.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (ready, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(store, queue));
        Committer { ready }
    }

    /// Writes `batch` with whatever other writers have ready; returns when
    /// it is durable (or failed, with the store's error).
    pub async fn commit(&self, batch: StockBatch) -> agusto_store::Result<()> {
        let (done, answer) = oneshot::channel();
        let stopped = || agusto_store::Error::Unavailable("the committer stopped".into());
        self.ready.send((batch, done)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(store: Arc<dyn Store>, mut queue: mpsc::UnboundedReceiver<Ready>) {
    let mut group: Vec<Ready> = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
        let (batches, answers): (Vec<StockBatch>, Vec<_>) = group.drain(..).unzip();
        BATCH_SIZE
            .with_label_values(&["group_commit"])
            .observe(batches.len() as f64);
        let started = Instant::now();
        let written = store.apply_stock_batches(&batches).await;
        STORE_LATENCY
            .with_label_values(&["apply_stock_batches"])
            .observe(started.elapsed().as_secs_f64());
        if written.is_ok() || batches.len() == 1 {
            for answer in answers {
                let _ = answer.send(written.clone());
            }
            continue;
        }
        // One bad batch (a fenced writer's) must not fail the others: each
        // on its own then, with its own answer.
        for (batch, answer) in batches.iter().zip(answers) {
            let written = store.apply_stock_batch(batch).await;
            let _ = answer.send(written);
        }
    }
}
