//! The outbox of events and the writers' applied log offsets.

use agusto_schemas::{Event, EventType};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::codec::{
    cursor, fetch_size, from_json, micros, page, seq_cursor, time, to_i64, to_json,
};
use crate::{AppliedOffset, Error, Page, Result};

/// Cursor tag of `events`: the outbox sequence number of the last event.
const EVENTS: &str = "e";

/// An event and its outbox sequence number.
fn event(row: &Row<'_>) -> Result<(i64, Event)> {
    let event_type: String = row.get(2)?;
    let event_type = EventType::parse(&event_type)
        .ok_or_else(|| Error::Corrupt(format!("unknown event type {event_type:?}")))?;
    let data: String = row.get(6)?;
    Ok((
        row.get(0)?,
        Event {
            id: row.get(1)?,
            event_type,
            created_at: time(row.get(3)?)?,
            channel_id: row.get(4)?,
            product_code: row.get(5)?,
            data: from_json(&data, "event data")?,
        },
    ))
}

/// Appends events in order; an event whose id is stored already is skipped,
/// so a replayed batch emits nothing twice.
pub(crate) fn insert_events(conn: &Connection, events: &[Event]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO events (id, event_type, created_at, channel_id, product_code, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO NOTHING",
    )?;
    for e in events {
        stmt.execute(params![
            e.id,
            e.event_type.as_str(),
            micros(&e.created_at),
            e.channel_id,
            e.product_code,
            to_json(&e.data)?
        ])?;
    }
    Ok(())
}

/// A page of events in the order they were written.
pub(crate) fn events(conn: &Connection, after: Option<&str>, limit: usize) -> Result<Page<Event>> {
    let after = after
        .map(|c| seq_cursor(EVENTS, c))
        .transpose()?
        .unwrap_or(0);
    let rows = conn
        .prepare_cached(
            "SELECT seq, id, event_type, created_at, channel_id, product_code, data
             FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?
        .query_and_then(params![after, fetch_size(limit)], event)?
        .collect::<Result<Vec<_>>>()?;
    let page = page(rows, limit, |(seq, _)| cursor(EVENTS, &seq.to_string()));
    Ok(Page {
        items: page.items.into_iter().map(|(_, e)| e).collect(),
        next_cursor: page.next_cursor,
    })
}

/// Events with their outbox position (`seq`) above `after`, oldest first.
/// Writers commit one at a time, so positions become visible in order: no
/// lower position can appear after a higher one was read.
pub(crate) fn outbox_after(
    conn: &Connection,
    after: i64,
    limit: usize,
) -> Result<Vec<(i64, Event)>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "SELECT seq, id, event_type, created_at, channel_id, product_code, data
         FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?
    .query_and_then(params![after, limit], event)?
    .collect()
}

/// Records a partition's applied offset.
pub(crate) fn put_offset(conn: &Connection, applied: &AppliedOffset) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO applied_offsets (log, partition, log_offset) VALUES (?1, ?2, ?3)
         ON CONFLICT (log, partition) DO UPDATE SET log_offset = excluded.log_offset",
    )?
    .execute(params![
        applied.log,
        applied.partition,
        to_i64(applied.offset, "log offset")?
    ])?;
    Ok(())
}

/// A partition's applied offset, if any.
pub(crate) fn applied_offset(conn: &Connection, log: &str, partition: u32) -> Result<Option<u64>> {
    let offset: Option<i64> = conn
        .prepare_cached("SELECT log_offset FROM applied_offsets WHERE log = ?1 AND partition = ?2")?
        .query_row(params![log, partition], |r| r.get(0))
        .optional()?;
    offset
        .map(|o| u64::try_from(o).map_err(|_| Error::Corrupt(format!("negative log offset {o}"))))
        .transpose()
}
