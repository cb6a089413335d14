//! The order lifecycle as pure functions. The order writer asks the stock
//! writers for the stock side (reserve, confirm, release, stock-out) and uses
//! these functions to decide and to build the new order and its events.

use agusto_schemas::{
    Event, EventType, NewOrder, Order, OrderAction, OrderReply, OrderStatus, ProductQty,
    StatusChange, StockCommand, Timestamp, stable_id, stock_lines,
};
use serde_json::json;

/// What placing an order needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// Answer at once (same order placed before, or a conflicting one).
    Answer(OrderReply),
    /// Reserve these quantities (one entry per product), then [`placed`].
    Reserve(Vec<ProductQty>),
}

/// Decides a placement given the order stored under the same id (same
/// channel + external id) and the one stored under the same idempotency key.
pub fn place(new: &NewOrder, same_id: Option<&Order>, same_key: Option<&Order>) -> Placement {
    if let Some(existing) = same_id.or(same_key) {
        return if same_content(existing, new) {
            Placement::Answer(OrderReply::Existing(Box::new(existing.clone())))
        } else if existing.id == new.order_id {
            Placement::Answer(OrderReply::Conflict(format!(
                "order with external_id {} exists with different lines",
                new.external_id
            )))
        } else {
            Placement::Answer(OrderReply::Conflict(
                "Idempotency-Key was used for a different order".into(),
            ))
        };
    }
    Placement::Reserve(stock_lines(&new.lines))
}

/// Same external id and the same lines (order of lines ignored).
fn same_content(existing: &Order, new: &NewOrder) -> bool {
    let key = |sku: &str, q: i64| (sku.to_owned(), q);
    let mut a: Vec<_> = existing
        .lines
        .iter()
        .map(|l| key(&l.sku, l.quantity))
        .collect();
    let mut b: Vec<_> = new.lines.iter().map(|l| key(&l.sku, l.quantity)).collect();
    a.sort();
    b.sort();
    existing.external_id == new.external_id && a == b
}

/// The order after its stock was reserved.
pub fn placed(new: &NewOrder, at: Timestamp) -> Order {
    Order {
        id: new.order_id.clone(),
        external_id: new.external_id.clone(),
        channel_id: new.channel_id.clone(),
        status: OrderStatus::Reserved,
        lines: new.lines.clone(),
        expires_at: Some(new.expires_at),
        tracking_number: None,
        carrier: None,
        created_at: at,
        updated_at: at,
        history: vec![StatusChange {
            status: OrderStatus::Reserved,
            at,
        }],
        idempotency_key: new.idempotency_key.clone(),
        customer: new.customer.clone(),
        shipping_address: new.shipping_address.clone(),
    }
}

/// An allowed transition: the order after it, what the stock writers must do
/// first (per order, not per product), and the events it emits.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The order after the action.
    pub order: Order,
    /// Stock command to send to every partition holding the order's products.
    pub stock: Option<StockCommand>,
    /// Events to write with the order.
    pub events: Vec<Event>,
}

/// Applies `action` to `order` at `at`, for a caller that must own the order
/// when `channel_id` is set. Refusals are the reply to send.
pub fn transition(
    order: &Order,
    channel_id: Option<&str>,
    action: &OrderAction,
    at: Timestamp,
) -> Result<Transition, OrderReply> {
    if channel_id.is_some_and(|c| c != order.channel_id) {
        return Err(OrderReply::NotFound);
    }
    let Some(next) = order.status.after(action) else {
        return Err(OrderReply::InvalidTransition {
            status: order.status,
            action: action.name().to_owned(),
        });
    };
    let mut new = order.clone();
    new.status = next;
    new.updated_at = at;
    new.history.push(StatusChange { status: next, at });
    if next != OrderStatus::Reserved {
        new.expires_at = None;
    }
    let id = order.id.clone();
    let stock = match action {
        OrderAction::Pay => Some(StockCommand::Confirm { order_id: id }),
        OrderAction::Cancel => Some(StockCommand::Release {
            order_id: id,
            reason: agusto_schemas::ReleaseReason::Cancelled,
        }),
        OrderAction::Expire => Some(StockCommand::Release {
            order_id: id,
            reason: agusto_schemas::ReleaseReason::Expired,
        }),
        OrderAction::Complete {
            tracking_number,
            carrier,
        } => {
            new.tracking_number = Some(tracking_number.clone());
            new.carrier = carrier.clone();
            Some(StockCommand::StockOut {
                order_id: id,
                reference: tracking_number.clone(),
            })
        }
        OrderAction::Pick | OrderAction::Pack => None,
    };
    let mut events = vec![status_changed(&new, order.status)];
    if next == OrderStatus::Dispatched {
        events.push(dispatched(&new));
    }
    Ok(Transition {
        order: new,
        stock,
        events,
    })
}

fn status_changed(order: &Order, previous: OrderStatus) -> Event {
    Event {
        id: stable_id(
            "evt",
            &["order.status_changed", &order.id, order.status.as_str()],
        ),
        event_type: EventType::OrderStatusChanged,
        created_at: order.updated_at,
        channel_id: Some(order.channel_id.clone()),
        product_code: None,
        data: json!({
            "order_id": order.id,
            "external_id": order.external_id,
            "status": order.status.as_str(),
            "previous_status": previous.as_str(),
        }),
    }
}

fn dispatched(order: &Order) -> Event {
    Event {
        id: stable_id("evt", &["order.dispatched", &order.id]),
        event_type: EventType::OrderDispatched,
        created_at: order.updated_at,
        channel_id: Some(order.channel_id.clone()),
        product_code: None,
        data: json!({
            "order_id": order.id,
            "external_id": order.external_id,
            "tracking_number": order.tracking_number,
            "carrier": order.carrier,
            "dispatched_at": order.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }),
    }
}
