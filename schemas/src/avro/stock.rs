//! `StockEnvelope` ⇄ `stock_envelope.avsc`.

use apache_avro::types::Value;

use super::CodecError;
use super::envelope;
use super::reply::{shortage_from_value, shortage_value};
use super::value::{Fields, array, bad_branch, branch, opt, opt_string, record, string, ts};
use crate::{
    AdjustmentChange, PartOutcome, ProductQty, ReleaseReason, ReturnedQty, Shortage, StockCommand,
    StockEnvelope,
};

pub(super) fn envelope_to_value(env: &StockEnvelope) -> Value {
    envelope::to_value(env, command_to_value)
}

pub(super) fn envelope_from_value(v: Value) -> Result<StockEnvelope, CodecError> {
    envelope::from_value("StockEnvelope", v, command_from_value)
}

/// Union branches of `command`, in schema order.
const RECEIPT: u32 = 0;
const ADJUST: u32 = 1;
const RESERVE: u32 = 2;
const CONFIRM: u32 = 3;
const RELEASE: u32 = 4;
const STOCK_OUT: u32 = 5;
const SWEEP_LAPSED: u32 = 6;
const CLAIM: u32 = 7;
const ORDER: u32 = 8;
const SAGA_ANSWER: u32 = 9;
const RETURN_RECEIPT: u32 = 10;

fn command_to_value(c: &StockCommand) -> Value {
    match c {
        StockCommand::Receipt {
            receipt_id,
            reference,
            lines,
            claim,
        } => branch(
            RECEIPT,
            record(vec![
                ("receipt_id", string(receipt_id)),
                ("reference", string(reference)),
                ("lines", array(lines, product_qty_value)),
                ("claim", opt_string(claim)),
            ]),
        ),
        StockCommand::Adjust {
            adjustment_id,
            product_code,
            change,
            reason,
            expected_version,
            claim,
        } => {
            let change = match change {
                AdjustmentChange::Delta(n) => branch(0, record(vec![("delta", Value::Long(*n))])),
                AdjustmentChange::SetOnHand(n) => {
                    branch(1, record(vec![("on_hand", Value::Long(*n))]))
                }
                AdjustmentChange::Damaged(n) => branch(2, record(vec![("delta", Value::Long(*n))])),
                AdjustmentChange::MoveToDamaged(n) => {
                    branch(3, record(vec![("quantity", Value::Long(*n))]))
                }
            };
            branch(
                ADJUST,
                record(vec![
                    ("adjustment_id", string(adjustment_id)),
                    ("product_code", string(product_code)),
                    ("change", change),
                    ("reason", string(reason)),
                    (
                        "expected_version",
                        opt(expected_version.as_ref(), |v| Value::Long(*v)),
                    ),
                    ("claim", opt_string(claim)),
                ]),
            )
        }
        StockCommand::Reserve {
            order_id,
            lines,
            expires_at,
        } => branch(
            RESERVE,
            record(vec![
                ("order_id", string(order_id)),
                ("lines", array(lines, product_qty_value)),
                ("expires_at", ts(expires_at)),
            ]),
        ),
        StockCommand::Confirm { order_id } => {
            branch(CONFIRM, record(vec![("order_id", string(order_id))]))
        }
        StockCommand::Release { order_id, reason } => branch(
            RELEASE,
            record(vec![
                ("order_id", string(order_id)),
                ("reason", release_reason_value(*reason)),
            ]),
        ),
        StockCommand::StockOut {
            order_id,
            reference,
        } => branch(
            STOCK_OUT,
            record(vec![
                ("order_id", string(order_id)),
                ("reference", string(reference)),
            ]),
        ),
        StockCommand::SweepLapsed { before } => {
            branch(SWEEP_LAPSED, record(vec![("before", ts(before))]))
        }
        StockCommand::Claim {
            change_id,
            fingerprint,
        } => branch(
            CLAIM,
            record(vec![
                ("change_id", string(change_id)),
                ("fingerprint", string(fingerprint)),
            ]),
        ),
        StockCommand::Order(c) => branch(
            ORDER,
            record(vec![("command", super::order::command_to_value(c))]),
        ),
        StockCommand::ReturnReceipt {
            change_id,
            return_id,
            lines,
            claim,
        } => branch(
            RETURN_RECEIPT,
            record(vec![
                ("change_id", string(change_id)),
                ("return_id", string(return_id)),
                (
                    "lines",
                    array(lines, |l| {
                        record(vec![
                            ("product_code", string(&l.product_code)),
                            ("restock", Value::Long(l.restock)),
                            ("damaged", Value::Long(l.damaged)),
                        ])
                    }),
                ),
                ("claim", opt_string(claim)),
            ]),
        ),
        StockCommand::SagaAnswer {
            order_id,
            step,
            partition,
            outcome,
        } => {
            let (short, failure): (&[Shortage], Option<String>) = match outcome {
                PartOutcome::Applied => (&[], None),
                PartOutcome::Short(s) => (s, None),
                PartOutcome::Failed(why) => (&[], Some(why.clone())),
            };
            branch(
                SAGA_ANSWER,
                record(vec![
                    ("order_id", string(order_id)),
                    ("step", Value::Long(*step as i64)),
                    ("partition", Value::Long(i64::from(*partition))),
                    ("shortages", array(short, shortage_value)),
                    ("failure", opt_string(&failure)),
                ]),
            )
        }
    }
}

