//! `Event` ⇄ `event.avsc`.

use apache_avro::types::Value;

use super::CodecError;
use super::value::{Fields, opt_string, parse_json, record, string, ts};
use crate::{Event, EventType};

pub(super) fn to_value(e: &Event) -> Value {
    let (index, symbol) = match e.event_type {
        EventType::StockChanged => (0, "stock_changed"),
        EventType::OrderDispatched => (1, "order_dispatched"),
        EventType::OrderStatusChanged => (2, "order_status_changed"),
        EventType::OrderReturned => (3, "order_returned"),
    };
    let event_type = Value::Enum(index, symbol.to_owned());
    record(vec![
        ("id", string(&e.id)),
        ("event_type", event_type),
        ("created_at", ts(&e.created_at)),
        ("channel_id", opt_string(&e.channel_id)),
        ("product_code", opt_string(&e.product_code)),
        ("data", Value::String(e.data.to_string())),
    ])
}

pub(super) fn from_value(v: Value) -> Result<Event, CodecError> {
    let mut r = Fields::of("Event", v)?;
    let symbol = r.symbol("event_type")?;
    let event_type = match symbol.as_str() {
        "stock_changed" => EventType::StockChanged,
        "order_dispatched" => EventType::OrderDispatched,
        "order_status_changed" => EventType::OrderStatusChanged,
        "order_returned" => EventType::OrderReturned,
        other => {
            return Err(CodecError::Shape(format!(
                "Event.event_type: unknown symbol {other}"
            )));
        }
    };
    Ok(Event {
        id: r.string("id")?,
        event_type,
        created_at: r.ts("created_at")?,
        channel_id: r.opt_string("channel_id")?,
        product_code: r.opt_string("product_code")?,
        data: parse_json("data", &r.string("data")?)?,
    })
}
