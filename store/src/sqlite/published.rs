//! What the webhook fan-out last sent each channel about each product
//! (published availability per channel).

use rusqlite::{Connection, params};

use crate::{PublishedStock, Result};

/// The records of these products, every channel.
pub(crate) fn read(conn: &Connection, codes: &[String]) -> Result<Vec<PublishedStock>> {
    let mut stmt = conn.prepare_cached(
        "SELECT channel_id, on_hand, available, damaged, position FROM published_stock
         WHERE product_code = ?1",
    )?;
    let mut out = Vec::new();
    for code in codes {
        let rows = stmt.query_map([code], |r| {
            Ok(PublishedStock {
                channel_id: r.get(0)?,
                product_code: code.clone(),
                on_hand: r.get(1)?,
                available: r.get(2)?,
                damaged: r.get(3)?,
                position: r.get(4)?,
            })
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// Upserts records; a record never replaces one of a later outbox position
/// (a concurrent fan-out that is behind changes nothing).
pub(crate) fn put(conn: &Connection, records: &[PublishedStock]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO published_stock
             (product_code, channel_id, on_hand, available, damaged, position)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (product_code, channel_id) DO UPDATE SET
             on_hand = excluded.on_hand, available = excluded.available,
             damaged = excluded.damaged, position = excluded.position
         WHERE excluded.position >= published_stock.position",
    )?;
    for r in records {
        stmt.execute(params![
            r.product_code,
            r.channel_id,
            r.on_hand,
            r.available,
            r.damaged,
            r.position
        ])?;
    }
    Ok(())
}
