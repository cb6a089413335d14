//! The warehouse as the ingress sees it: stock and order commands sent to the
//! stock partition writers that own them, with bounded waits. An order goes
//! to its home partition: the partition of its lines when they share one
//! (most orders: decided and recorded in one hop), else the partition of its
//! id, which runs it as a persisted saga.

use std::sync::Arc;
use std::time::Duration;

use agusto_bus::Bus;
use agusto_schemas::{OrderCommand, OrderReply, StockCommand, StockLevel, StockReply, stock_lines};
use agusto_store::Store;

use crate::domain::order::{Placement, place};

/// The stock command log.
pub type StockBus = Arc<dyn Bus<StockCommand, StockReply>>;

/// Why a warehouse command did not give a result.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command breaks a rule; nothing changed.
    #[error("{0}")]
    Rejected(String),
    /// A writer or the store failed; nothing changed.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// No answer within the wait; the command may still be applied.
    #[error("no outcome within the wait")]
    Pending,
    /// An `Idempotency-Key` reused for another request; nothing changed.
    #[error("{0}")]
    Conflict(String),
    /// An adjustment's expected version is not the product's; nothing changed.
    #[error("the product is at version {current_version}")]
    VersionMismatch {
        /// The product's version now.
        current_version: i64,
    },
}

/// What a receipt or an adjustment came to.
#[derive(Debug, Clone, PartialEq)]
pub struct StockChanged {
    /// The levels of the products it changed (a receipt's in line order).
    pub levels: Vec<StockLevel>,
    /// True when it had been applied before (a retry with the same
    /// `Idempotency-Key`): `levels` are the first answer, nothing changed now.
    pub replayed: bool,
}

/// Sends commands to the writers and waits (bounded) for their replies.
#[derive(Clone)]
pub struct Warehouse {
    pub(crate) stock: StockBus,
    store: Arc<dyn Store>,
    published: Option<Arc<crate::published::PublishedLevels>>,
    /// Placements of one order id through this process go one at a time
    /// (striped by id): two placements of one external id with different
    /// lines may go to different stock partitions, and only the second
    /// one's store read can see the first.
    placing: Arc<[tokio::sync::Mutex<()>]>,
    order_wait: Duration,
    pub(crate) stock_wait: Duration,
}

