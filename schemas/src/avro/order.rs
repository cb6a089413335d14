//! `OrderEnvelope` ⇄ `order_envelope.avsc`.

use apache_avro::types::Value;

use super::CodecError;
use super::envelope;
use super::value::{
    Fields, array, as_branch, bad_branch, branch, opt_json, opt_string, record, string, ts, unit,
};
use crate::{NewOrder, OrderAction, OrderCommand, OrderEnvelope, OrderLine};

pub(super) fn envelope_to_value(env: &OrderEnvelope) -> Value {
    envelope::to_value(env, command_to_value)
}

pub(super) fn envelope_from_value(v: Value) -> Result<OrderEnvelope, CodecError> {
    envelope::from_value("OrderEnvelope", v, command_from_value)
}

/// Union branches of `command`, in schema order.
const PLACE: u32 = 0;
const TRANSITION: u32 = 1;
const EXPIRE_DUE: u32 = 2;

/// Union branches of `Transition.action`, in schema order.
const PAY: u32 = 0;
const PICK: u32 = 1;
const PACK: u32 = 2;
const COMPLETE: u32 = 3;
const CANCEL: u32 = 4;
const EXPIRE: u32 = 5;

pub(super) fn command_to_value(c: &OrderCommand) -> Value {
    match c {
        OrderCommand::Place(n) => branch(PLACE, record(vec![("order", new_order_value(n))])),
        OrderCommand::Transition {
            order_id,
            channel_id,
            action,
        } => branch(
            TRANSITION,
            record(vec![
                ("order_id", string(order_id)),
                ("channel_id", opt_string(channel_id)),
                ("action", action_value(action)),
            ]),
        ),
        OrderCommand::ExpireDue { now } => branch(EXPIRE_DUE, record(vec![("now", ts(now))])),
    }
}

pub(super) fn command_from_value(v: Value) -> Result<OrderCommand, CodecError> {
    let (index, inner) = as_branch("OrderEnvelope.command", v)?;
    Ok(match index {
        PLACE => OrderCommand::Place(new_order_from_value(
            Fields::of("Place", inner)?.take("order")?,
        )?),
        TRANSITION => {
            let mut r = Fields::of("Transition", inner)?;
            OrderCommand::Transition {
                order_id: r.string("order_id")?,
                channel_id: r.opt_string("channel_id")?,
                action: action_from_value(r.take("action")?)?,
            }
        }
        EXPIRE_DUE => OrderCommand::ExpireDue {
            now: Fields::of("ExpireDue", inner)?.ts("now")?,
        },
        n => return Err(bad_branch("OrderEnvelope.command", n)),
    })
}

fn action_value(a: &OrderAction) -> Value {
    match a {
        OrderAction::Pay => branch(PAY, unit()),
        OrderAction::Pick => branch(PICK, unit()),
        OrderAction::Pack => branch(PACK, unit()),
        OrderAction::Complete {
            tracking_number,
            carrier,
        } => branch(
            COMPLETE,
            record(vec![
                ("tracking_number", string(tracking_number)),
                ("carrier", opt_string(carrier)),
            ]),
        ),
        OrderAction::Cancel => branch(CANCEL, unit()),
        OrderAction::Expire => branch(EXPIRE, unit()),
    }
}

fn action_from_value(v: Value) -> Result<OrderAction, CodecError> {
    let (index, inner) = as_branch("Transition.action", v)?;
    Ok(match index {
        PAY => OrderAction::Pay,
        PICK => OrderAction::Pick,
        PACK => OrderAction::Pack,
        COMPLETE => {
            let mut r = Fields::of("Complete", inner)?;
            OrderAction::Complete {
                tracking_number: r.string("tracking_number")?,
                carrier: r.opt_string("carrier")?,
            }
        }
        CANCEL => OrderAction::Cancel,
        EXPIRE => OrderAction::Expire,
        n => return Err(bad_branch("Transition.action", n)),
    })
}

fn new_order_value(n: &NewOrder) -> Value {
    record(vec![
        ("order_id", string(&n.order_id)),
        ("external_id", string(&n.external_id)),
        ("channel_id", string(&n.channel_id)),
        ("lines", array(&n.lines, order_line_value)),
        ("expires_at", ts(&n.expires_at)),
        ("idempotency_key", opt_string(&n.idempotency_key)),
        ("customer", opt_json(&n.customer)),
        ("shipping_address", opt_json(&n.shipping_address)),
    ])
}

fn new_order_from_value(v: Value) -> Result<NewOrder, CodecError> {
    let mut r = Fields::of("NewOrder", v)?;
    Ok(NewOrder {
        order_id: r.string("order_id")?,
        external_id: r.string("external_id")?,
        channel_id: r.string("channel_id")?,
        lines: r.array("lines", order_line_from_value)?,
        expires_at: r.ts("expires_at")?,
        idempotency_key: r.opt_string("idempotency_key")?,
        customer: r.opt_json("customer")?,
        shipping_address: r.opt_json("shipping_address")?,
    })
}

/// `OrderLine` (shared with the replies schema).
pub(super) fn order_line_value(l: &OrderLine) -> Value {
    record(vec![
        ("sku", string(&l.sku)),
        ("product_code", string(&l.product_code)),
        ("quantity", Value::Long(l.quantity)),
        (
            "components",
            array(&l.components, |c| {
                record(vec![
                    ("product_code", string(&c.product_code)),
                    ("quantity", Value::Long(c.quantity)),
                ])
            }),
        ),
    ])
}

/// `OrderLine` (shared with the replies schema).
pub(super) fn order_line_from_value(v: Value) -> Result<OrderLine, CodecError> {
    let mut r = Fields::of("OrderLine", v)?;
    Ok(OrderLine {
        sku: r.string("sku")?,
        product_code: r.string("product_code")?,
        quantity: r.long("quantity")?,
        components: r.array("components", |v| {
            let mut c = Fields::of("LineComponent", v)?;
            Ok(crate::ProductQty {
                product_code: c.string("product_code")?,
                quantity: c.long("quantity")?,
            })
        })?,
    })
}
