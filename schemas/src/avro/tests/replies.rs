//! Sample replies and events: every reply variant, every order status.

use serde_json::json;

use super::{order_lines, t};
use crate::{
    Event, EventType, Order, OrderReply, OrderStatus, ReplyBody, ReplyEnvelope, Shortage,
    StatusChange, StockLevel, StockReply,
};

/// An order with every optional field set and a history through every status.
fn full_order() -> Order {
    Order {
        id: "ord_1".into(),
        external_id: "SHOP-1".into(),
        channel_id: "ch_webshop".into(),
        status: OrderStatus::Dispatched,
        lines: order_lines(),
        expires_at: Some(t(1800)),
        tracking_number: Some("TRK-9".into()),
        carrier: Some("DHL".into()),
        created_at: t(0),
        updated_at: t(60),
        history: OrderStatus::ALL
            .iter()
            .enumerate()
            .map(|(i, s)| StatusChange {
                status: *s,
                at: t(i as i64),
            })
            .collect(),
        idempotency_key: Some("idem-1".into()),
        customer: Some(json!({"name": "Ada"})),
        shipping_address: Some(json!({"city": "London"})),
    }
}

/// The same order with every optional field empty.
fn bare_order() -> Order {
    Order {
        status: OrderStatus::Reserved,
        expires_at: None,
        tracking_number: None,
        carrier: None,
        history: vec![],
        lines: vec![],
        idempotency_key: None,
        customer: None,
        shipping_address: None,
        ..full_order()
    }
}

fn shortages() -> Vec<Shortage> {
    vec![Shortage {
        product_code: "P-MUG".into(),
        requested: 5,
        available: 2,
    }]
}

/// One reply per stock and order reply variant, and per order status.
pub(super) fn reply_envelopes() -> Vec<ReplyEnvelope> {
    let level = StockLevel {
        product_code: "P-MUG".into(),
        on_hand: 10,
        reserved: 4,
        version: 7,
        updated_at: t(3),
        damaged: 2,
    };
    let mut bodies = vec![
        ReplyBody::Stock(StockReply::Levels(vec![level.clone(), level.clone()])),
        ReplyBody::Stock(StockReply::Levels(vec![])),
        ReplyBody::Stock(StockReply::Reserved),
        ReplyBody::Stock(StockReply::Short(shortages())),
        ReplyBody::Stock(StockReply::Done),
        ReplyBody::Stock(StockReply::Rejected(
            "product P-X is not in this partition".into(),
        )),
        ReplyBody::Stock(StockReply::Unavailable("disk full".into())),
        ReplyBody::Stock(StockReply::Recorded(vec![level.clone()])),
        ReplyBody::Stock(StockReply::Claimed { first: true }),
        ReplyBody::Stock(StockReply::Claimed { first: false }),
        ReplyBody::Stock(StockReply::Conflict("another body".into())),
        ReplyBody::Stock(StockReply::VersionMismatch { current_version: 7 }),
        ReplyBody::Order(OrderReply::Placed(Box::new(full_order()))),
        ReplyBody::Order(OrderReply::Placed(Box::new(bare_order()))),
        ReplyBody::Order(OrderReply::Existing(Box::new(full_order()))),
        ReplyBody::Order(OrderReply::Conflict("different lines".into())),
        ReplyBody::Order(OrderReply::Short(shortages())),
        ReplyBody::Order(OrderReply::Short(vec![])),
        ReplyBody::Order(OrderReply::Updated(Box::new(bare_order()))),
        ReplyBody::Order(OrderReply::NotFound),
        ReplyBody::Order(OrderReply::Swept(0)),
        ReplyBody::Order(OrderReply::Swept(12_345)),
        ReplyBody::Order(OrderReply::Unavailable("stock writer timed out".into())),
    ];
    for status in OrderStatus::ALL {
        bodies.push(ReplyBody::Order(OrderReply::InvalidTransition {
            status,
            action: "pick".into(),
        }));
        bodies.push(ReplyBody::Order(OrderReply::Updated(Box::new(Order {
            status,
            ..full_order()
        }))));
    }
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| ReplyEnvelope {
            correlation_id: format!("corr-{i}"),
            instance: "ingest-7f3a".into(),
            body,
        })
        .collect()
}

/// One event per type, with and without channel and product.
pub(super) fn events() -> Vec<Event> {
    vec![
        Event {
            id: "evt_1".into(),
            event_type: EventType::StockChanged,
            created_at: t(1),
            channel_id: None,
            product_code: Some("P-MUG".into()),
            data: json!({"sku": "P-MUG", "on_hand": 10, "available": 6, "version": 7}),
        },
        Event {
            id: "evt_2".into(),
            event_type: EventType::OrderDispatched,
            created_at: t(2),
            channel_id: Some("ch_webshop".into()),
            product_code: None,
            data: json!({"order_id": "ord_1", "tracking_number": "TRK-9", "carrier": null}),
        },
        Event {
            id: "evt_3".into(),
            event_type: EventType::OrderStatusChanged,
            created_at: t(3),
            channel_id: Some("ch_webshop".into()),
            product_code: Some("P-MUG".into()),
            data: json!({"order_id": "ord_1", "status": "picking", "n": -1.5e-7}),
        },
        Event {
            id: "evt_5".into(),
            event_type: EventType::OrderReturned,
            created_at: t(5),
            channel_id: Some("ch_webshop".into()),
            product_code: None,
            data: json!({"order_id": "ord_1", "return_id": "rtn_1", "lines": []}),
        },
        Event {
            id: "evt_4".into(),
            event_type: EventType::StockChanged,
            created_at: t(4),
            channel_id: None,
            product_code: None,
            data: json!(null),
        },
    ]
}
