//! Returns of dispatched orders: requested by the channel or staff, then
//! received by staff line by line (restocked or damaged).

use agusto_schemas::{Order, ReturnedQty, Timestamp};
use serde::{Deserialize, Serialize};

/// Where a return stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnStatus {
    /// Announced; the parcel is on its way back.
    Requested,
    /// Received by staff: restocked and damaged units booked.
    Received,
}

impl ReturnStatus {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnStatus::Requested => "requested",
            ReturnStatus::Received => "received",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "requested" => Some(ReturnStatus::Requested),
            "received" => Some(ReturnStatus::Received),
            _ => None,
        }
    }
}

/// One returned line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLine {
    /// The order line's SKU (the channel's).
    pub sku: String,
    /// Warehouse product code.
    pub product_code: String,
    /// Units returned.
    pub quantity: i64,
    /// Units put back on the shelf, once received.
    pub restock: Option<i64>,
    /// Units kept as damaged, once received.
    pub damaged: Option<i64>,
}

/// A return of (part of) a dispatched order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRecord {
    /// `rtn_…` id; ids sort by creation time.
    pub id: String,
    /// The order returned.
    pub order_id: String,
    /// The order's channel.
    pub channel_id: String,
    /// Where it stands.
    pub status: ReturnStatus,
    /// Lines returned, each product once.
    pub lines: Vec<ReturnLine>,
    /// Why, as the requester said.
    pub reason: Option<String>,
    /// When it was requested.
    pub created_at: Timestamp,
    /// When it was received.
    pub received_at: Option<Timestamp>,
}

/// What a return request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnRequest {
    /// Recorded.
    Created,
    /// A line would take the units returned of a product above the units
    /// dispatched; nothing was recorded.
    Exceeds {
        /// The product.
        product_code: String,
        /// Units dispatched.
        dispatched: i64,
        /// Units of it in the order's earlier returns.
        returned: i64,
    },
}

/// Decides a return request against the order's earlier returns: `Exceeds`
/// for the first line whose product would be returned more often than it
/// was dispatched (`dispatched`: units per product).
pub fn check_return(
    request: &ReturnRecord,
    earlier: &[ReturnRecord],
    dispatched: &[(String, i64)],
) -> ReturnRequest {
    for line in &request.lines {
        let sent = dispatched
            .iter()
            .filter(|(code, _)| *code == line.product_code)
            .map(|(_, q)| *q)
            .sum::<i64>();
        let returned: i64 = earlier
            .iter()
            .flat_map(|r| &r.lines)
            .filter(|l| l.product_code == line.product_code)
            .map(|l| l.quantity)
            .sum();
        if returned.saturating_add(line.quantity) > sent {
            return ReturnRequest::Exceeds {
                product_code: line.product_code.clone(),
                dispatched: sent,
                returned,
            };
        }
    }
    ReturnRequest::Created
}

/// The stock a received split puts back: a plain line's product, a bundle
/// line's components (its units × the bundle's quantity of each), summed
/// per product.
pub fn returned_stock(order: Option<&Order>, lines: &[ReturnLine]) -> Vec<ReturnedQty> {
    let mut out: Vec<ReturnedQty> = Vec::with_capacity(lines.len());
    let mut add = |code: &str, restock: i64, damaged: i64| match out
        .iter_mut()
        .find(|r| r.product_code == code)
    {
        Some(r) => {
            r.restock = r.restock.saturating_add(restock);
            r.damaged = r.damaged.saturating_add(damaged);
        }
        None => out.push(ReturnedQty {
            product_code: code.to_owned(),
            restock,
            damaged,
        }),
    };
    for l in lines {
        let (restock, damaged) = (l.restock.unwrap_or(0), l.damaged.unwrap_or(0));
        let bundle = order
            .into_iter()
            .flat_map(|o| &o.lines)
            .find(|o| o.product_code == l.product_code && !o.components.is_empty());
        match bundle {
            Some(b) => {
                for c in &b.components {
                    let per = c.quantity / b.quantity.max(1);
                    add(
                        &c.product_code,
                        restock.saturating_mul(per),
                        damaged.saturating_mul(per),
                    );
                }
            }
            None => add(&l.product_code, restock, damaged),
        }
    }
    out
}
