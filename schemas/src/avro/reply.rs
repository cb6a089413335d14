//! `ReplyEnvelope` ⇄ `reply_envelope.avsc`.

use apache_avro::types::Value;

use super::CodecError;
use super::order::{order_line_from_value, order_line_value};
use super::value::{
    Fields, array, as_branch, bad_branch, branch, opt, opt_json, opt_string, record, string, ts,
    unit,
};
use crate::{
    Order, OrderReply, OrderStatus, ReplyBody, ReplyEnvelope, Shortage, StatusChange, StockLevel,
    StockReply,
};

/// Union branches of `body`, in schema order.
const STOCK: u32 = 0;
const ORDER: u32 = 1;

pub(super) fn envelope_to_value(env: &ReplyEnvelope) -> Value {
    let body = match &env.body {
        ReplyBody::Stock(StockReply::Order(r)) => {
            branch(ORDER, record(vec![("reply", order_reply_value(r))]))
        }
        ReplyBody::Order(r) => branch(ORDER, record(vec![("reply", order_reply_value(r))])),
        ReplyBody::Stock(r) => branch(STOCK, record(vec![("reply", stock_reply_value(r))])),
    };
    record(vec![
        ("correlation_id", string(&env.correlation_id)),
        ("instance", string(&env.instance)),
        ("body", body),
    ])
}

pub(super) fn envelope_from_value(v: Value) -> Result<ReplyEnvelope, CodecError> {
    let mut r = Fields::of("ReplyEnvelope", v)?;
    let (index, inner) = r.branch("body")?;
    let body = match index {
        STOCK => ReplyBody::Stock(stock_reply_from_value(
            Fields::of("StockReply", inner)?.take("reply")?,
        )?),
        ORDER => ReplyBody::Order(order_reply_from_value(
            Fields::of("OrderReply", inner)?.take("reply")?,
        )?),
        n => return Err(bad_branch("ReplyEnvelope.body", n)),
    };
    Ok(ReplyEnvelope {
        correlation_id: r.string("correlation_id")?,
        instance: r.string("instance")?,
        body,
    })
}

fn message(s: &str) -> Value {
    record(vec![("message", string(s))])
}

fn stock_reply_value(r: &StockReply) -> Value {
    match r {
        StockReply::Levels(l) => branch(0, record(vec![("levels", array(l, level_value))])),
        StockReply::Reserved => branch(1, unit()),
        StockReply::Short(s) => branch(2, shortages_value(s)),
        StockReply::Done => branch(3, unit()),
        StockReply::Rejected(m) => branch(4, message(m)),
        StockReply::Unavailable(m) => branch(5, message(m)),
        StockReply::Recorded(l) => branch(6, record(vec![("levels", array(l, level_value))])),
        StockReply::Claimed { first } => branch(7, record(vec![("first", Value::Boolean(*first))])),
        StockReply::Conflict(m) => branch(8, message(m)),
        StockReply::VersionMismatch { current_version } => branch(
            9,
            record(vec![("current_version", Value::Long(*current_version))]),
        ),
        // `envelope_to_value` sends these as the order branch.
        StockReply::Order(_) => unreachable!("order replies are encoded as ReplyBody::Order"),
    }
}

fn stock_reply_from_value(v: Value) -> Result<StockReply, CodecError> {
    let (index, inner) = as_branch("StockReply.reply", v)?;
    Ok(match index {
        0 => StockReply::Levels(Fields::of("Levels", inner)?.array("levels", level_from_value)?),
        1 => StockReply::Reserved,
        2 => StockReply::Short(shortages_from_value(inner)?),
        3 => StockReply::Done,
        4 => StockReply::Rejected(Fields::of("Rejected", inner)?.string("message")?),
        5 => StockReply::Unavailable(Fields::of("Unavailable", inner)?.string("message")?),
        6 => {
            StockReply::Recorded(Fields::of("Recorded", inner)?.array("levels", level_from_value)?)
        }
        7 => StockReply::Claimed {
            first: Fields::of("Claimed", inner)?.boolean("first")?,
        },
        8 => StockReply::Conflict(Fields::of("Conflict", inner)?.string("message")?),
        9 => StockReply::VersionMismatch {
            current_version: Fields::of("VersionMismatch", inner)?.long("current_version")?,
        },
        n => return Err(bad_branch("StockReply.reply", n)),
    })
}

fn order_reply_value(r: &OrderReply) -> Value {
    let order = |o: &Order| record(vec![("order", order_value(o))]);
    match r {
        OrderReply::Placed(o) => branch(0, order(o)),
        OrderReply::Existing(o) => branch(1, order(o)),
        OrderReply::Conflict(m) => branch(2, message(m)),
        OrderReply::Short(s) => branch(3, shortages_value(s)),
        OrderReply::Updated(o) => branch(4, order(o)),
        OrderReply::NotFound => branch(5, unit()),
        OrderReply::InvalidTransition { status, action } => branch(
            6,
            record(vec![
                ("status", status_value(*status)),
                ("action", string(action)),
            ]),
        ),
        OrderReply::Swept(n) => branch(
            7,
            record(vec![(
                "count",
                Value::Long(i64::try_from(*n).unwrap_or(i64::MAX)),
            )]),
        ),
        OrderReply::Unavailable(m) => branch(8, message(m)),
    }
}

