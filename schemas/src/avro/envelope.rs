//! The command envelope shared by `agusto.stock.commands` and
//! `agusto.order.commands`.

use apache_avro::types::Value;

use super::CodecError;
use super::value::{Fields, as_long, as_opt, opt, record, string, ts};
use crate::{CommandEnvelope, ReplyTo};

/// `CommandEnvelope<C>` → the envelope record, `command` built by `f`.
pub(super) fn to_value<C>(env: &CommandEnvelope<C>, f: impl FnOnce(&C) -> Value) -> Value {
    record(vec![
        ("correlation_id", string(&env.correlation_id)),
        ("reply_to", opt(env.reply_to.as_ref(), reply_to_value)),
        ("issued_at", ts(&env.issued_at)),
        ("command", f(&env.command)),
    ])
}

/// The envelope record → `CommandEnvelope<C>`, `command` read by `f`.
pub(super) fn from_value<C>(
    what: &'static str,
    v: Value,
    f: impl FnOnce(Value) -> Result<C, CodecError>,
) -> Result<CommandEnvelope<C>, CodecError> {
    let mut r = Fields::of(what, v)?;
    let reply_to = r.take("reply_to")?;
    Ok(CommandEnvelope {
        correlation_id: r.string("correlation_id")?,
        reply_to: as_opt("reply_to", reply_to, |_, v| reply_to_from_value(v))?,
        issued_at: r.ts("issued_at")?,
        command: f(r.take("command")?)?,
    })
}

fn reply_to_value(r: &ReplyTo) -> Value {
    record(vec![
        ("instance", string(&r.instance)),
        ("partition", Value::Long(i64::from(r.partition))),
    ])
}

fn reply_to_from_value(v: Value) -> Result<ReplyTo, CodecError> {
    let mut r = Fields::of("ReplyTo", v)?;
    let instance = r.string("instance")?;
    let partition = as_long("ReplyTo.partition", r.take("partition")?)?;
    let partition = u32::try_from(partition)
        .map_err(|_| CodecError::Shape(format!("ReplyTo.partition: {partition} out of range")))?;
    Ok(ReplyTo {
        instance,
        partition,
    })
}
