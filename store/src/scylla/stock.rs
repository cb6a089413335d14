//! Reads of stock rows, the movement ledger and reservations.

use std::collections::BTreeMap;

use agusto_schemas::{Movement, MovementKind, Reservation, StockLevel, Timestamp};

use super::Inner;
use super::codec::{
    big, cursor, fetch_size, int_cursor, int_key, int_key_cursor, limit, merge_sorted, micros,
    opt_time, page, required, shards, text, time,
};
use super::statements::Stmt;
use crate::{Error, LedgerSum, Page, Result};

/// Cursor tag of `stock_updated_since`: `<updated_at micros>|<product code>`.
const UPDATED: &str = "s";
/// Cursor tag of `movements`: the version of the last row.
const MOVEMENTS: &str = "m";

/// A stock row: (code, on_hand, reserved, version, updated_at, damaged);
/// `damaged` is null on rows written before schema version 7.
pub(crate) type LevelRow = (
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// Decodes a [`LevelRow`].
pub(crate) fn level_of(row: LevelRow) -> Result<StockLevel> {
    let (product_code, on_hand, reserved, version, updated_at, damaged) = row;
    Ok(StockLevel {
        product_code,
        on_hand: required(on_hand, "on_hand")?,
        reserved: required(reserved, "reserved")?,
        version: required(version, "version")?,
        updated_at: time(required(updated_at, "updated_at")?)?,
        damaged: damaged.unwrap_or(0),
    })
}

/// A ledger row: (code, version, at, kind, Δon_hand, Δreserved, reference,
/// Δdamaged); Δdamaged is null on rows written before schema version 7.
type MovementRow = (
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

fn movement_of(row: MovementRow) -> Result<Movement> {
    let (product_code, version, at, kind, d_on_hand, d_reserved, reference, d_damaged) = row;
    let kind = required(kind, "movement kind")?;
    let kind = MovementKind::parse(&kind)
        .ok_or_else(|| Error::Corrupt(format!("unknown movement kind {kind:?}")))?;
    Ok(Movement {
        product_code,
        at: time(required(at, "movement at")?)?,
        kind,
        delta_on_hand: required(d_on_hand, "delta_on_hand")?,
        delta_reserved: required(d_reserved, "delta_reserved")?,
        reference: required(reference, "reference")?,
        version,
        delta_damaged: d_damaged.unwrap_or(0),
    })
}

/// A ledger row as `ledger_sums` adds it up: (code, Δon_hand, Δreserved,
/// Δdamaged, kind).
type SumRow = (
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

/// A hold row: (order, product, quantity, expires_at).
pub(crate) type HoldRow = (String, String, Option<i64>, Option<i64>);

/// Decodes a [`HoldRow`].
pub(crate) fn hold_of(row: HoldRow) -> Result<Reservation> {
    let (order_id, product_code, quantity, expires_at) = row;
    Ok(Reservation {
        order_id,
        product_code,
        quantity: required(quantity, "hold quantity")?,
        expires_at: opt_time(expires_at)?,
    })
}

impl Inner {
    /// Stored levels of `codes`, in input order; codes without a row are left out.
    pub(crate) async fn stock_levels(&self, codes: &[String]) -> Result<Vec<StockLevel>> {
        let reads = codes
            .iter()
            .map(|code| self.row::<LevelRow>(Stmt::GetLevel, vec![text(code)]));
        let rows = futures::future::try_join_all(reads).await?;
        rows.into_iter().flatten().map(level_of).collect()
    }

    /// A page of rows with `updated_at >= since`, by (updated_at, code):
    /// the first rows of every shard, merged.
    pub(crate) async fn updated_since(
        &self,
        since: &Timestamp,
        after: Option<&str>,
        want: usize,
    ) -> Result<Page<StockLevel>> {
        let after = after.map(|c| int_key_cursor(UPDATED, c)).transpose()?;
        let since = micros(since);
        let fetch = fetch_size(want);
        let reads = shards().map(|shard| {
            let (stmt, values) = match &after {
                // A cursor before `since` is overtaken by `since` itself.
                Some((t, code)) if *t >= since => (
                    Stmt::LevelsAfter,
                    vec![big(shard), big(*t), text(code), limit(fetch)],
                ),
                _ => (
                    Stmt::LevelsSince,
                    vec![big(shard), big(since), limit(fetch)],
                ),
            };
            self.rows::<LevelRow>(stmt, values)
        });
        let parts = futures::future::try_join_all(reads).await?;
        let parts = parts
            .into_iter()
            .map(|rows| rows.into_iter().map(level_of).collect::<Result<Vec<_>>>())
            .collect::<Result<Vec<_>>>()?;
        let rows = merge_sorted(parts, |l| (l.updated_at, l.product_code.clone()), fetch);
        Ok(page(rows, want, |l| {
            int_key(UPDATED, micros(&l.updated_at), &l.product_code)
        }))
    }

    /// Every stock row, by product code (a full scan).
    pub(crate) async fn all_levels(&self) -> Result<Vec<StockLevel>> {
        let mut levels = self
            .scan::<LevelRow>(Stmt::AllLevels, vec![])
            .await?
            .into_iter()
            .map(level_of)
            .collect::<Result<Vec<_>>>()?;
        levels.sort_by(|a, b| a.product_code.cmp(&b.product_code));
        Ok(levels)
    }

    /// A page of one product's ledger, oldest first.
    pub(crate) async fn movements(
        &self,
        code: &str,
        after: Option<&str>,
        want: usize,
    ) -> Result<Page<Movement>> {
        let after = after
            .map(|c| int_cursor(MOVEMENTS, c))
            .transpose()?
            .unwrap_or(i64::MIN);
        let rows = self
            .rows::<MovementRow>(
                Stmt::Movements,
                vec![text(code), big(after), limit(fetch_size(want))],
            )
            .await?
            .into_iter()
            .map(movement_of)
            .collect::<Result<Vec<_>>>()?;
        Ok(page(rows, want, |m| {
            cursor(MOVEMENTS, &m.version.to_string())
        }))
    }

    /// Ledger totals per product, by product code (a full scan of the ledger,
    /// for verification).
    pub(crate) async fn ledger_sums(&self) -> Result<Vec<LedgerSum>> {
        let rows = self.scan::<SumRow>(Stmt::AllMovementDeltas, vec![]).await?;
        let mut sums: BTreeMap<String, LedgerSum> = BTreeMap::new();
        for (code, on_hand, reserved, damaged, kind) in rows {
            let s = sums.entry(code).or_insert_with_key(|code| LedgerSum {
                product_code: code.clone(),
                on_hand: 0,
                reserved: 0,
                damaged: 0,
                returned: 0,
                returned_damaged: 0,
            });
            match kind.as_deref() {
                Some("return") => s.returned = s.returned.saturating_add(on_hand.unwrap_or(0)),
                Some("return_damaged") => {
                    s.returned_damaged = s.returned_damaged.saturating_add(damaged.unwrap_or(0));
                }
                _ => {}
            }
            s.on_hand = s.on_hand.saturating_add(on_hand.unwrap_or(0));
            s.reserved = s.reserved.saturating_add(reserved.unwrap_or(0));
            s.damaged = s.damaged.saturating_add(damaged.unwrap_or(0));
        }
        Ok(sums.into_values().collect())
    }

    /// An order's holds, by product code.
    pub(crate) async fn all_holds(&self) -> Result<Vec<Reservation>> {
        self.scan::<HoldRow>(Stmt::AllHolds, vec![])
            .await?
            .into_iter()
            .map(hold_of)
            .collect()
    }

    /// An order's holds.
    pub(crate) async fn reservations_for_order(&self, order_id: &str) -> Result<Vec<Reservation>> {
        self.rows::<HoldRow>(Stmt::GetHolds, vec![text(order_id)])
            .await?
            .into_iter()
            .map(hold_of)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_decode_or_are_corrupt() {
        let level = level_of(("p".into(), Some(5), Some(2), Some(3), Some(1_000_001), None))
            .expect("level");
        assert_eq!((level.on_hand, level.reserved, level.version), (5, 2, 3));
        assert_eq!(micros(&level.updated_at), 1_000_001);
        assert!(matches!(
            level_of(("p".into(), None, Some(2), Some(3), Some(1), Some(0))),
            Err(Error::Corrupt(_))
        ));
        let m = movement_of((
            "p".into(),
            4,
            Some(7),
            Some("stock_out".into()),
            Some(-1),
            Some(-1),
            Some("o".into()),
            None,
        ))
        .expect("movement");
        assert_eq!(
            (m.kind, m.version, m.delta_on_hand),
            (MovementKind::StockOut, 4, -1)
        );
        let bad = movement_of((
            "p".into(),
            4,
            Some(7),
            Some("teleport".into()),
            Some(0),
            Some(0),
            Some("o".into()),
            Some(0),
        ));
        assert!(matches!(bad, Err(Error::Corrupt(_))));
        let h = hold_of(("o".into(), "p".into(), Some(2), None)).expect("hold");
        assert_eq!((h.quantity, h.expires_at), (2, None));
        assert!(matches!(
            hold_of(("o".into(), "p".into(), None, None)),
            Err(Error::Corrupt(_))
        ));
    }
}
