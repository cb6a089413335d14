//! Returned units received into stock: applied once per change id (like a
//! receipt), restocked units back to on-hand (ledger kind `return`),
//! damaged ones to damaged (`return_damaged`).

use agusto_schemas::{MovementKind, ReturnedQty, StockLevel, StockReply, Timestamp};

use super::stock::{Deltas, StockEffects, StockState};

impl StockState {
    /// Applies the received lines of return `return_id` under `change_id`.
    /// On any rejection nothing changes.
    pub(crate) fn receive_return(
        &mut self,
        change_id: &str,
        return_id: &str,
        lines: &[ReturnedQty],
        claim: Option<&str>,
        at: Timestamp,
        fx: &mut StockEffects,
    ) -> StockReply {
        if let Some(earlier) = self.recorded(change_id, claim) {
            return earlier;
        }
        for l in lines {
            if l.restock < 0 || l.damaged < 0 || l.restock.saturating_add(l.damaged) == 0 {
                return StockReply::Rejected(format!(
                    "returned units of {} must be >= 0 and not all 0",
                    l.product_code
                ));
            }
            let Some(level) = self.levels.get(&l.product_code) else {
                return StockReply::Rejected(format!("unknown product_code {}", l.product_code));
            };
            if level.on_hand.checked_add(l.restock).is_none()
                || level.damaged.checked_add(l.damaged).is_none()
            {
                return StockReply::Rejected(format!("stock of {} would overflow", l.product_code));
            }
        }
        let mut levels: Vec<StockLevel> = Vec::with_capacity(lines.len());
        for l in lines {
            let mut level = None;
            if l.restock > 0 {
                let d = Deltas::on_hand(l.restock);
                level =
                    Some(self.change(&l.product_code, MovementKind::Return, d, return_id, at, fx));
            }
            if l.damaged > 0 {
                let d = Deltas::damaged(l.damaged);
                let kind = MovementKind::ReturnDamaged;
                level = Some(self.change(&l.product_code, kind, d, return_id, at, fx));
            }
            levels.extend(level);
        }
        self.record(change_id, claim, &levels, at, fx);
        StockReply::Levels(levels)
    }
}
