//! The stock ledger of one partition, as a pure state machine:
//! `(state, command) → (state', reply, effects)`. No IO: the writer loads the
//! rows a batch needs into [`StockState`] first and persists the effects after.

use std::collections::HashMap;

use agusto_schemas::{
    Movement, MovementKind, ProductQty, Reservation, Shortage, StockCommand, StockLevel,
    StockReply, Timestamp,
};

pub use super::effects::StockEffects;
pub use super::quantities::stock_changed;
pub(crate) use super::quantities::{Deltas, adjustment_deltas, reason};
pub use super::stock_changes::ChangeRecord;

/// The rows of one partition that commands read and change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StockState {
    /// Levels of every known product (absent = not in the catalogue, or not loaded).
    pub levels: HashMap<String, StockLevel>,
    /// Holds per order (absent = none, or not loaded).
    pub holds: HashMap<String, Vec<Reservation>>,
    /// Receipts and adjustments this partition recorded, by change id
    /// (absent = none, or not loaded).
    pub changes: HashMap<String, ChangeRecord>,
}

impl StockState {
    /// Products whose holds do not add up to their `reserved`, or that
    /// hold more than is on hand: none, unless the state is broken.
    pub fn inconsistent(&self) -> Vec<&StockLevel> {
        let mut held: HashMap<&str, i64> = HashMap::new();
        for h in self.holds.values().flatten() {
            *held.entry(h.product_code.as_str()).or_default() += h.quantity;
        }
        self.levels
            .values()
            .filter(|l| {
                let units = held.get(l.product_code.as_str()).copied().unwrap_or(0);
                units != l.reserved || l.reserved > l.on_hand
            })
            .collect()
    }

    /// Applies one command at time `at`. On any rejection nothing changes.
    pub fn apply(
        &mut self,
        cmd: &StockCommand,
        at: Timestamp,
        fx: &mut StockEffects,
    ) -> StockReply {
        match cmd {
            StockCommand::Receipt {
                receipt_id,
                reference,
                lines,
                claim,
            } => {
                if let Some(earlier) = self.recorded(receipt_id, claim.as_deref()) {
                    return earlier;
                }
                if let Some(bad) = lines.iter().find(|l| l.quantity <= 0) {
                    return StockReply::Rejected(format!(
                        "quantity of {} must be > 0",
                        bad.product_code
                    ));
                }
                if let Some(missing) = self.first_unknown(lines.iter().map(|l| &l.product_code)) {
                    return StockReply::Rejected(format!("unknown product_code {missing}"));
                }
                let overflow = lines.iter().find(|l| {
                    self.levels[&l.product_code]
                        .on_hand
                        .checked_add(l.quantity)
                        .is_none()
                });
                if let Some(l) = overflow {
                    return StockReply::Rejected(format!(
                        "on_hand of {} would overflow",
                        l.product_code
                    ));
                }
                let r = if reference.is_empty() {
                    receipt_id
                } else {
                    reference
                };
                let levels: Vec<StockLevel> = lines
                    .iter()
                    .map(|l| {
                        self.change(
                            &l.product_code,
                            MovementKind::Receipt,
                            Deltas::on_hand(l.quantity),
                            r,
                            at,
                            fx,
                        )
                    })
                    .collect();
                self.record(receipt_id, claim.as_deref(), &levels, at, fx);
                StockReply::Levels(levels)
            }
            StockCommand::Adjust {
                adjustment_id,
                product_code,
                change,
                reason,
                expected_version,
                claim,
            } => {
                if let Some(earlier) = self.recorded(adjustment_id, claim.as_deref()) {
                    return earlier;
                }
                let Some(level) = self.levels.get(product_code) else {
                    return StockReply::Rejected(format!("unknown product_code {product_code}"));
                };
                if expected_version.is_some_and(|v| v != level.version) {
                    return StockReply::VersionMismatch {
                        current_version: level.version,
                    };
                }
                let delta = match adjustment_deltas(level, product_code, *change) {
                    Ok(d) => d,
                    Err(why) => return StockReply::Rejected(why),
                };
                let l = self.change(
                    product_code,
                    MovementKind::Adjustment,
                    delta,
                    reason,
                    at,
                    fx,
                );
                let levels = vec![l];
                self.record(adjustment_id, claim.as_deref(), &levels, at, fx);
                StockReply::Levels(levels)
            }
            StockCommand::Claim {
                change_id,
                fingerprint,
            } => self.claim(change_id, fingerprint, at, fx),
            StockCommand::Reserve {
                order_id,
                lines,
                expires_at,
            } => self.reserve(order_id, lines, *expires_at, at, fx),
            StockCommand::Confirm { order_id } => {
                if let Some(holds) = self.holds.get_mut(order_id) {
                    for h in holds.iter_mut().filter(|h| h.expires_at.is_some()) {
                        h.expires_at = None;
                        fx.holds_put.push(h.clone());
                    }
                }
                StockReply::Done
            }
            StockCommand::Release { order_id, .. } => {
                self.settle(order_id, MovementKind::Release, order_id, at, fx);
                StockReply::Done
            }
            StockCommand::StockOut {
                order_id,
                reference,
            } => {
                self.settle(order_id, MovementKind::StockOut, reference, at, fx);
                StockReply::Done
            }
            StockCommand::ReturnReceipt {
                change_id,
                return_id,
                lines,
                claim,
            } => self.receive_return(change_id, return_id, lines, claim.as_deref(), at, fx),
            StockCommand::SweepLapsed { before } => {
                self.sweep_lapsed(*before, |_| false, at, fx);
                StockReply::Done
            }
            // Orders are decided by the partition state that owns them.
            StockCommand::Order(_) | StockCommand::SagaAnswer { .. } => {
                StockReply::Rejected("an order command needs the partition's orders".into())
            }
        }
    }

