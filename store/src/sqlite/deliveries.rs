//! Webhook deliveries (one row per event and channel) and the fan-out
//! position, kept in `applied_offsets` under [`FANOUT_LOG`].

use agusto_schemas::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, ToSql, params};

use super::codec::{
    cursor, fetch_size, from_json, int_key_cursor, micros, opt_time, page, time, to_json,
};
use crate::{Delivery, DeliveryStatus, Error, Lease, Page, Result};

/// The `applied_offsets` row (partition 0) that holds how far the outbox was
/// fanned out into deliveries. No command log has this name.
pub(crate) const FANOUT_LOG: &str = "agusto.events.fanout";

/// Cursor tag of `list_deliveries`: `<position>|<delivery id>`.
const DELIVERIES: &str = "d";

const DELIVERY_COLUMNS: &str = "id, event_id, channel_id, event_type, ordering_key, position, \
     payload, status, tries, attempts, next_attempt_at, created_at, updated_at";

/// Due pending deliveries that head their (channel, key) queue and hold no
/// live lease, soonest first: a range of `deliveries_due` in index order,
/// each row checked with one probe of `deliveries_head`.
pub(super) const DUE_SQL: &str = "SELECT id, event_id, channel_id, event_type, ordering_key, \
     position, payload, status, tries, attempts, next_attempt_at, created_at, updated_at
     FROM deliveries AS d
     WHERE d.status = 'pending' AND d.next_attempt_at <= ?1
       AND (d.lease_until IS NULL OR d.lease_until <= ?1)
       AND NOT EXISTS (
           SELECT 1 FROM deliveries AS h
           WHERE h.status = 'pending' AND h.channel_id = d.channel_id
             AND h.ordering_key = d.ordering_key AND h.position < d.position)
     ORDER BY d.next_attempt_at, d.position, d.id
     LIMIT ?2";

/// The earliest due time of any pending delivery.
pub(super) const NEXT_DUE_SQL: &str =
    "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'";

fn delivery(row: &Row<'_>) -> Result<Delivery> {
    let payload: String = row.get(6)?;
    let status: String = row.get(7)?;
    let status = DeliveryStatus::parse(&status)
        .ok_or_else(|| Error::Corrupt(format!("unknown delivery status {status:?}")))?;
    let attempts: String = row.get(9)?;
    Ok(Delivery {
        id: row.get(0)?,
        event_id: row.get(1)?,
        channel_id: row.get(2)?,
        event_type: row.get(3)?,
        ordering_key: row.get(4)?,
        position: row.get(5)?,
        payload: from_json(&payload, "delivery payload")?,
        status,
        tries: row.get(8)?,
        attempts: from_json(&attempts, "delivery attempts")?,
        next_attempt_at: opt_time(row.get(10)?)?,
        created_at: time(row.get(11)?)?,
        updated_at: time(row.get(12)?)?,
    })
}

/// Inserts the deliveries whose id is new and raises the fan-out position to
/// `position` (never lowers it), inside the caller's transaction.
pub(crate) fn fan_out(conn: &Connection, deliveries: &[Delivery], position: i64) -> Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO deliveries (id, event_id, channel_id, event_type, ordering_key, position,
             payload, status, tries, attempts, next_attempt_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (id) DO NOTHING",
    )?;
    for d in deliveries {
        insert.execute(params![
            d.id,
            d.event_id,
            d.channel_id,
            d.event_type,
            d.ordering_key,
            d.position,
            to_json(&d.payload)?,
            d.status.as_str(),
            d.tries,
            to_json(&d.attempts)?,
            d.next_attempt_at.as_ref().map(micros),
            micros(&d.created_at),
            micros(&d.updated_at)
        ])?;
    }
    // The position starts at 0, so a negative one lowers nothing either.
    conn.prepare_cached(
        "INSERT INTO applied_offsets (log, partition, log_offset) VALUES (?1, 0, MAX(?2, 0))
         ON CONFLICT (log, partition)
         DO UPDATE SET log_offset = MAX(log_offset, excluded.log_offset)",
    )?
    .execute(params![FANOUT_LOG, position])?;
    Ok(())
}

/// The fan-out position, 0 before the first fan-out.
pub(crate) fn fanout_position(conn: &Connection) -> Result<i64> {
    let position: Option<i64> = conn
        .prepare_cached("SELECT log_offset FROM applied_offsets WHERE log = ?1 AND partition = 0")?
        .query_row([FANOUT_LOG], |r| r.get(0))
        .optional()?;
    Ok(position.unwrap_or(0))
}

/// Deliveries due at `now` that head their queue; see [`DUE_SQL`].
pub(crate) fn due(conn: &Connection, now: &Timestamp, limit: usize) -> Result<Vec<Delivery>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.prepare_cached(DUE_SQL)?
        .query_and_then(params![micros(now), limit], delivery)?
        .collect()
}

