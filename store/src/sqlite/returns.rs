//! Returns: one row per return (the record as JSON), found by id, by order
//! and by status; a request is decided inside one write transaction, so
//! concurrent requests of one order cannot together return more than was
//! dispatched.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::codec::{cursor, cursor_payload, from_json, page, to_json};
use crate::{Page, Result, ReturnRecord, ReturnRequest, ReturnStatus, check_return};

use super::codec::fetch_size;

/// Cursor tag of `list_returns`: the last return id.
const RETURNS: &str = "r";

fn records(rows: impl Iterator<Item = rusqlite::Result<String>>) -> Result<Vec<ReturnRecord>> {
    rows.map(|r| from_json(&r?, "return")).collect()
}

/// An order's returns, oldest first.
pub(crate) fn for_order(conn: &Connection, order_id: &str) -> Result<Vec<ReturnRecord>> {
    let mut stmt =
        conn.prepare_cached("SELECT body FROM returns WHERE order_id = ?1 ORDER BY id")?;
    let rows = stmt.query_map([order_id], |r| r.get::<_, String>(0))?;
    records(rows)
}

/// One return.
pub(crate) fn get(conn: &Connection, id: &str) -> Result<Option<ReturnRecord>> {
    conn.prepare_cached("SELECT body FROM returns WHERE id = ?1")?
        .query_row([id], |r| r.get::<_, String>(0))
        .optional()?
        .map(|body| from_json(&body, "return"))
        .transpose()
}

/// Records `request` unless it would exceed what was dispatched.
pub(crate) fn request(
    tx: &Transaction<'_>,
    request: &ReturnRecord,
    dispatched: &[(String, i64)],
) -> Result<ReturnRequest> {
    let earlier = for_order(tx, &request.order_id)?;
    if earlier.iter().any(|r| r.id == request.id) {
        return Ok(ReturnRequest::Created);
    }
    let decision = check_return(request, &earlier, dispatched);
    if decision == ReturnRequest::Created {
        tx.prepare_cached(
            "INSERT INTO returns (id, order_id, status, body) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            request.id,
            request.order_id,
            request.status.as_str(),
            to_json(request)?
        ])?;
    }
    Ok(decision)
}

/// Replaces a return by its received version.
pub(crate) fn put_received(tx: &Transaction<'_>, received: &ReturnRecord) -> Result<()> {
    tx.prepare_cached("UPDATE returns SET status = ?2, body = ?3 WHERE id = ?1")?
        .execute(params![
            received.id,
            received.status.as_str(),
            to_json(received)?
        ])?;
    Ok(())
}

/// A page of returns with `status` (any when `None`), by id.
pub(crate) fn list(
    conn: &Connection,
    status: Option<ReturnStatus>,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<ReturnRecord>> {
    let after = after
        .map(|c| cursor_payload(RETURNS, c).map(str::to_owned))
        .transpose()?
        .unwrap_or_default();
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM returns WHERE (?1 IS NULL OR status = ?1) AND id > ?2
         ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt.query_map(
        params![status.map(ReturnStatus::as_str), after, fetch_size(limit)],
        |r| r.get::<_, String>(0),
    )?;
    Ok(page(records(rows)?, limit, |r| cursor(RETURNS, &r.id)))
}
