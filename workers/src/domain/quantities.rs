//! How movements change a product's quantities (on-hand, reserved,
//! damaged), what an adjustment may do, and the `stock.changed` event.

use agusto_schemas::{AdjustmentChange, Event, EventType, MovementKind, StockLevel, stable_id};
use serde_json::json;

/// Why a stock-changing movement happened, as the webhook `reason`.
pub(crate) fn reason(kind: MovementKind) -> &'static str {
    match kind {
        MovementKind::Receipt => "receipt",
        MovementKind::Adjustment => "adjustment",
        MovementKind::Return | MovementKind::ReturnDamaged => "return",
        _ => "stock_out",
    }
}

/// How one movement changes a product's quantities.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Deltas {
    /// Change of on-hand.
    pub on_hand: i64,
    /// Change of reserved.
    pub reserved: i64,
    /// Change of damaged.
    pub damaged: i64,
}

impl Deltas {
    /// A change of on-hand only.
    pub fn on_hand(n: i64) -> Self {
        Deltas {
            on_hand: n,
            ..Deltas::default()
        }
    }

    /// A change of reserved only.
    pub fn reserved(n: i64) -> Self {
        Deltas {
            reserved: n,
            ..Deltas::default()
        }
    }

    /// A change of damaged only.
    pub fn damaged(n: i64) -> Self {
        Deltas {
            damaged: n,
            ..Deltas::default()
        }
    }
}

/// What an adjustment does to `level`, or why it is refused.
pub(crate) fn adjustment_deltas(
    level: &StockLevel,
    code: &str,
    change: AdjustmentChange,
) -> Result<Deltas, String> {
    let delta = match change {
        AdjustmentChange::Delta(d) => Deltas::on_hand(d),
        AdjustmentChange::SetOnHand(n) => Deltas::on_hand(n.saturating_sub(level.on_hand)),
        AdjustmentChange::Damaged(d) => Deltas::damaged(d),
        AdjustmentChange::MoveToDamaged(n) if n <= 0 => {
            return Err(format!("units moved to damaged must be > 0, not {n}"));
        }
        AdjustmentChange::MoveToDamaged(n) => Deltas {
            on_hand: -n,
            damaged: n,
            reserved: 0,
        },
    };
    let on_hand = level.on_hand.checked_add(delta.on_hand);
    let damaged = level.damaged.checked_add(delta.damaged);
    match (on_hand, damaged) {
        (None, _) | (_, None) => Err(format!("adjustment of {code} would overflow")),
        (Some(n), _) if n < 0 => Err(format!(
            "adjustment would take on_hand of {code} below 0 (on_hand {})",
            level.on_hand
        )),
        (_, Some(d)) if d < 0 => Err(format!(
            "adjustment would take damaged of {code} below 0 (damaged {})",
            level.damaged
        )),
        (Some(n), _)
            if matches!(change, AdjustmentChange::MoveToDamaged(_)) && n < level.reserved =>
        {
            Err(format!(
                "moving to damaged would leave on_hand of {code} ({n}) below reserved ({}); \
                 release the reserved units first",
                level.reserved
            ))
        }
        _ => Ok(delta),
    }
}

/// The `stock.changed` event for a product at its current version.
pub fn stock_changed(level: &StockLevel, reason: &str) -> Event {
    Event {
        id: stable_id(
            "evt",
            &[
                "stock.changed",
                &level.product_code,
                &level.version.to_string(),
            ],
        ),
        event_type: EventType::StockChanged,
        created_at: level.updated_at,
        channel_id: None,
        product_code: Some(level.product_code.clone()),
        data: json!({
            "sku": level.product_code,
            "product_code": level.product_code,
            "on_hand": level.on_hand,
            "reserved": level.reserved,
            "available": level.available(),
            "damaged": level.damaged,
            "version": level.version,
            "reason": reason,
        }),
    }
}
