//! Stock rows, the movement ledger and reservations.

use agusto_schemas::{Movement, MovementKind, Reservation, StockLevel, Timestamp};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::codec::{
    cursor, fetch_size, micros, opt_time, page, seq_cursor, time, time_key, time_key_cursor,
};
use super::outbox;
use crate::{Error, LedgerSum, Page, Result, StockBatch};

/// Cursor tag of `stock_updated_since`: `<updated_at micros>|<product code>`.
const UPDATED: &str = "s";
/// Cursor tag of `movements`: the ledger sequence number of the last row.
const MOVEMENTS: &str = "m";

const LEVEL_COLUMNS: &str = "product_code, on_hand, reserved, version, updated_at, damaged";
pub(crate) const RESERVATION_COLUMNS: &str = "order_id, product_code, quantity, expires_at";

fn level(row: &Row<'_>) -> Result<StockLevel> {
    Ok(StockLevel {
        product_code: row.get(0)?,
        on_hand: row.get(1)?,
        reserved: row.get(2)?,
        version: row.get(3)?,
        updated_at: time(row.get(4)?)?,
        damaged: row.get(5)?,
    })
}

pub(crate) fn reservation(row: &Row<'_>) -> Result<Reservation> {
    Ok(Reservation {
        order_id: row.get(0)?,
        product_code: row.get(1)?,
        quantity: row.get(2)?,
        expires_at: opt_time(row.get(3)?)?,
    })
}

/// A ledger row and its sequence number.
fn movement(row: &Row<'_>) -> Result<(i64, Movement)> {
    let kind: String = row.get(3)?;
    let kind = MovementKind::parse(&kind)
        .ok_or_else(|| Error::Corrupt(format!("unknown movement kind {kind:?}")))?;
    Ok((
        row.get(0)?,
        Movement {
            product_code: row.get(1)?,
            at: time(row.get(2)?)?,
            kind,
            delta_on_hand: row.get(4)?,
            delta_reserved: row.get(5)?,
            reference: row.get(6)?,
            version: row.get(7)?,
            delta_damaged: row.get(8)?,
        },
    ))
}

