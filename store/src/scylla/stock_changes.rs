//! Recorded receipts and adjustments (`stock_changes`): one row per (change
//! id, stock partition), written in the stock writer's logged batch that
//! applies the change, with a TTL up to its `expires_at`, so the table
//! empties itself.

use std::collections::HashMap;

use agusto_schemas::Timestamp;
use scylla::value::CqlValue;

use super::Inner;
use super::codec::{Values, big, micros, opt_text, stock_change, text, to_json};
use super::statements::Stmt;
use crate::{Result, StockChange};

/// A row: (fingerprint, levels JSON, expires_at).
type ChangeRow = (Option<String>, Option<String>, Option<i64>);

/// The most a TTL may be in CQL (20 years, in seconds).
const MAX_TTL: i64 = 630_720_000;

/// The writes of `changes`: one per (change id, partition), the last one
/// given (two writes of a row in one batch would tie on their timestamp),
/// each living until its `expires_at` (at least a second).
pub(crate) fn change_ops(changes: &[StockChange], now: Timestamp) -> Result<Vec<(Stmt, Values)>> {
    let mut last: HashMap<(&str, u32), usize> = HashMap::new();
    for (i, c) in changes.iter().enumerate() {
        last.insert((c.change_id.as_str(), c.partition), i);
    }
    let mut keep: Vec<usize> = last.into_values().collect();
    keep.sort_unstable();
    keep.into_iter()
        .map(|i| {
            let c = &changes[i];
            let levels = c.levels.as_ref().map(to_json).transpose()?;
            let ttl = (c.expires_at - now).num_seconds().clamp(1, MAX_TTL);
            let ttl = i32::try_from(ttl).unwrap_or(i32::MAX);
            Ok((
                Stmt::PutStockChange,
                vec![
                    text(&c.change_id),
                    big(i64::from(c.partition)),
                    opt_text(c.fingerprint.as_deref()),
                    opt_text(levels.as_deref()),
                    big(micros(&c.expires_at)),
                    Some(CqlValue::Int(ttl)),
                ],
            ))
        })
        .collect()
}

impl Inner {
    /// The unexpired rows of `ids` in `partition`, read concurrently.
    pub(crate) async fn stock_changes(
        &self,
        partition: u32,
        ids: &[String],
        now: Timestamp,
    ) -> Result<Vec<StockChange>> {
        let reads = ids.iter().map(|id| {
            self.row::<ChangeRow>(
                Stmt::GetStockChange,
                vec![text(id), big(i64::from(partition))],
            )
        });
        let rows = futures::future::try_join_all(reads).await?;
        let now = micros(&now);
        let mut out = Vec::new();
        for (id, row) in ids.iter().zip(rows) {
            let Some((fingerprint, levels, Some(expires_at))) = row else {
                continue;
            };
            if expires_at <= now {
                continue;
            }
            out.push(stock_change(
                id,
                partition,
                fingerprint,
                levels,
                expires_at,
            )?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scylla::codec::time;

    fn change(id: &str, partition: u32, fingerprint: Option<&str>, secs: i64) -> StockChange {
        StockChange {
            change_id: id.into(),
            partition,
            fingerprint: fingerprint.map(str::to_owned),
            levels: None,
            expires_at: time(1_700_000_000_000_000 + secs * 1_000_000).expect("time"),
        }
    }

    #[test]
    fn one_write_per_row_the_last_one_with_a_ttl_until_it_expires() {
        let now = time(1_700_000_000_000_000).expect("time");
        let changes = [
            change("a", 0, None, 100),
            change("a", 1, None, 100),
            change("a", 0, Some("fp"), 604_800),
            change("b", 0, None, -5),
        ];
        let ops = change_ops(&changes, now).expect("ops");
        let rows: Vec<[Option<CqlValue>; 4]> = ops
            .into_iter()
            .map(|(stmt, v)| {
                assert_eq!(stmt, Stmt::PutStockChange);
                [v[0].clone(), v[1].clone(), v[2].clone(), v[5].clone()]
            })
            .collect();
        assert_eq!(
            rows,
            [
                [text("a"), big(1), None, Some(CqlValue::Int(100))],
                [text("a"), big(0), text("fp"), Some(CqlValue::Int(604_800))],
                [text("b"), big(0), None, Some(CqlValue::Int(1))],
            ]
        );
    }
}