fn command_from_value(v: Value) -> Result<StockCommand, CodecError> {
    let (index, inner) = super::value::as_branch("StockEnvelope.command", v)?;
    Ok(match index {
        RECEIPT => {
            let mut r = Fields::of("Receipt", inner)?;
            StockCommand::Receipt {
                receipt_id: r.string("receipt_id")?,
                reference: r.string("reference")?,
                lines: r.array("lines", product_qty_from_value)?,
                claim: r.opt_string("claim")?,
            }
        }
        ADJUST => {
            let mut r = Fields::of("Adjust", inner)?;
            let (kind, change) = r.branch("change")?;
            let change = match kind {
                0 => AdjustmentChange::Delta(Fields::of("Delta", change)?.long("delta")?),
                1 => AdjustmentChange::SetOnHand(Fields::of("SetOnHand", change)?.long("on_hand")?),
                2 => AdjustmentChange::Damaged(Fields::of("Damaged", change)?.long("delta")?),
                3 => AdjustmentChange::MoveToDamaged(
                    Fields::of("MoveToDamaged", change)?.long("quantity")?,
                ),
                n => return Err(bad_branch("Adjust.change", n)),
            };
            StockCommand::Adjust {
                adjustment_id: r.string("adjustment_id")?,
                product_code: r.string("product_code")?,
                change,
                reason: r.string("reason")?,
                expected_version: r.opt_long("expected_version")?,
                claim: r.opt_string("claim")?,
            }
        }
        RESERVE => {
            let mut r = Fields::of("Reserve", inner)?;
            StockCommand::Reserve {
                order_id: r.string("order_id")?,
                lines: r.array("lines", product_qty_from_value)?,
                expires_at: r.ts("expires_at")?,
            }
        }
        CONFIRM => StockCommand::Confirm {
            order_id: Fields::of("Confirm", inner)?.string("order_id")?,
        },
        RELEASE => {
            let mut r = Fields::of("Release", inner)?;
            let order_id = r.string("order_id")?;
            let symbol = r.symbol("reason")?;
            let reason = match symbol.as_str() {
                "cancelled" => ReleaseReason::Cancelled,
                "expired" => ReleaseReason::Expired,
                "compensation" => ReleaseReason::Compensation,
                other => {
                    return Err(CodecError::Shape(format!(
                        "Release.reason: unknown symbol {other}"
                    )));
                }
            };
            StockCommand::Release { order_id, reason }
        }
        STOCK_OUT => {
            let mut r = Fields::of("StockOut", inner)?;
            StockCommand::StockOut {
                order_id: r.string("order_id")?,
                reference: r.string("reference")?,
            }
        }
        SWEEP_LAPSED => StockCommand::SweepLapsed {
            before: Fields::of("SweepLapsed", inner)?.ts("before")?,
        },
        CLAIM => {
            let mut r = Fields::of("Claim", inner)?;
            StockCommand::Claim {
                change_id: r.string("change_id")?,
                fingerprint: r.string("fingerprint")?,
            }
        }
        ORDER => StockCommand::Order(Box::new(super::order::command_from_value(
            Fields::of("Order", inner)?.take("command")?,
        )?)),
        SAGA_ANSWER => {
            let mut r = Fields::of("SagaAnswer", inner)?;
            let order_id = r.string("order_id")?;
            let step = u64::try_from(r.long("step")?)
                .map_err(|_| CodecError::Shape("SagaAnswer.step: negative".into()))?;
            let partition = u32::try_from(r.long("partition")?)
                .map_err(|_| CodecError::Shape("SagaAnswer.partition: out of range".into()))?;
            let short = r.array("shortages", shortage_from_value)?;
            let outcome = match (r.opt_string("failure")?, short.is_empty()) {
                (Some(why), _) => PartOutcome::Failed(why),
                (None, false) => PartOutcome::Short(short),
                (None, true) => PartOutcome::Applied,
            };
            StockCommand::SagaAnswer {
                order_id,
                step,
                partition,
                outcome,
            }
        }
        RETURN_RECEIPT => {
            let mut r = Fields::of("ReturnReceipt", inner)?;
            StockCommand::ReturnReceipt {
                change_id: r.string("change_id")?,
                return_id: r.string("return_id")?,
                lines: r.array("lines", |v| {
                    let mut l = Fields::of("ReturnedQty", v)?;
                    Ok(ReturnedQty {
                        product_code: l.string("product_code")?,
                        restock: l.long("restock")?,
                        damaged: l.long("damaged")?,
                    })
                })?,
                claim: r.opt_string("claim")?,
            }
        }
        n => return Err(bad_branch("StockEnvelope.command", n)),
    })
}

fn release_reason_value(r: ReleaseReason) -> Value {
    let (index, symbol) = match r {
        ReleaseReason::Cancelled => (0, "cancelled"),
        ReleaseReason::Expired => (1, "expired"),
        ReleaseReason::Compensation => (2, "compensation"),
    };
    Value::Enum(index, symbol.to_owned())
}

fn product_qty_value(l: &ProductQty) -> Value {
    record(vec![
        ("product_code", string(&l.product_code)),
        ("quantity", Value::Long(l.quantity)),
    ])
}

fn product_qty_from_value(v: Value) -> Result<ProductQty, CodecError> {
    let mut r = Fields::of("ProductQty", v)?;
    Ok(ProductQty {
        product_code: r.string("product_code")?,
        quantity: r.long("quantity")?,
    })
}
