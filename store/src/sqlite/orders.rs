//! Orders: one row each (lines, history and the storefront's objects as JSON
//! text). Open-order totals are summed from the lines of the open orders.

use agusto_schemas::{Order, OrderStatus};
use rusqlite::{Connection, Row, ToSql, params};

use super::codec::{
    fetch_size, from_json, micros, opt_time, page, time, time_key, time_key_cursor, to_json,
};
use super::outbox;
use crate::{Error, OrderBatch, Page, Result};

/// Cursor tag of `list_orders`: `<created_at micros>|<order id>`.
const ORDERS: &str = "o";

const ORDER_COLUMNS: &str = "id, external_id, channel_id, status, expires_at, tracking_number, \
     carrier, created_at, updated_at, idempotency_key, lines, history, customer, shipping_address";

fn order(row: &Row<'_>) -> Result<Order> {
    let status: String = row.get(3)?;
    let status = OrderStatus::parse(&status)
        .ok_or_else(|| Error::Corrupt(format!("unknown order status {status:?}")))?;
    let lines: String = row.get(10)?;
    let history: String = row.get(11)?;
    let customer: Option<String> = row.get(12)?;
    let shipping_address: Option<String> = row.get(13)?;
    Ok(Order {
        id: row.get(0)?,
        external_id: row.get(1)?,
        channel_id: row.get(2)?,
        status,
        expires_at: opt_time(row.get(4)?)?,
        tracking_number: row.get(5)?,
        carrier: row.get(6)?,
        created_at: time(row.get(7)?)?,
        updated_at: time(row.get(8)?)?,
        idempotency_key: row.get(9)?,
        lines: from_json(&lines, "order lines")?,
        history: from_json(&history, "order history")?,
        customer: customer
            .map(|c| from_json(&c, "order customer"))
            .transpose()?,
        shipping_address: shipping_address
            .map(|a| from_json(&a, "order shipping address"))
            .transpose()?,
    })
}

/// One order.
pub(crate) fn get_order(conn: &Connection, order_id: &str) -> Result<Option<Order>> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query_and_then([order_id], order)?;
    rows.next().transpose()
}

/// The earliest order a channel created with `key`.
pub(crate) fn by_idempotency_key(
    conn: &Connection,
    channel: &str,
    key: &str,
) -> Result<Option<Order>> {
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE channel_id = ?1 AND idempotency_key = ?2
         ORDER BY created_at, id LIMIT 1"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query_and_then([channel, key], order)?;
    rows.next().transpose()
}

/// A page of orders by (created_at, id), optionally of one channel / status.
pub(crate) fn list_orders(
    conn: &Connection,
    channel: Option<&str>,
    status: Option<OrderStatus>,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Order>> {
    let after = after.map(|c| time_key_cursor(ORDERS, c)).transpose()?;
    let status = status.map(OrderStatus::as_str);
    let fetch = fetch_size(limit);
    let mut sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE 1 = 1");
    let mut args: Vec<&dyn ToSql> = Vec::with_capacity(5);
    if let Some(channel) = &channel {
        sql.push_str(" AND channel_id = ?");
        args.push(channel);
    }
    if let Some(status) = &status {
        sql.push_str(" AND status = ?");
        args.push(status);
    }
    if let Some((at, id)) = &after {
        sql.push_str(" AND (created_at, id) > (?, ?)");
        args.push(at);
        args.push(id);
    }
    sql.push_str(" ORDER BY created_at, id LIMIT ?");
    args.push(&fetch);
    let rows = conn
        .prepare_cached(&sql)?
        .query_and_then(args.as_slice(), order)?
        .collect::<Result<Vec<_>>>()?;
    Ok(page(rows, limit, |o| {
        time_key(ORDERS, &o.created_at, &o.id)
    }))
}

/// Units per product held by orders whose status holds stock, by product code.
pub(crate) fn open_quantities(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let holding: Vec<String> = OrderStatus::ALL
        .into_iter()
        .filter(|s| s.holds_stock())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    let sql = format!(
        "SELECT lines FROM orders WHERE status IN ({})",
        holding.join(", ")
    );
    let mut totals: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let text: String = row.get(0)?;
        let lines: Vec<agusto_schemas::OrderLine> = from_json(&text, "order lines")?;
        for l in agusto_schemas::stock_lines(&lines) {
            *totals.entry(l.product_code).or_default() += l.quantity;
        }
    }
    Ok(totals.into_iter().collect())
}

/// Writes an order batch inside the caller's transaction.
pub(crate) fn write_batch(conn: &Connection, batch: &OrderBatch) -> Result<()> {
    for o in &batch.orders {
        put_order(conn, o)?;
    }
    outbox::insert_events(conn, &batch.events)?;
    if let Some(applied) = &batch.applied {
        outbox::put_offset(conn, applied)?;
    }
    Ok(())
}

pub(crate) fn put_order(conn: &Connection, o: &Order) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO orders (id, external_id, channel_id, status, expires_at, tracking_number,
             carrier, created_at, updated_at, idempotency_key, lines, history, customer,
             shipping_address)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT (id) DO UPDATE SET
             external_id = excluded.external_id, channel_id = excluded.channel_id,
             status = excluded.status, expires_at = excluded.expires_at,
             tracking_number = excluded.tracking_number, carrier = excluded.carrier,
             created_at = excluded.created_at, updated_at = excluded.updated_at,
             idempotency_key = excluded.idempotency_key, lines = excluded.lines,
             history = excluded.history, customer = excluded.customer,
             shipping_address = excluded.shipping_address",
    )?
    .execute(params![
        o.id,
        o.external_id,
        o.channel_id,
        o.status.as_str(),
        o.expires_at.as_ref().map(micros),
        o.tracking_number,
        o.carrier,
        micros(&o.created_at),
        micros(&o.updated_at),
        o.idempotency_key,
        to_json(&o.lines)?,
        to_json(&o.history)?,
        o.customer.as_ref().map(to_json).transpose()?,
        o.shipping_address.as_ref().map(to_json).transpose()?,
    ])?;
    Ok(())
}