    /// Releases the unconfirmed holds that lapsed before `before`, except
    /// those of the orders `spared` names (their owner ends them).
    pub(crate) fn sweep_lapsed(
        &mut self,
        before: Timestamp,
        spared: impl Fn(&str) -> bool,
        at: Timestamp,
        fx: &mut StockEffects,
    ) {
        let mut lapsed: Vec<String> = self
            .holds
            .iter()
            .filter(|(id, _)| !spared(id))
            .filter(|(_, hs)| hs.iter().any(|h| h.expires_at.is_some_and(|e| e < before)))
            .map(|(id, _)| id.clone())
            .collect();
        lapsed.sort();
        for id in lapsed {
            self.settle(&id, MovementKind::Release, &id, at, fx);
        }
    }

    fn first_unknown<'a>(&self, mut codes: impl Iterator<Item = &'a String>) -> Option<&'a String> {
        codes.find(|c| !self.levels.contains_key(*c))
    }

    fn reserve(
        &mut self,
        order_id: &str,
        lines: &[ProductQty],
        expires_at: Timestamp,
        at: Timestamp,
        fx: &mut StockEffects,
    ) -> StockReply {
        if self.holds.get(order_id).is_some_and(|h| !h.is_empty()) {
            return StockReply::Reserved;
        }
        if let Some(missing) = self.first_unknown(lines.iter().map(|l| &l.product_code)) {
            return StockReply::Rejected(format!("unknown product_code {missing}"));
        }
        if lines.iter().any(|l| l.quantity <= 0) {
            return StockReply::Rejected("reservation quantities must be > 0".into());
        }
        let mut wanted: Vec<(String, i64)> = Vec::with_capacity(lines.len());
        for l in lines {
            match wanted.iter_mut().find(|(c, _)| *c == l.product_code) {
                Some((_, q)) => *q = q.saturating_add(l.quantity),
                None => wanted.push((l.product_code.clone(), l.quantity)),
            }
        }
        let shortages: Vec<Shortage> = wanted
            .iter()
            .filter_map(|(code, q)| {
                let available = self.levels[code].available();
                (available < *q).then(|| Shortage {
                    product_code: code.clone(),
                    requested: *q,
                    available,
                })
            })
            .collect();
        if !shortages.is_empty() {
            return StockReply::Short(shortages);
        }
        let mut holds = Vec::with_capacity(wanted.len());
        for (code, q) in wanted {
            self.change(
                &code,
                MovementKind::Reserve,
                Deltas::reserved(q),
                order_id,
                at,
                fx,
            );
            let hold = Reservation {
                order_id: order_id.to_owned(),
                product_code: code,
                quantity: q,
                expires_at: Some(expires_at),
            };
            fx.holds_put.push(hold.clone());
            holds.push(hold);
        }
        self.holds.insert(order_id.to_owned(), holds);
        StockReply::Reserved
    }

    /// Ends an order's holds: a release gives the units back, a stock-out
    /// ships them. A no-op for an order without holds here.
    fn settle(
        &mut self,
        order_id: &str,
        kind: MovementKind,
        reference: &str,
        at: Timestamp,
        fx: &mut StockEffects,
    ) {
        let Some(holds) = self.holds.remove(order_id) else {
            return;
        };
        for h in holds {
            let on_hand = if kind == MovementKind::StockOut {
                -h.quantity
            } else {
                0
            };
            if self.levels.contains_key(&h.product_code) {
                let delta = Deltas {
                    on_hand,
                    reserved: -h.quantity,
                    damaged: 0,
                };
                self.change(&h.product_code, kind, delta, reference, at, fx);
            }
            fx.holds_deleted.push((h.order_id, h.product_code));
        }
    }

    /// Applies one movement to one product: bumps its version, appends the
    /// ledger row and, for changes of what is physically here, the
    /// `stock.changed` event.
    pub(crate) fn change(
        &mut self,
        code: &str,
        kind: MovementKind,
        delta: Deltas,
        reference: &str,
        at: Timestamp,
        fx: &mut StockEffects,
    ) -> StockLevel {
        let level = self
            .levels
            .get_mut(code)
            .expect("caller checked the product is known");
        level.on_hand = level.on_hand.saturating_add(delta.on_hand);
        level.reserved = level.reserved.saturating_add(delta.reserved);
        level.damaged = level.damaged.saturating_add(delta.damaged);
        level.version += 1;
        level.updated_at = at;
        fx.touched.insert(code.to_owned());
        fx.movements.push(Movement {
            product_code: code.to_owned(),
            at,
            kind,
            delta_on_hand: delta.on_hand,
            delta_reserved: delta.reserved,
            delta_damaged: delta.damaged,
            reference: reference.to_owned(),
            version: level.version,
        });
        if !matches!(kind, MovementKind::Reserve | MovementKind::Release) {
            fx.events.push(stock_changed(level, reason(kind)));
        }
        level.clone()
    }
}
