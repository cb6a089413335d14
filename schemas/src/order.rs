//! Orders: the lifecycle, the commands an order writer applies (keyed by
//! order id) and its replies.

use serde::{Deserialize, Serialize};

use crate::{Shortage, Timestamp};

/// Order status. The only transitions are those of [`OrderStatus::after`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Stock held, waiting for payment until `expires_at`.
    Reserved,
    /// Paid; on the staff pick list.
    PendingApproval,
    /// Being picked.
    Picking,
    /// Packed, waiting for the carrier.
    Packed,
    /// Left the warehouse (terminal).
    Dispatched,
    /// Cancelled, stock released (terminal).
    Cancelled,
    /// Unpaid past `expires_at`, stock released (terminal).
    Expired,
}

impl OrderStatus {
    /// All statuses, in lifecycle order.
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::Reserved,
        OrderStatus::PendingApproval,
        OrderStatus::Picking,
        OrderStatus::Packed,
        OrderStatus::Dispatched,
        OrderStatus::Cancelled,
        OrderStatus::Expired,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Reserved => "reserved",
            OrderStatus::PendingApproval => "pending_approval",
            OrderStatus::Picking => "picking",
            OrderStatus::Packed => "packed",
            OrderStatus::Dispatched => "dispatched",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        OrderStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// True while the order holds stock.
    pub fn holds_stock(self) -> bool {
        matches!(
            self,
            OrderStatus::Reserved
                | OrderStatus::PendingApproval
                | OrderStatus::Picking
                | OrderStatus::Packed
        )
    }

    /// The status `action` leads to from `self`, or `None` when the lifecycle
    /// does not allow it:
    /// reserved →paid→ pending_approval →pick→ picking →pack→ packed
    /// →complete→ dispatched; cancel from any stock-holding status; expire
    /// only from reserved.
    pub fn after(self, action: &OrderAction) -> Option<OrderStatus> {
        use OrderStatus::*;
        match (self, action) {
            (Reserved, OrderAction::Pay) => Some(PendingApproval),
            (PendingApproval, OrderAction::Pick) => Some(Picking),
            (Picking, OrderAction::Pack) => Some(Packed),
            (Packed, OrderAction::Complete { .. }) => Some(Dispatched),
            (s, OrderAction::Cancel) if s.holds_stock() => Some(Cancelled),
            (Reserved, OrderAction::Expire) => Some(Expired),
            _ => None,
        }
    }
}

/// One order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The channel's SKU.
    pub sku: String,
    /// The warehouse product it maps to.
    pub product_code: String,
    /// Units ordered (> 0).
    pub quantity: i64,
    /// For a line on a bundle: the units of each component the line holds
    /// (the bundle's component quantity × `quantity`); empty for a plain
    /// product, which holds `quantity` of `product_code` itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<crate::ProductQty>,
}

impl OrderLine {
    /// A line on a plain product.
    pub fn plain(sku: &str, product_code: &str, quantity: i64) -> Self {
        OrderLine {
            sku: sku.to_owned(),
            product_code: product_code.to_owned(),
            quantity,
            components: Vec::new(),
        }
    }
}

/// The stock an order's lines hold: each plain line's product, each bundle
/// line's components, summed per product, in the order first named.
pub fn stock_lines(lines: &[OrderLine]) -> Vec<crate::ProductQty> {
    let mut out: Vec<crate::ProductQty> = Vec::with_capacity(lines.len());
    let mut add = |code: &str, quantity: i64| match out.iter_mut().find(|w| w.product_code == code)
    {
        Some(w) => w.quantity = w.quantity.saturating_add(quantity),
        None => out.push(crate::ProductQty {
            product_code: code.to_owned(),
            quantity,
        }),
    };
    for l in lines {
        if l.components.is_empty() {
            add(&l.product_code, l.quantity);
        } else {
            for c in &l.components {
                add(&c.product_code, c.quantity);
            }
        }
    }
    out
}

