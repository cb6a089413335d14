//! Sagas of orders spanning stock partitions: one row per order while a
//! step is under way, written in the home partition's stock batches.

use agusto_schemas::Saga;
use rusqlite::{Connection, params};

use crate::codec::{from_json, to_json};
use crate::{Result, StockBatch};

/// The sagas whose home is `partition`.
pub(crate) fn read(conn: &Connection, partition: u32) -> Result<Vec<Saga>> {
    let mut stmt = conn.prepare_cached("SELECT saga FROM sagas WHERE partition = ?1")?;
    let rows = stmt.query_map(params![partition], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(from_json(&row?, "saga")?);
    }
    Ok(out)
}

/// Upserts and deletes a batch's sagas inside the caller's transaction
/// (puts first: a saga both put and deleted in one batch ends deleted).
pub(crate) fn write(conn: &Connection, batch: &StockBatch) -> Result<()> {
    if !batch.sagas_put.is_empty() {
        let mut put = conn.prepare_cached(
            "INSERT INTO sagas (partition, order_id, saga) VALUES (?1, ?2, ?3)
             ON CONFLICT (partition, order_id) DO UPDATE SET saga = excluded.saga",
        )?;
        for s in &batch.sagas_put {
            put.execute(params![s.home, s.order.id, to_json(s)?])?;
        }
    }
    if !batch.sagas_delete.is_empty() {
        let mut delete =
            conn.prepare_cached("DELETE FROM sagas WHERE partition = ?1 AND order_id = ?2")?;
        for (p, id) in &batch.sagas_delete {
            delete.execute(params![p, id])?;
        }
    }
    Ok(())
}
