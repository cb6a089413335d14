//! Tests of the Avro codec: sample messages covering every variant.

mod canonical;
mod coverage;
mod errors;
mod generic;
mod replies;
mod roundtrip;

use replies::{events, reply_envelopes};

use chrono::DateTime;
use serde_json::json;

use crate::{
    AdjustmentChange, CommandEnvelope, NewOrder, OrderAction, OrderCommand, OrderEnvelope,
    OrderLine, PartOutcome, ProductQty, ReleaseReason, ReplyTo, ReturnedQty, Shortage,
    StockCommand, StockEnvelope, Timestamp,
};

/// A timestamp `n` seconds after a fixed instant, with microseconds set.
fn t(n: i64) -> Timestamp {
    DateTime::from_timestamp_micros(1_760_000_000_123_456 + n * 1_000_000).unwrap()
}

fn reply_to() -> Option<ReplyTo> {
    Some(ReplyTo {
        instance: "ingest-7f3a".into(),
        partition: 3,
    })
}

fn envelope<C>(i: usize, command: C) -> CommandEnvelope<C> {
    CommandEnvelope {
        correlation_id: format!("corr-{i}"),
        // Both shapes of the optional reply address.
        reply_to: if i.is_multiple_of(2) {
            reply_to()
        } else {
            None
        },
        issued_at: t(i as i64),
        command,
    }
}

fn lines() -> Vec<ProductQty> {
    vec![
        ProductQty {
            product_code: "P-RED-SHIRT".into(),
            quantity: 3,
        },
        ProductQty {
            product_code: "P-ÆØÅ-😀".into(),
            quantity: i64::MAX,
        },
    ]
}

/// One envelope per stock command variant (and per adjustment change and release reason).
fn stock_envelopes() -> Vec<StockEnvelope> {
    let commands = vec![
        StockCommand::ReturnReceipt {
            change_id: "rtn_rcv_1".into(),
            return_id: "rtn_1".into(),
            lines: vec![
                ReturnedQty {
                    product_code: "P-1".into(),
                    restock: 2,
                    damaged: 1,
                },
                ReturnedQty {
                    product_code: "P-2".into(),
                    restock: 0,
                    damaged: 3,
                },
            ],
            claim: Some("9f86d081884c7d65".into()),
        },
        StockCommand::ReturnReceipt {
            change_id: "rtn_rcv_2".into(),
            return_id: "rtn_2".into(),
            lines: vec![],
            claim: None,
        },
        StockCommand::Receipt {
            receipt_id: "rcp_1".into(),
            reference: "PO-991".into(),
            lines: lines(),
            claim: Some("9f86d081884c7d65".into()),
        },
        StockCommand::Receipt {
            receipt_id: String::new(),
            reference: String::new(),
            lines: vec![],
            claim: None,
        },
        StockCommand::Adjust {
            adjustment_id: "adj_1".into(),
            product_code: "P-1".into(),
            change: AdjustmentChange::Delta(-5),
            reason: "damaged".into(),
            expected_version: None,
            claim: None,
        },
        StockCommand::Adjust {
            adjustment_id: "adj_2".into(),
            product_code: "P-1".into(),
            change: AdjustmentChange::SetOnHand(42),
            reason: "cycle count".into(),
            expected_version: Some(i64::MAX),
            claim: Some("e3b0c44298fc1c14".into()),
        },
        StockCommand::Adjust {
            adjustment_id: "adj_3".into(),
            product_code: "P-1".into(),
            change: AdjustmentChange::Damaged(-2),
            reason: "written off".into(),
            expected_version: None,
            claim: None,
        },
        StockCommand::Adjust {
            adjustment_id: "adj_4".into(),
            product_code: "P-1".into(),
            change: AdjustmentChange::MoveToDamaged(3),
            reason: "crushed box".into(),
            expected_version: Some(4),
            claim: None,
        },
        StockCommand::Claim {
            change_id: "rcpt_5e1f".into(),
            fingerprint: "9f86d081884c7d65".into(),
        },
        StockCommand::Reserve {
            order_id: "ord_1".into(),
            lines: lines(),
            expires_at: t(900),
        },
        StockCommand::Confirm {
            order_id: "ord_1".into(),
        },
        StockCommand::Release {
            order_id: "ord_1".into(),
            reason: ReleaseReason::Cancelled,
        },
        StockCommand::Release {
            order_id: "ord_1".into(),
            reason: ReleaseReason::Expired,
        },
        StockCommand::Release {
            order_id: "ord_1".into(),
            reason: ReleaseReason::Compensation,
        },
        StockCommand::StockOut {
            order_id: "ord_1".into(),
            reference: "TRK-1".into(),
        },
        StockCommand::SweepLapsed { before: t(-1) },
        StockCommand::SagaAnswer {
            order_id: "ord_1".into(),
            step: 1,
            partition: 3,
            outcome: PartOutcome::Applied,
        },
        StockCommand::SagaAnswer {
            order_id: "ord_1".into(),
            step: u64::from(u32::MAX) + 7,
            partition: 0,
            outcome: PartOutcome::Short(vec![Shortage {
                product_code: "P-1".into(),
                requested: 5,
                available: 2,
            }]),
        },
        StockCommand::SagaAnswer {
            order_id: "ord_1".into(),
            step: 2,
            partition: u32::MAX,
            outcome: PartOutcome::Failed("stock partition 3 did not answer".into()),
        },
    ];
    // Every order command once more as a one-hop command of a stock partition.
    let commands = commands.into_iter().chain(
        order_envelopes()
            .into_iter()
            .map(|e| StockCommand::Order(Box::new(e.command))),
    );
    let mut out: Vec<_> = commands
        .into_iter()
        .enumerate()
        .map(|(i, c)| envelope(i, c))
        .collect();
    // Each command once more with the other reply_to shape.
    let flipped: Vec<_> = out
        .iter()
        .map(|e| StockEnvelope {
            reply_to: if e.reply_to.is_some() {
                None
            } else {
                reply_to()
            },
            ..e.clone()
        })
        .collect();
    out.extend(flipped);
    out
}