/// One entry of an order's status history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    /// Status entered.
    pub status: OrderStatus,
    /// When.
    pub at: Timestamp,
}

/// An order as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Agusto order id, derived from (channel, external id).
    pub id: String,
    /// The channel's own order id.
    pub external_id: String,
    /// Owning channel.
    pub channel_id: String,
    /// Current status.
    pub status: OrderStatus,
    /// Lines, as ordered.
    pub lines: Vec<OrderLine>,
    /// Payment deadline while `reserved`.
    pub expires_at: Option<Timestamp>,
    /// Set on dispatch.
    pub tracking_number: Option<String>,
    /// Set on dispatch.
    pub carrier: Option<String>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Every status entered, oldest first.
    pub history: Vec<StatusChange>,
    /// `Idempotency-Key` the order was created with.
    pub idempotency_key: Option<String>,
    /// Free-form customer object from the storefront.
    pub customer: Option<serde_json::Value>,
    /// Free-form shipping address from the storefront.
    pub shipping_address: Option<serde_json::Value>,
}

/// A validated order to place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOrder {
    /// Order id (derived from channel and external id).
    pub order_id: String,
    /// The channel's own order id.
    pub external_id: String,
    /// Owning channel.
    pub channel_id: String,
    /// Lines with SKUs resolved to product codes; SKUs are distinct.
    pub lines: Vec<OrderLine>,
    /// Payment deadline.
    pub expires_at: Timestamp,
    /// `Idempotency-Key` header, if given.
    pub idempotency_key: Option<String>,
    /// Customer object.
    pub customer: Option<serde_json::Value>,
    /// Shipping address object.
    pub shipping_address: Option<serde_json::Value>,
}

/// A lifecycle action on an existing order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    /// Payment received.
    Pay,
    /// Staff started picking.
    Pick,
    /// Staff packed it.
    Pack,
    /// Handed to the carrier.
    Complete {
        /// Carrier tracking number.
        tracking_number: String,
        /// Carrier name.
        carrier: Option<String>,
    },
    /// Cancelled by the channel or staff.
    Cancel,
    /// Payment deadline passed.
    Expire,
}

impl OrderAction {
    /// Name used in errors (`paid`, `pick`, …).
    pub fn name(&self) -> &'static str {
        match self {
            OrderAction::Pay => "paid",
            OrderAction::Pick => "pick",
            OrderAction::Pack => "pack",
            OrderAction::Complete { .. } => "complete",
            OrderAction::Cancel => "cancel",
            OrderAction::Expire => "expire",
        }
    }
}

/// A command applied by the order writer that owns the order id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OrderCommand {
    /// Reserve stock for a new order, all lines or none.
    Place(NewOrder),
    /// Move an order along its lifecycle.
    Transition {
        /// Order id.
        order_id: String,
        /// When set, the order must belong to this channel (else `NotFound`).
        channel_id: Option<String>,
        /// What to do.
        action: OrderAction,
    },
    /// Expire this partition's unpaid orders whose deadline is before `now`.
    ExpireDue {
        /// The sweep time.
        now: Timestamp,
    },
}

/// The outcome of an order command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OrderReply {
    /// A new order, stock reserved.
    Placed(Box<Order>),
    /// The same order was placed before (same external id or idempotency key, same lines).
    Existing(Box<Order>),
    /// Same external id or idempotency key with different content.
    Conflict(String),
    /// Not enough stock; nothing stays reserved. Shortages carry product codes.
    Short(Vec<Shortage>),
    /// The transition was applied.
    Updated(Box<Order>),
    /// No such order (or not the caller's).
    NotFound,
    /// The order's status does not allow the action.
    InvalidTransition {
        /// Current status.
        status: OrderStatus,
        /// Action refused.
        action: String,
    },
    /// An expiry sweep finished; how many orders expired.
    Swept(usize),
    /// A dependency (store, stock writer) failed; nothing changed.
    Unavailable(String),
}
