//! The warehouse as the ingress sees it: stock and order commands sent to the
//! partition writers that own them, with bounded waits.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use agusto_bus::Bus;
use agusto_schemas::{
    AdjustmentChange, OrderCommand, OrderReply, ProductQty, StockCommand, StockLevel, StockReply,
};
use futures_util::future::join_all;

/// The stock command log.
pub type StockBus = Arc<dyn Bus<StockCommand, StockReply>>;
/// The order command log.
pub type OrderBus = Arc<dyn Bus<OrderCommand, OrderReply>>;

/// Groups lines by the stock partition that owns their product.
pub(crate) fn by_partition(
    stock: &StockBus,
    lines: &[ProductQty],
) -> BTreeMap<u32, Vec<ProductQty>> {
    let mut grouped: BTreeMap<u32, Vec<ProductQty>> = BTreeMap::new();
    for l in lines {
        grouped
            .entry(stock.partition_of(&l.product_code))
            .or_default()
            .push(l.clone());
    }
    grouped
}

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
}

/// Sends commands to the writers and waits (bounded) for their replies.
#[derive(Clone)]
pub struct Warehouse {
    stock: StockBus,
    orders: OrderBus,
    order_wait: Duration,
    stock_wait: Duration,
}

impl Warehouse {
    /// A warehouse over two logs. `order_wait` bounds waiting for an order
    /// outcome (then the caller answers 202); `stock_wait` bounds receipts
    /// and adjustments.
    pub fn new(
        stock: StockBus,
        orders: OrderBus,
        order_wait: Duration,
        stock_wait: Duration,
    ) -> Self {
        Warehouse {
            stock,
            orders,
            order_wait,
            stock_wait,
        }
    }

    /// Succeeds when both command logs can be reached.
    pub async fn ready(&self) -> Result<(), Error> {
        self.stock
            .ready()
            .await
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        self.orders
            .ready()
            .await
            .map_err(|e| Error::Unavailable(e.to_string()))
    }

    /// Stock In. Lines name distinct, existing products. Each stock partition
    /// applies its lines atomically; the new levels come back in line order.
    pub async fn receive(
        &self,
        receipt_id: &str,
        reference: &str,
        lines: &[ProductQty],
    ) -> Result<Vec<StockLevel>, Error> {
        let requests = by_partition(&self.stock, lines)
            .into_iter()
            .map(|(p, lines)| {
                let cmd = StockCommand::Receipt {
                    receipt_id: receipt_id.to_owned(),
                    reference: reference.to_owned(),
                    lines,
                };
                self.stock_request(p, cmd)
            });
        let mut levels = Vec::with_capacity(lines.len());
        for reply in join_all(requests).await {
            levels.extend(reply?);
        }
        let order: std::collections::HashMap<&str, usize> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| (l.product_code.as_str(), i))
            .collect();
        levels.sort_by_key(|l| order.get(l.product_code.as_str()).copied());
        Ok(levels)
    }

    /// A manual correction of one product's on-hand.
    pub async fn adjust(
        &self,
        adjustment_id: &str,
        product_code: &str,
        change: AdjustmentChange,
        reason: &str,
    ) -> Result<StockLevel, Error> {
        let cmd = StockCommand::Adjust {
            adjustment_id: adjustment_id.to_owned(),
            product_code: product_code.to_owned(),
            change,
            reason: reason.to_owned(),
        };
        let mut levels = self
            .stock_request(self.stock.partition_of(product_code), cmd)
            .await?;
        levels
            .pop()
            .ok_or_else(|| Error::Unavailable("adjustment gave no level".into()))
    }

    /// An order command, routed by order id; `Pending` if the outcome is not
    /// known within the order wait.
    pub async fn order(&self, order_id: &str, cmd: OrderCommand) -> Result<OrderReply, Error> {
        let p = self.orders.partition_of(order_id);
        match tokio::time::timeout(self.order_wait, self.orders.request(p, cmd)).await {
            Err(_) => Err(Error::Pending),
            Ok(Err(e)) => Err(Error::Unavailable(e.to_string())),
            Ok(Ok(OrderReply::Unavailable(why))) => Err(Error::Unavailable(why)),
            Ok(Ok(reply)) => Ok(reply),
        }
    }

    async fn stock_request(&self, p: u32, cmd: StockCommand) -> Result<Vec<StockLevel>, Error> {
        match tokio::time::timeout(self.stock_wait, self.stock.request(p, cmd)).await {
            Err(_) => Err(Error::Pending),
            Ok(Err(e)) => Err(Error::Unavailable(e.to_string())),
            Ok(Ok(StockReply::Levels(l))) => Ok(l),
            Ok(Ok(StockReply::Rejected(why))) => Err(Error::Rejected(why)),
            Ok(Ok(StockReply::Unavailable(why))) => Err(Error::Unavailable(why)),
            Ok(Ok(other)) => Err(Error::Unavailable(format!(
                "unexpected stock reply {other:?}"
            ))),
        }
    }
}