/// Stored levels of `codes`, in input order; codes without a row are left out.
pub(crate) fn stock_levels(conn: &Connection, codes: &[String]) -> Result<Vec<StockLevel>> {
    let sql = format!("SELECT {LEVEL_COLUMNS} FROM stock_levels WHERE product_code = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut out = Vec::with_capacity(codes.len());
    for code in codes {
        if let Some(l) = stmt.query_and_then([code], level)?.next() {
            out.push(l?);
        }
    }
    Ok(out)
}

/// A page of rows with `updated_at >= since`, by (updated_at, code).
pub(crate) fn updated_since(
    conn: &Connection,
    since: &Timestamp,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<StockLevel>> {
    let after = after.map(|c| time_key_cursor(UPDATED, c)).transpose()?;
    let rows = match after {
        Some((at, code)) => {
            let sql = format!(
                "SELECT {LEVEL_COLUMNS} FROM stock_levels
                 WHERE updated_at >= ?1 AND (updated_at, product_code) > (?2, ?3)
                 ORDER BY updated_at, product_code LIMIT ?4"
            );
            conn.prepare_cached(&sql)?
                .query_and_then(params![micros(since), at, code, fetch_size(limit)], level)?
                .collect::<Result<Vec<_>>>()?
        }
        None => {
            let sql = format!(
                "SELECT {LEVEL_COLUMNS} FROM stock_levels WHERE updated_at >= ?1
                 ORDER BY updated_at, product_code LIMIT ?2"
            );
            conn.prepare_cached(&sql)?
                .query_and_then(params![micros(since), fetch_size(limit)], level)?
                .collect::<Result<Vec<_>>>()?
        }
    };
    Ok(page(rows, limit, |l| {
        time_key(UPDATED, &l.updated_at, &l.product_code)
    }))
}

/// Every stock row, by product code.
pub(crate) fn all_levels(conn: &Connection) -> Result<Vec<StockLevel>> {
    let sql = format!("SELECT {LEVEL_COLUMNS} FROM stock_levels ORDER BY product_code");
    conn.prepare_cached(&sql)?
        .query_and_then([], level)?
        .collect()
}

/// A page of one product's ledger, oldest first.
pub(crate) fn movements(
    conn: &Connection,
    code: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Movement>> {
    let after = after
        .map(|c| seq_cursor(MOVEMENTS, c))
        .transpose()?
        .unwrap_or(0);
    let rows = conn
        .prepare_cached(
            "SELECT seq, product_code, at, kind, delta_on_hand, delta_reserved, reference, version,
                    delta_damaged
             FROM movements WHERE product_code = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?
        .query_and_then(params![code, after, fetch_size(limit)], movement)?
        .collect::<Result<Vec<_>>>()?;
    let page = page(rows, limit, |(seq, _)| cursor(MOVEMENTS, &seq.to_string()));
    Ok(Page {
        items: page.items.into_iter().map(|(_, m)| m).collect(),
        next_cursor: page.next_cursor,
    })
}

/// Ledger totals per product, by product code.
pub(crate) fn ledger_sums(conn: &Connection) -> Result<Vec<LedgerSum>> {
    conn.prepare_cached(
        "SELECT product_code, SUM(delta_on_hand), SUM(delta_reserved), SUM(delta_damaged),
                SUM(CASE kind WHEN 'return' THEN delta_on_hand ELSE 0 END),
                SUM(CASE kind WHEN 'return_damaged' THEN delta_damaged ELSE 0 END)
         FROM movements GROUP BY product_code ORDER BY product_code",
    )?
    .query_and_then([], |row| {
        Ok(LedgerSum {
            product_code: row.get(0)?,
            on_hand: row.get(1)?,
            reserved: row.get(2)?,
            damaged: row.get(3)?,
            returned: row.get(4)?,
            returned_damaged: row.get(5)?,
        })
    })?
    .collect()
}

/// An order's holds, by product code.
pub(crate) fn reservations_for_order(
    conn: &Connection,
    order_id: &str,
) -> Result<Vec<Reservation>> {
    // No ORDER BY in SQL: with it SQLite re-prepares the statement on every
    // call (the plan depends on the bound order id); sorting a handful of rows
    // here is cheaper.
    let sql = format!("SELECT {RESERVATION_COLUMNS} FROM reservations WHERE order_id = ?1");
    let mut holds: Vec<Reservation> = conn
        .prepare_cached(&sql)?
        .query_and_then([order_id], reservation)?
        .collect::<Result<_>>()?;
    holds.sort_by(|a, b| a.product_code.cmp(&b.product_code));
    Ok(holds)
}

/// Writes a stock batch inside the caller's transaction. Held puts are
/// applied before deletes, so a hold both put and deleted ends deleted.
pub(crate) fn write_batch(conn: &Connection, batch: &StockBatch) -> Result<()> {
    if let Some(fence) = &batch.fence {
        check_fence(conn, fence)?;
    }
    let mut put_level = conn.prepare_cached(
        "INSERT INTO stock_levels (product_code, on_hand, reserved, version, updated_at, damaged)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (product_code) DO UPDATE SET
             on_hand = excluded.on_hand, reserved = excluded.reserved,
             version = excluded.version, updated_at = excluded.updated_at,
             damaged = excluded.damaged",
    )?;
    for l in &batch.levels {
        put_level.execute(params![
            l.product_code,
            l.on_hand,
            l.reserved,
            l.version,
            micros(&l.updated_at),
            l.damaged
        ])?;
    }
    let mut add_movement = conn.prepare_cached(
        "INSERT INTO movements
             (product_code, at, kind, delta_on_hand, delta_reserved, reference, version,
              delta_damaged)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (product_code, version) DO NOTHING",
    )?;
    for m in &batch.movements {
        add_movement.execute(params![
            m.product_code,
            micros(&m.at),
            m.kind.as_str(),
            m.delta_on_hand,
            m.delta_reserved,
            m.reference,
            m.version,
            m.delta_damaged
        ])?;
    }
    let mut put_hold = conn.prepare_cached(
        "INSERT INTO reservations (order_id, product_code, quantity, expires_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (order_id, product_code) DO UPDATE SET
             quantity = excluded.quantity, expires_at = excluded.expires_at",
    )?;
    for r in &batch.reservations_put {
        put_hold.execute(params![
            r.order_id,
            r.product_code,
            r.quantity,
            r.expires_at.as_ref().map(micros)
        ])?;
    }
    let mut delete_hold =
        conn.prepare_cached("DELETE FROM reservations WHERE order_id = ?1 AND product_code = ?2")?;
    for (order_id, code) in &batch.reservations_delete {
        delete_hold.execute([order_id, code])?;
    }
    for o in &batch.orders {
        super::orders::put_order(conn, o)?;
    }
    outbox::insert_events(conn, &batch.events)?;
    super::stock_changes::write(conn, &batch.changes)?;
    super::sagas::write(conn, batch)?;
    if let Some(applied) = &batch.applied {
        outbox::put_offset(conn, applied)?;
    }
    Ok(())
}

/// Refuses a batch whose writer's epoch is not the partition's any more.
fn check_fence(conn: &Connection, fence: &crate::Fence) -> Result<()> {
    let current: Option<i64> = conn
        .prepare_cached("SELECT epoch FROM partition_epochs WHERE log = ?1 AND partition = ?2")?
        .query_row(params![fence.log, fence.partition], |r| r.get(0))
        .optional()?;
    match current {
        Some(e) if u64::try_from(e).ok() == Some(fence.epoch) => Ok(()),
        other => Err(crate::Error::Fenced(format!(
            "{} partition {} is at epoch {}, the batch at {}",
            fence.log,
            fence.partition,
            other.unwrap_or(0),
            fence.epoch
        ))),
    }
}

/// Bumps and returns the epoch of a log partition.
pub(crate) fn claim_partition(conn: &Connection, log: &str, partition: u32) -> Result<u64> {
    let epoch: i64 = conn
        .prepare_cached(
            "INSERT INTO partition_epochs (log, partition, epoch) VALUES (?1, ?2, 1)
             ON CONFLICT (log, partition) DO UPDATE SET epoch = epoch + 1
             RETURNING epoch",
        )?
        .query_row(params![log, partition], |r| r.get(0))?;
    Ok(u64::try_from(epoch).unwrap_or_default())
}
