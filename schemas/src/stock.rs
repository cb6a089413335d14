//! Stock: quantities per product, the movement ledger, reservations, and the
//! commands a stock writer applies (keyed by product code).

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// A product code and a quantity (a receipt line, a reservation line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductQty {
    /// Warehouse product code.
    pub product_code: String,
    /// Units, always positive in commands.
    pub quantity: i64,
}

/// Stored quantities of one product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    /// Warehouse product code.
    pub product_code: String,
    /// Units physically in the warehouse.
    pub on_hand: i64,
    /// Units held by open orders.
    pub reserved: i64,
    /// Bumped by every change; 0 for a product that never had stock.
    pub version: i64,
    /// Time of the last change.
    pub updated_at: Timestamp,
    /// Units physically here but not sellable (not part of `on_hand`).
    #[serde(default)]
    pub damaged: i64,
}

impl StockLevel {
    /// A product with no stock movements yet.
    pub fn empty(product_code: &str, at: Timestamp) -> Self {
        StockLevel {
            product_code: product_code.to_owned(),
            on_hand: 0,
            reserved: 0,
            version: 0,
            updated_at: at,
            damaged: 0,
        }
    }

    /// Units that can still be reserved: `on_hand - reserved`, never below 0.
    pub fn available(&self) -> i64 {
        (self.on_hand - self.reserved).max(0)
    }
}

/// Kinds of ledger movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// Stock In.
    Receipt,
    /// Manual correction of on-hand.
    Adjustment,
    /// Units held for an order.
    Reserve,
    /// A hold given back (cancel, expiry, failed multi-partition order).
    Release,
    /// Units shipped: on-hand and reserved both drop.
    StockOut,
    /// Returned units put back on the shelf (on-hand rises).
    Return,
    /// Returned units that came back damaged (damaged rises).
    ReturnDamaged,
}

impl MovementKind {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Receipt => "receipt",
            MovementKind::Adjustment => "adjustment",
            MovementKind::Reserve => "reserve",
            MovementKind::Release => "release",
            MovementKind::StockOut => "stock_out",
            MovementKind::Return => "return",
            MovementKind::ReturnDamaged => "return_damaged",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "receipt" => MovementKind::Receipt,
            "adjustment" => MovementKind::Adjustment,
            "reserve" => MovementKind::Reserve,
            "release" => MovementKind::Release,
            "stock_out" => MovementKind::StockOut,
            "return" => MovementKind::Return,
            "return_damaged" => MovementKind::ReturnDamaged,
            _ => return None,
        })
    }
}

/// One ledger row: the change of one product's quantities, with the version it produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Movement {
    /// Product changed.
    pub product_code: String,
    /// When.
    pub at: Timestamp,
    /// Why.
    pub kind: MovementKind,
    /// Change of on-hand.
    pub delta_on_hand: i64,
    /// Change of reserved.
    pub delta_reserved: i64,
    /// Change of damaged.
    #[serde(default)]
    pub delta_damaged: i64,
    /// Receipt reference, adjustment reason or order id.
    pub reference: String,
    /// Product version after this movement.
    pub version: i64,
}

/// Units of one product held for one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// Order holding the units.
    pub order_id: String,
    /// Product held.
    pub product_code: String,
    /// Units held.
    pub quantity: i64,
    /// When an unconfirmed (unpaid) hold may be swept; `None` once confirmed.
    pub expires_at: Option<Timestamp>,
}

/// A line that could not be reserved in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shortage {
    /// Product short.
    pub product_code: String,
    /// Units asked for.
    pub requested: i64,
    /// Units that were available.
    pub available: i64,
}

/// How an adjustment changes on-hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentChange {
    /// Add (or, negative, remove) units.
    Delta(i64),
    /// Set on-hand to a counted value.
    SetOnHand(i64),
    /// Add (or, negative, remove) damaged units; on-hand is untouched.
    Damaged(i64),
    /// Move units (> 0) from on-hand to damaged in one step; refused when
    /// on-hand would drop below reserved.
    MoveToDamaged(i64),
}

/// Why a reservation is given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseReason {
    /// The order was cancelled.
    Cancelled,
    /// The order expired unpaid.
    Expired,
    /// Another partition could not reserve its lines.
    Compensation,
}

