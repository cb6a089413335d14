//! Outbound events, stored in the outbox by the writer that caused them and
//! delivered to channels as webhooks.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// The kinds of event Agusto emits (the webhook `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    /// On-hand quantity of a product changed (receipt, adjustment, stock-out).
    #[serde(rename = "stock.changed")]
    StockChanged,
    /// An order left the warehouse with a tracking number.
    #[serde(rename = "order.dispatched")]
    OrderDispatched,
    /// An order moved to another status.
    #[serde(rename = "order.status_changed")]
    OrderStatusChanged,
    /// A return of an order was received (restocked and damaged units booked).
    #[serde(rename = "order.returned")]
    OrderReturned,
}

impl EventType {
    /// The wire name, e.g. `stock.changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::StockChanged => "stock.changed",
            EventType::OrderDispatched => "order.dispatched",
            EventType::OrderStatusChanged => "order.status_changed",
            EventType::OrderReturned => "order.returned",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "stock.changed" => Some(EventType::StockChanged),
            "order.dispatched" => Some(EventType::OrderDispatched),
            "order.status_changed" => Some(EventType::OrderStatusChanged),
            "order.returned" => Some(EventType::OrderReturned),
            _ => None,
        }
    }
}

/// One event. Its `id` is derived from what happened (product + version,
/// order + status), so re-applying a command re-emits the same id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Stable id (`evt_…`), the webhook id.
    pub id: String,
    /// What happened.
    pub event_type: EventType,
    /// When it happened.
    pub created_at: Timestamp,
    /// The channel it is for; `None` means every channel that sees `product_code`.
    pub channel_id: Option<String>,
    /// The product it is about, for stock events (and ordering per product).
    pub product_code: Option<String>,
    /// The webhook `data` object. For `stock.changed`, `sku` holds the
    /// product code; delivery replaces it with each channel's own SKU.
    pub data: serde_json::Value,
}
