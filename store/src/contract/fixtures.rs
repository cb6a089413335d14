//! Records the scenarios build, and a helper that walks every page of a list.

use std::future::Future;

use agusto_schemas::{
    Event, EventType, Movement, MovementKind, Order, OrderLine, OrderStatus, Reservation,
    StatusChange, StockLevel, Timestamp,
};
use chrono::{DateTime, Duration};

use crate::{Delivery, DeliveryStatus, Page, Product, Result};

/// `ms` milliseconds after `year`-01-01. Scenarios use distinct years so that
/// they can share one store; millisecond precision suits every backend.
pub(super) fn at(year: i32, ms: i64) -> Timestamp {
    let start = format!("{year:04}-01-01T00:00:00Z");
    let start: Timestamp = DateTime::parse_from_rfc3339(&start)
        .expect("fixture year")
        .into();
    start + Duration::milliseconds(ms)
}

pub(super) fn product(code: &str, active: bool, updated_at: Timestamp) -> Product {
    Product {
        product_code: code.to_owned(),
        name: format!("Product {code}"),
        active,
        barcode: active.then(|| format!("400{}", code.len())),
        updated_at,
    }
}

pub(super) fn level(
    code: &str,
    on_hand: i64,
    reserved: i64,
    version: i64,
    t: Timestamp,
) -> StockLevel {
    StockLevel {
        product_code: code.to_owned(),
        on_hand,
        reserved,
        version,
        updated_at: t,
        damaged: 0,
    }
}

pub(super) fn movement(
    code: &str,
    kind: MovementKind,
    d_on_hand: i64,
    d_reserved: i64,
    version: i64,
    t: Timestamp,
) -> Movement {
    Movement {
        product_code: code.to_owned(),
        at: t,
        kind,
        delta_on_hand: d_on_hand,
        delta_reserved: d_reserved,
        reference: format!("ref-{code}-{version}"),
        version,
        delta_damaged: 0,
    }
}

pub(super) fn hold(
    order_id: &str,
    code: &str,
    quantity: i64,
    expires_at: Option<Timestamp>,
) -> Reservation {
    Reservation {
        order_id: order_id.to_owned(),
        product_code: code.to_owned(),
        quantity,
        expires_at,
    }
}

pub(super) fn event(id: &str, code: &str, t: Timestamp) -> Event {
    Event {
        id: id.to_owned(),
        event_type: EventType::StockChanged,
        created_at: t,
        channel_id: None,
        product_code: Some(code.to_owned()),
        data: serde_json::json!({ "sku": code, "event": id, "nested": { "n": [1, 2.5, null] } }),
    }
}

/// A fresh pending delivery of a `stock.changed` event, due at `next`.
pub(super) fn delivery(
    id: &str,
    channel: &str,
    key: &str,
    position: i64,
    next: Option<Timestamp>,
    created_at: Timestamp,
) -> Delivery {
    let event_id = format!("evt_{id}");
    Delivery {
        id: id.to_owned(),
        event_id: event_id.clone(),
        channel_id: channel.to_owned(),
        event_type: EventType::StockChanged.as_str().to_owned(),
        ordering_key: key.to_owned(),
        position,
        payload: serde_json::json!({
            "id": event_id,
            "type": "stock.changed",
            "created_at": created_at,
            "data": { "sku": format!("sku-{key}"), "on_hand": 3, "n": [1, 2.5, null] },
        }),
        status: DeliveryStatus::Pending,
        tries: 0,
        attempts: vec![],
        next_attempt_at: next,
        created_at,
        updated_at: created_at,
    }
}

/// An order whose lines use product codes as SKUs.
pub(super) fn order(
    id: &str,
    channel: &str,
    status: OrderStatus,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
    lines: &[(&str, i64)],
) -> Order {
    Order {
        id: id.to_owned(),
        external_id: format!("ext-{id}"),
        channel_id: channel.to_owned(),
        status,
        lines: lines
            .iter()
            .map(|(code, quantity)| OrderLine {
                components: Vec::new(),
                sku: format!("sku-{code}"),
                product_code: (*code).to_owned(),
                quantity: *quantity,
            })
            .collect(),
        expires_at,
        tracking_number: None,
        carrier: None,
        created_at,
        updated_at: created_at,
        history: vec![StatusChange {
            status,
            at: created_at,
        }],
        idempotency_key: None,
        customer: None,
        shipping_address: None,
    }
}

/// Every item of a paged list, fetching pages until `next_cursor` is `None`.
/// Also checks that no page but the last is empty (bounded walk).
pub(super) async fn all_pages<T, F, Fut>(mut fetch: F) -> Vec<T>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut items = Vec::new();
    let mut cursor = None;
    for _ in 0..100_000 {
        let page = fetch(cursor.take()).await.expect("page");
        let empty = page.items.is_empty();
        items.extend(page.items);
        match page.next_cursor {
            Some(next) => {
                assert!(!empty, "an empty page must be the last one");
                cursor = Some(next);
            }
            None => return items,
        }
    }
    panic!("paging did not end");
}

/// Number of pages a walk took (same rules as [`all_pages`]).
pub(super) async fn page_sizes<T, F, Fut>(mut fetch: F) -> Vec<usize>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut sizes = Vec::new();
    let mut cursor = None;
    for _ in 0..100_000 {
        let page = fetch(cursor.take()).await.expect("page");
        sizes.push(page.items.len());
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return sizes,
        }
    }
    panic!("paging did not end");
}