impl Warehouse {
    /// A warehouse over the stock log. `order_wait` bounds waiting for an order
    /// outcome (then the caller answers 202); `stock_wait` bounds receipts
    /// and adjustments. `store` tells where an order lives (its lines) and
    /// answers a placement that was made before.
    pub fn new(
        stock: StockBus,
        store: Arc<dyn Store>,
        order_wait: Duration,
        stock_wait: Duration,
    ) -> Self {
        Warehouse {
            stock,
            store,
            published: None,
            placing: (0..PLACING_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            order_wait,
            stock_wait,
        }
    }

    /// Answers [`Warehouse::stock_levels`] from what the writers of this
    /// process publish (the embedded mode).
    pub fn with_published(mut self, published: Arc<crate::published::PublishedLevels>) -> Self {
        self.published = Some(published);
        self
    }

    /// The stored levels of `codes` (products without a stock row left
    /// out): from the writers' published state when this process runs
    /// them and they are loaded, else from the store.
    pub async fn stock_levels(&self, codes: &[String]) -> agusto_store::Result<Vec<StockLevel>> {
        if let Some(levels) = self.published.as_ref().and_then(|p| p.levels(codes)) {
            return Ok(levels);
        }
        self.store.stock_levels(codes).await
    }

    /// Succeeds when the command log can be reached.
    pub async fn ready(&self) -> Result<(), Error> {
        self.stock
            .ready()
            .await
            .map_err(|e| Error::Unavailable(e.to_string()))
    }

    /// An order command; `Pending` if the outcome is not known within the
    /// order wait. A placement made before (same id or `Idempotency-Key`) is
    /// answered from the store; otherwise the order goes to its home stock
    /// partition ([`agusto_schemas::order_home`]): the partition of its
    /// lines when they share one (one hop), else the partition of its id,
    /// which runs the order's saga. A later command goes to the same home.
    pub async fn order(&self, order_id: &str, cmd: OrderCommand) -> Result<OrderReply, Error> {
        let gone = |e: agusto_store::Error| Error::Unavailable(e.to_string());
        let _placing = match &cmd {
            OrderCommand::Place(new) => Some(self.placing[stripe(&new.order_id)].lock().await),
            _ => None,
        };
        let home = match &cmd {
            OrderCommand::Place(new) => {
                let same_id = self.store.get_order(&new.order_id).await.map_err(gone)?;
                let same_key = match (&same_id, &new.idempotency_key) {
                    (None, Some(k)) => self
                        .store
                        .order_by_idempotency_key(&new.channel_id, k)
                        .await
                        .map_err(gone)?,
                    _ => None,
                };
                if (same_id.is_some() || same_key.is_some())
                    && let Placement::Answer(r) = place(new, same_id.as_ref(), same_key.as_ref())
                {
                    return Ok(r);
                }
                let wanted = stock_lines(&new.lines);
                self.home(order_id, wanted.iter().map(|l| l.product_code.as_str()))
            }
            OrderCommand::Transition { order_id, .. } => {
                match self.store.get_order(order_id).await.map_err(gone)? {
                    None => return Ok(OrderReply::NotFound),
                    Some(o) => {
                        let wanted = stock_lines(&o.lines);
                        self.home(order_id, wanted.iter().map(|l| l.product_code.as_str()))
                    }
                }
            }
            OrderCommand::ExpireDue { .. } => {
                return Err(Error::Rejected(
                    "expiry is the writers' own timer command".into(),
                ));
            }
        };
        let cmd = StockCommand::Order(Box::new(cmd));
        match tokio::time::timeout(self.order_wait, self.stock.request(home, cmd)).await {
            Err(_) => Err(Error::Pending),
            Ok(Err(e)) => Err(Error::Unavailable(e.to_string())),
            Ok(Ok(StockReply::Order(r))) => match *r {
                OrderReply::Unavailable(why) => Err(Error::Unavailable(why)),
                reply => Ok(reply),
            },
            Ok(Ok(other)) => Err(stock_failure(other)),
        }
    }

    /// A receipt or adjustment part: its levels, and whether the partition
    /// had applied it before.
    pub(crate) async fn stock_request(
        &self,
        p: u32,
        cmd: StockCommand,
    ) -> Result<(Vec<StockLevel>, bool), Error> {
        match tokio::time::timeout(self.stock_wait, self.stock.request(p, cmd)).await {
            Err(_) => Err(Error::Pending),
            Ok(Err(e)) => Err(Error::Unavailable(e.to_string())),
            Ok(Ok(StockReply::Levels(l))) => Ok((l, false)),
            Ok(Ok(StockReply::Recorded(l))) => Ok((l, true)),
            Ok(Ok(other)) => Err(stock_failure(other)),
        }
    }
}

impl Warehouse {
    /// The stock partition that decides an order with these products.
    fn home<'a>(&self, order_id: &str, codes: impl Iterator<Item = &'a str>) -> u32 {
        agusto_schemas::order_home(order_id, codes, self.stock.partitions())
    }
}

/// Lock stripes of placements (see `Warehouse::placing`).
const PLACING_STRIPES: usize = 4096;

/// The placement stripe of an order id.
fn stripe(order_id: &str) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    order_id.hash(&mut h);
    (h.finish() % PLACING_STRIPES as u64) as usize
}

/// The error a stock reply other than the expected outcome stands for.
pub(crate) fn stock_failure(reply: StockReply) -> Error {
    match reply {
        StockReply::Rejected(why) => Error::Rejected(why),
        StockReply::Conflict(why) => Error::Conflict(why),
        StockReply::VersionMismatch { current_version } => {
            Error::VersionMismatch { current_version }
        }
        StockReply::Unavailable(why) => Error::Unavailable(why),
        other => Error::Unavailable(format!("unexpected stock reply {other:?}")),
    }
}
