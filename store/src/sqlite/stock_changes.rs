//! Recorded receipts and adjustments: one row per (change id, stock
//! partition), written in the stock batch that applies the change, read by
//! the partition's writer before it decides a receipt or adjustment.

use agusto_schemas::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::codec::{micros, stock_change, to_json};
use crate::{Result, StockChange};

/// The unexpired rows of `ids` in `partition`.
pub(crate) fn read(
    conn: &Connection,
    partition: u32,
    ids: &[String],
    now: &Timestamp,
) -> Result<Vec<StockChange>> {
    let mut stmt = conn.prepare_cached(
        "SELECT fingerprint, levels, expires_at FROM stock_changes
         WHERE change_id = ?1 AND partition = ?2 AND expires_at > ?3",
    )?;
    let mut out = Vec::new();
    for id in ids {
        let row = stmt
            .query_row(params![id, partition, micros(now)], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .optional()?;
        if let Some((fingerprint, levels, expires_at)) = row {
            out.push(stock_change(
                id,
                partition,
                fingerprint,
                levels,
                expires_at,
            )?);
        }
    }
    Ok(out)
}

/// Upserts `changes` inside the caller's transaction, after removing the
/// expired rows of their partitions.
pub(crate) fn write(conn: &Connection, changes: &[StockChange]) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let now = micros(&agusto_schemas::now());
    let mut partitions: Vec<u32> = changes.iter().map(|c| c.partition).collect();
    partitions.sort_unstable();
    partitions.dedup();
    let mut purge =
        conn.prepare_cached("DELETE FROM stock_changes WHERE partition = ?1 AND expires_at <= ?2")?;
    for p in partitions {
        purge.execute(params![p, now])?;
    }
    let mut put = conn.prepare_cached(
        "INSERT INTO stock_changes (change_id, partition, fingerprint, levels, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (change_id, partition) DO UPDATE SET
             fingerprint = excluded.fingerprint, levels = excluded.levels,
             expires_at = excluded.expires_at",
    )?;
    for c in changes {
        let levels = c.levels.as_ref().map(to_json).transpose()?;
        put.execute(params![
            c.change_id,
            c.partition,
            c.fingerprint,
            levels,
            micros(&c.expires_at)
        ])?;
    }
    Ok(())
}