/// The earliest `next_attempt_at` of any pending delivery.
pub(crate) fn next_due(conn: &Connection) -> Result<Option<Timestamp>> {
    let at: Option<i64> = conn
        .prepare_cached(NEXT_DUE_SQL)?
        .query_row([], |r| r.get(0))?;
    opt_time(at)
}

/// Claims a delivery that is pending, due at `now`, unleased at `now` and
/// the head of its queue, in one conditional UPDATE (the writer lock makes
/// it atomic across processes); the claimed row, or `None`.
pub(crate) fn claim(
    conn: &Connection,
    id: &str,
    lease: &Lease,
    now: &Timestamp,
) -> Result<Option<Delivery>> {
    let changed = conn
        .prepare_cached(
            "UPDATE deliveries SET claimed_by = ?2, lease_until = ?3
             WHERE id = ?1 AND status = 'pending' AND next_attempt_at <= ?4
               AND (lease_until IS NULL OR lease_until <= ?4)
               AND NOT EXISTS (
                   SELECT 1 FROM deliveries AS h
                   WHERE h.status = 'pending' AND h.channel_id = deliveries.channel_id
                     AND h.ordering_key = deliveries.ordering_key
                     AND h.position < deliveries.position)",
        )?
        .execute(params![id, lease.holder, micros(&lease.until), micros(now)])?;
    if changed == 0 {
        return Ok(None);
    }
    get(conn, id)
}

/// Records a claimed attempt and releases the lease, if `holder` still
/// holds it; false when not, `Conflict` for an unknown id.
pub(crate) fn finish(conn: &Connection, d: &Delivery, holder: &str) -> Result<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE deliveries SET status = ?2, tries = ?3, attempts = ?4,
                 next_attempt_at = ?5, updated_at = ?6, claimed_by = NULL, lease_until = NULL
             WHERE id = ?1 AND claimed_by = ?7",
        )?
        .execute(params![
            d.id,
            d.status.as_str(),
            d.tries,
            to_json(&d.attempts)?,
            d.next_attempt_at.as_ref().map(micros),
            micros(&d.updated_at),
            holder
        ])?;
    if changed == 0 && get(conn, &d.id)?.is_none() {
        return Err(Error::Conflict(format!("no such delivery {}", d.id)));
    }
    Ok(changed == 1)
}

/// Replaces the mutable fields of a delivery and releases any lease;
/// `Conflict` if there is none.
pub(crate) fn update(conn: &Connection, d: &Delivery) -> Result<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE deliveries SET status = ?2, tries = ?3, attempts = ?4,
                 next_attempt_at = ?5, updated_at = ?6, claimed_by = NULL, lease_until = NULL
             WHERE id = ?1",
        )?
        .execute(params![
            d.id,
            d.status.as_str(),
            d.tries,
            to_json(&d.attempts)?,
            d.next_attempt_at.as_ref().map(micros),
            micros(&d.updated_at)
        ])?;
    if changed == 0 {
        return Err(Error::Conflict(format!("no such delivery {}", d.id)));
    }
    Ok(())
}

/// One delivery.
pub(crate) fn get(conn: &Connection, id: &str) -> Result<Option<Delivery>> {
    let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query_and_then([id], delivery)?;
    rows.next().transpose()
}

/// The statement of [`list`] for the given filters and cursor; its
/// parameters are the status, the channel, the cursor's position and id (each
/// only when present), then the fetch size.
pub(super) fn list_sql(status: bool, channel: bool, after: bool) -> String {
    let mut sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE 1 = 1");
    if status {
        sql.push_str(" AND status = ?");
    }
    if channel {
        sql.push_str(" AND channel_id = ?");
    }
    if after {
        sql.push_str(" AND (position, id) < (?, ?)");
    }
    sql.push_str(" ORDER BY position DESC, id DESC LIMIT ?");
    sql
}

/// A page of deliveries by (position, id), newest first, optionally of one
/// status / channel.
pub(crate) fn list(
    conn: &Connection,
    status: Option<DeliveryStatus>,
    channel: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Delivery>> {
    let after = after.map(|c| int_key_cursor(DELIVERIES, c)).transpose()?;
    let status = status.map(DeliveryStatus::as_str);
    let fetch = fetch_size(limit);
    let sql = list_sql(status.is_some(), channel.is_some(), after.is_some());
    let mut args: Vec<&dyn ToSql> = Vec::with_capacity(5);
    if let Some(status) = &status {
        args.push(status);
    }
    if let Some(channel) = &channel {
        args.push(channel);
    }
    if let Some((position, id)) = &after {
        args.push(position);
        args.push(id);
    }
    args.push(&fetch);
    let rows = conn
        .prepare_cached(&sql)?
        .query_and_then(args.as_slice(), delivery)?
        .collect::<Result<Vec<_>>>()?;
    Ok(page(rows, limit, |d| {
        cursor(DELIVERIES, &format!("{}|{}", d.position, d.id))
    }))
}