fn order_lines() -> Vec<OrderLine> {
    vec![
        OrderLine {
            components: Vec::new(),
            sku: "SHIRT-RED-M".into(),
            product_code: "P-RED-SHIRT".into(),
            quantity: 2,
        },
        OrderLine {
            components: Vec::new(),
            sku: "MUG".into(),
            product_code: "P-MUG".into(),
            quantity: 1,
        },
        OrderLine {
            components: vec![
                ProductQty {
                    product_code: "P-MUG".into(),
                    quantity: 2,
                },
                ProductQty {
                    product_code: "P-TEA".into(),
                    quantity: 4,
                },
            ],
            sku: "GIFT-SET".into(),
            product_code: "P-GIFT".into(),
            quantity: 2,
        },
    ]
}

/// A typical order to place, every optional field set.
fn new_order() -> NewOrder {
    NewOrder {
        order_id: "ord_3f9c2a7b1e0d4c5a6b7c".into(),
        external_id: "SHOP-100234".into(),
        channel_id: "ch_webshop".into(),
        lines: order_lines(),
        expires_at: t(1800),
        idempotency_key: Some("8d2c6f0e-5b1a-4c3e-9f7d-2a1b3c4d5e6f".into()),
        customer: Some(json!({"name": "Ada Lovelace", "email": "ada@example.com"})),
        shipping_address: Some(json!({
            "line1": "1 Analytical Way", "city": "London", "postal_code": "N1 9GU",
            "country": "GB", "extra": [1, 2.5, null, true, {"nested": "ü"}]
        })),
    }
}

/// A typical `Place` envelope.
fn place_envelope() -> OrderEnvelope {
    CommandEnvelope {
        correlation_id: "req_5f1e2d3c4b5a69788796".into(),
        reply_to: reply_to(),
        issued_at: t(0),
        command: OrderCommand::Place(new_order()),
    }
}

/// One envelope per order command variant and per action.
fn order_envelopes() -> Vec<OrderEnvelope> {
    let bare = NewOrder {
        idempotency_key: None,
        customer: None,
        shipping_address: None,
        lines: vec![],
        ..new_order()
    };
    let mut commands = vec![
        OrderCommand::Place(new_order()),
        OrderCommand::Place(bare),
        OrderCommand::ExpireDue { now: t(5) },
    ];
    let actions = [
        OrderAction::Pay,
        OrderAction::Pick,
        OrderAction::Pack,
        OrderAction::Complete {
            tracking_number: "TRK-9".into(),
            carrier: Some("DHL".into()),
        },
        OrderAction::Complete {
            tracking_number: "TRK-10".into(),
            carrier: None,
        },
        OrderAction::Cancel,
        OrderAction::Expire,
    ];
    for (i, action) in actions.into_iter().enumerate() {
        commands.push(OrderCommand::Transition {
            order_id: "ord_1".into(),
            channel_id: i.is_multiple_of(2).then(|| "ch_webshop".to_owned()),
            action,
        });
    }
    let mut out: Vec<_> = commands
        .into_iter()
        .enumerate()
        .map(|(i, c)| envelope(i, c))
        .collect();
    out.push(place_envelope());
    out
}