/// A command applied by the stock writer that owns the products it names.
/// Every command is idempotent in effect: applying it twice changes nothing
/// the second time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StockCommand {
    /// Stock In. Lines name existing products of this partition. A
    /// partition applies a receipt id once: the same id again gets the
    /// levels it answered the first time ([`StockReply::Recorded`]).
    Receipt {
        /// Receipt id (ledger reference prefix and idempotency key).
        receipt_id: String,
        /// Supplier / delivery reference.
        reference: String,
        /// Units received.
        lines: Vec<ProductQty>,
        /// The request's fingerprint when this command also claims the id
        /// (see [`StockCommand::Claim`]): the request carried an
        /// `Idempotency-Key` and all its lines are in the partition that
        /// owns the id.
        claim: Option<String>,
    },
    /// Manual correction, applied once per adjustment id (like a receipt).
    Adjust {
        /// Adjustment id (idempotency key).
        adjustment_id: String,
        /// Product adjusted.
        product_code: String,
        /// The change.
        change: AdjustmentChange,
        /// Reason, kept in the ledger.
        reason: String,
        /// Applied only if the product is at this version
        /// ([`StockReply::VersionMismatch`] otherwise).
        expected_version: Option<i64>,
        /// The request's fingerprint when this command also claims the id
        /// (see [`StockCommand::Claim`]).
        claim: Option<String>,
    },
    /// Claims a stock change id for a request (`Idempotency-Key`): the
    /// first claim records the request's fingerprint; the same fingerprint
    /// again is the same request ([`StockReply::Claimed`]), another one a
    /// reuse of the key ([`StockReply::Conflict`]). Sent to the partition
    /// that owns the id (`partition_for(change_id)`) before the change's
    /// parts when they are in other partitions.
    Claim {
        /// Receipt or adjustment id, derived from (principal, key).
        change_id: String,
        /// SHA-256 (hex) of the request's canonical form.
        fingerprint: String,
    },
    /// Hold units for an order, all lines or none.
    Reserve {
        /// Order id.
        order_id: String,
        /// Lines of this partition, one per product.
        lines: Vec<ProductQty>,
        /// When the hold lapses unless confirmed.
        expires_at: Timestamp,
    },
    /// The order was paid: its holds no longer lapse.
    Confirm {
        /// Order id.
        order_id: String,
    },
    /// Give back an order's holds.
    Release {
        /// Order id.
        order_id: String,
        /// Why.
        reason: ReleaseReason,
    },
    /// Ship an order: its held units leave on-hand.
    StockOut {
        /// Order id.
        order_id: String,
        /// Tracking number, kept in the ledger.
        reference: String,
    },
    /// Backstop: release unconfirmed holds that lapsed before `before`.
    SweepLapsed {
        /// Holds with `expires_at < before` are released.
        before: Timestamp,
    },
    /// An order command decided here in one hop: a new order whose every
    /// line is in this partition, a later command about such an order, or
    /// the expiry of this partition's unpaid orders. Replied to with
    /// [`StockReply::Order`].
    Order(Box<crate::OrderCommand>),
    /// A saga participant's answer to the order's home partition: how the
    /// stock command of saga `step` of `order_id` went in `partition`.
    /// Appended to the home partition's log by whoever carried the step
    /// (never awaited inside a writer's loop); replied to with
    /// [`StockReply::Done`].
    SagaAnswer {
        /// Order id.
        order_id: String,
        /// The saga step answered (older steps' answers are ignored).
        step: u64,
        /// The participant partition.
        partition: u32,
        /// How it went.
        outcome: PartOutcome,
    },
    /// Returned units received, applied once per return (like a receipt):
    /// `restock` units back to on-hand (ledger kind `return`), `damaged`
    /// units to damaged (`return_damaged`). Lines name products of this
    /// partition.
    ReturnReceipt {
        /// Change id of the return's receipt (idempotency key).
        change_id: String,
        /// The return id, kept as the ledger reference.
        return_id: String,
        /// Units received per product.
        lines: Vec<ReturnedQty>,
        /// The request's fingerprint when this command also claims the id
        /// (see [`StockCommand::Claim`]).
        claim: Option<String>,
    },
}

/// Returned units of one product as received: put back or kept as damaged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnedQty {
    /// Warehouse product code.
    pub product_code: String,
    /// Units back to on-hand.
    pub restock: i64,
    /// Units to damaged.
    pub damaged: i64,
}

/// How a saga step's stock command went in one participant partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PartOutcome {
    /// Held (a reservation) or applied (confirm, release, stock-out).
    Applied,
    /// Not enough stock: nothing was held.
    Short(Vec<Shortage>),
    /// The partition did not answer or could not write; nothing is known.
    Failed(String),
}

impl StockCommand {
    /// The order this command is about, if any.
    pub fn order_id(&self) -> Option<&str> {
        match self {
            StockCommand::Reserve { order_id, .. }
            | StockCommand::Confirm { order_id }
            | StockCommand::Release { order_id, .. }
            | StockCommand::StockOut { order_id, .. }
            | StockCommand::SagaAnswer { order_id, .. } => Some(order_id),
            _ => None,
        }
    }
}

/// The outcome of a stock command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StockReply {
    /// Receipt/adjustment applied: the new levels of the products it touched.
    Levels(Vec<StockLevel>),
    /// All lines reserved (or were already reserved for this order).
    Reserved,
    /// Not enough stock: nothing was reserved.
    Short(Vec<Shortage>),
    /// Confirm / release / stock-out / sweep applied (or was a no-op).
    Done,
    /// The command breaks a rule; nothing changed.
    Rejected(String),
    /// The store could not make the batch durable; nothing changed.
    Unavailable(String),
    /// This partition applied the receipt or adjustment before (same id):
    /// the levels it answered then. Nothing changed now.
    Recorded(Vec<StockLevel>),
    /// The change id is claimed for this fingerprint; `first` when this
    /// command made the claim (a new request, not a retry).
    Claimed {
        /// True for the claim that recorded the fingerprint.
        first: bool,
    },
    /// The change id was claimed by a request with another fingerprint (an
    /// `Idempotency-Key` reused for another body); nothing changed.
    Conflict(String),
    /// The adjustment's `expected_version` is not the product's version;
    /// nothing changed.
    VersionMismatch {
        /// The product's version now.
        current_version: i64,
    },
    /// The outcome of a [`StockCommand::Order`].
    Order(Box<crate::OrderReply>),
}
