//! Response bodies shared by several routes.

use agusto_schemas::{Order, StockLevel};
use agusto_store::{Product, ReturnRecord};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A product as a caller sees it (`sku` is the caller's channel SKU).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductView {
    /// Warehouse product code.
    pub product_code: String,
    /// The calling channel's SKU (the product code for staff).
    pub sku: String,
    /// Display name.
    pub name: String,
    /// Orderable and visible to channels.
    pub active: bool,
    /// Barcode, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub barcode: Option<String>,
    /// Last catalogue change.
    pub updated_at: DateTime<Utc>,
    /// For a bundle: its components.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<super::bundles::ComponentBody>>,
}

impl ProductView {
    /// A product under `sku`.
    pub fn new(p: Product, sku: String) -> Self {
        ProductView {
            product_code: p.product_code,
            sku,
            name: p.name,
            active: p.active,
            barcode: p.barcode,
            updated_at: p.updated_at,
            components: None,
        }
    }
}

/// Quantities of one product.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockView {
    /// The calling channel's SKU (the product code for staff).
    pub sku: String,
    /// Warehouse product code.
    pub product_code: String,
    /// Sellable units in the warehouse.
    pub on_hand: i64,
    /// Units held by open orders.
    pub reserved: i64,
    /// `on_hand - reserved`, never below 0. For a channel token: the
    /// channel's published availability (its stock rule and the SKU's
    /// override applied); staff see the real figure.
    pub available: i64,
    /// Units physically here but not sellable (not part of `on_hand`).
    pub damaged: i64,
    /// Bumped by every change (for a bundle: the sum of its components').
    pub version: i64,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// For a bundle: its components (its figures are derived from theirs:
    /// `min(component value ÷ quantity)`, `reserved` 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<super::bundles::ComponentBody>>,
}

impl StockView {
    /// Levels under `sku`.
    pub fn new(l: &StockLevel, sku: String) -> Self {
        StockView {
            sku,
            product_code: l.product_code.clone(),
            on_hand: l.on_hand,
            reserved: l.reserved,
            available: l.available(),
            damaged: l.damaged,
            version: l.version,
            updated_at: l.updated_at,
            components: None,
        }
    }
}

/// One order line.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLineView {
    /// Channel SKU.
    pub sku: String,
    /// Product code.
    pub product_code: String,
    /// Units.
    pub quantity: i64,
}

/// An order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    /// Agusto order id.
    pub id: String,
    /// The channel's order id.
    pub external_id: String,
    /// Owning channel.
    pub channel_id: String,
    /// `reserved`, `pending_approval`, `picking`, `packed`, `dispatched`, `cancelled` or `expired`.
    #[schema(value_type = OrderStatusName)]
    pub status: String,
    /// Lines.
    pub lines: Vec<OrderLineView>,
    /// Payment deadline while reserved.
    pub expires_at: Option<DateTime<Utc>>,
    /// Set on dispatch.
    pub tracking_number: Option<String>,
    /// Set on dispatch.
    pub carrier: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Customer object as given.
    #[schema(value_type = Option<Object>)]
    pub customer: Option<serde_json::Value>,
    /// Shipping address as given.
    #[schema(value_type = Option<Object>)]
    pub shipping_address: Option<serde_json::Value>,
}

impl From<Order> for OrderView {
    fn from(o: Order) -> Self {
        OrderView {
            id: o.id,
            external_id: o.external_id,
            channel_id: o.channel_id,
            status: o.status.as_str().to_owned(),
            lines: o
                .lines
                .into_iter()
                .map(|l| OrderLineView {
                    sku: l.sku,
                    product_code: l.product_code,
                    quantity: l.quantity,
                })
                .collect(),
            expires_at: o.expires_at,
            tracking_number: o.tracking_number,
            carrier: o.carrier,
            created_at: o.created_at,
            updated_at: o.updated_at,
            customer: o.customer,
            shipping_address: o.shipping_address,
        }
    }
}

/// The statuses of an order (API.md lifecycle), for the OpenAPI document.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum OrderStatusName {
    /// Stock held, awaiting payment until `expires_at`.
    Reserved,
    /// Paid, awaiting picking.
    PendingApproval,
    /// Being picked.
    Picking,
    /// Packed, awaiting the carrier.
    Packed,
    /// Stock-out done.
    Dispatched,
    /// Cancelled; reservation released.
    Cancelled,
    /// Unpaid past `expires_at`; reservation released.
    Expired,
}

/// A page of items.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageOf<T> {
    /// Items.
    pub items: Vec<T>,
    /// Cursor of the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The statuses of a return, for the OpenAPI document.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ReturnStatusName {
    /// Announced; waits in the receiving list.
    Requested,
    /// Received: restocked and damaged units booked.
    Received,
}

/// One returned line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReturnLineView {
    /// The order line's SKU.
    pub sku: String,
    /// Warehouse product code.
    pub product_code: String,
    /// Units returned.
    pub quantity: i64,
    /// Units put back on the shelf (once received).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restock: Option<i64>,
    /// Units kept as damaged (once received).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damaged: Option<i64>,
}

/// A return of (part of) a dispatched order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnView {
    /// `rtn_…` id.
    pub id: String,
    /// The order returned.
    pub order_id: String,
    /// `requested` or `received`.
    #[schema(value_type = ReturnStatusName)]
    pub status: String,
    /// Lines returned.
    pub lines: Vec<ReturnLineView>,
    /// Why, as the requester said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it was requested.
    pub created_at: DateTime<Utc>,
    /// When it was received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_at: Option<DateTime<Utc>>,
}

impl From<ReturnRecord> for ReturnView {
    fn from(r: ReturnRecord) -> Self {
        ReturnView {
            id: r.id,
            order_id: r.order_id,
            status: r.status.as_str().to_owned(),
            lines: r
                .lines
                .into_iter()
                .map(|l| ReturnLineView {
                    sku: l.sku,
                    product_code: l.product_code,
                    quantity: l.quantity,
                    restock: l.restock,
                    damaged: l.damaged,
                })
                .collect(),
            reason: r.reason,
            created_at: r.created_at,
            received_at: r.received_at,
        }
    }
}

/// An order's returns.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnsView {
    /// Oldest first.
    pub items: Vec<ReturnView>,
}