fn order_reply_from_value(v: Value) -> Result<OrderReply, CodecError> {
    let (index, inner) = as_branch("OrderReply.reply", v)?;
    let order = |what: &'static str, inner: Value| -> Result<Box<Order>, CodecError> {
        order_from_value(Fields::of(what, inner)?.take("order")?).map(Box::new)
    };
    Ok(match index {
        0 => OrderReply::Placed(order("Placed", inner)?),
        1 => OrderReply::Existing(order("Existing", inner)?),
        2 => OrderReply::Conflict(Fields::of("Conflict", inner)?.string("message")?),
        3 => OrderReply::Short(shortages_from_value(inner)?),
        4 => OrderReply::Updated(order("Updated", inner)?),
        5 => OrderReply::NotFound,
        6 => {
            let mut r = Fields::of("InvalidTransition", inner)?;
            OrderReply::InvalidTransition {
                status: status_from_symbol(&r.symbol("status")?)?,
                action: r.string("action")?,
            }
        }
        7 => {
            let count = Fields::of("Swept", inner)?.long("count")?;
            OrderReply::Swept(
                usize::try_from(count)
                    .map_err(|_| CodecError::Shape(format!("Swept.count: {count} out of range")))?,
            )
        }
        8 => OrderReply::Unavailable(Fields::of("Unavailable", inner)?.string("message")?),
        n => return Err(bad_branch("OrderReply.reply", n)),
    })
}

/// `OrderStatus` → the Avro enum (symbols are the wire names, in lifecycle order).
fn status_value(s: OrderStatus) -> Value {
    let index = match s {
        OrderStatus::Reserved => 0,
        OrderStatus::PendingApproval => 1,
        OrderStatus::Picking => 2,
        OrderStatus::Packed => 3,
        OrderStatus::Dispatched => 4,
        OrderStatus::Cancelled => 5,
        OrderStatus::Expired => 6,
    };
    Value::Enum(index, s.as_str().to_owned())
}

fn status_from_symbol(symbol: &str) -> Result<OrderStatus, CodecError> {
    OrderStatus::parse(symbol)
        .ok_or_else(|| CodecError::Shape(format!("OrderStatus: unknown symbol {symbol}")))
}

fn order_value(o: &Order) -> Value {
    record(vec![
        ("id", string(&o.id)),
        ("external_id", string(&o.external_id)),
        ("channel_id", string(&o.channel_id)),
        ("status", status_value(o.status)),
        ("lines", array(&o.lines, order_line_value)),
        ("expires_at", opt(o.expires_at.as_ref(), ts)),
        ("tracking_number", opt_string(&o.tracking_number)),
        ("carrier", opt_string(&o.carrier)),
        ("created_at", ts(&o.created_at)),
        ("updated_at", ts(&o.updated_at)),
        ("history", array(&o.history, status_change_value)),
        ("idempotency_key", opt_string(&o.idempotency_key)),
        ("customer", opt_json(&o.customer)),
        ("shipping_address", opt_json(&o.shipping_address)),
    ])
}

fn order_from_value(v: Value) -> Result<Order, CodecError> {
    let mut r = Fields::of("Order", v)?;
    Ok(Order {
        id: r.string("id")?,
        external_id: r.string("external_id")?,
        channel_id: r.string("channel_id")?,
        status: status_from_symbol(&r.symbol("status")?)?,
        lines: r.array("lines", order_line_from_value)?,
        expires_at: r.opt_ts("expires_at")?,
        tracking_number: r.opt_string("tracking_number")?,
        carrier: r.opt_string("carrier")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
        history: r.array("history", status_change_from_value)?,
        idempotency_key: r.opt_string("idempotency_key")?,
        customer: r.opt_json("customer")?,
        shipping_address: r.opt_json("shipping_address")?,
    })
}

fn status_change_value(c: &StatusChange) -> Value {
    record(vec![("status", status_value(c.status)), ("at", ts(&c.at))])
}

fn status_change_from_value(v: Value) -> Result<StatusChange, CodecError> {
    let mut r = Fields::of("StatusChange", v)?;
    Ok(StatusChange {
        status: status_from_symbol(&r.symbol("status")?)?,
        at: r.ts("at")?,
    })
}

/// A `Short` record (same shape in both reply unions).
fn shortages_value(s: &[Shortage]) -> Value {
    record(vec![("shortages", array(s, shortage_value))])
}

fn shortages_from_value(v: Value) -> Result<Vec<Shortage>, CodecError> {
    Fields::of("Short", v)?.array("shortages", shortage_from_value)
}

/// A shortage record (`Shortage` here, `PartShortage` in a saga answer:
/// the same fields).
pub(super) fn shortage_value(s: &Shortage) -> Value {
    record(vec![
        ("product_code", string(&s.product_code)),
        ("requested", Value::Long(s.requested)),
        ("available", Value::Long(s.available)),
    ])
}

pub(super) fn shortage_from_value(v: Value) -> Result<Shortage, CodecError> {
    let mut r = Fields::of("Shortage", v)?;
    Ok(Shortage {
        product_code: r.string("product_code")?,
        requested: r.long("requested")?,
        available: r.long("available")?,
    })
}

fn level_value(l: &StockLevel) -> Value {
    record(vec![
        ("product_code", string(&l.product_code)),
        ("on_hand", Value::Long(l.on_hand)),
        ("reserved", Value::Long(l.reserved)),
        ("version", Value::Long(l.version)),
        ("updated_at", ts(&l.updated_at)),
        ("damaged", Value::Long(l.damaged)),
    ])
}

fn level_from_value(v: Value) -> Result<StockLevel, CodecError> {
    let mut r = Fields::of("StockLevel", v)?;
    Ok(StockLevel {
        product_code: r.string("product_code")?,
        on_hand: r.long("on_hand")?,
        reserved: r.long("reserved")?,
        version: r.long("version")?,
        updated_at: r.ts("updated_at")?,
        damaged: r.long("damaged")?,
    })
}
