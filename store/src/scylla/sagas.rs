//! Sagas of orders spanning stock partitions (`sagas`): one row per order
//! while a step is under way, written in the home partition's logged batch,
//! read when its writer loads the partition.

use agusto_schemas::Saga;

use super::Inner;
use super::codec::{Values, big, from_json, text, to_json};
use super::statements::Stmt;
use crate::{Result, StockBatch};

/// The writes of a batch's sagas. The writer gives each order at most one
/// put or delete per batch (two writes of a row in one logged batch would
/// tie on their timestamp).
pub(crate) fn saga_ops(batch: &StockBatch) -> Result<Vec<(Stmt, Values)>> {
    let mut ops = Vec::with_capacity(batch.sagas_put.len() + batch.sagas_delete.len());
    for s in &batch.sagas_put {
        let row = vec![
            big(i64::from(s.home)),
            text(&s.order.id),
            text(&to_json(s)?),
        ];
        ops.push((Stmt::PutSaga, row));
    }
    for (p, id) in &batch.sagas_delete {
        ops.push((Stmt::DelSaga, vec![big(i64::from(*p)), text(id)]));
    }
    Ok(ops)
}

impl Inner {
    /// The sagas whose home is `partition`.
    pub(crate) async fn sagas(&self, partition: u32) -> Result<Vec<Saga>> {
        self.rows::<(String,)>(Stmt::GetSagas, vec![big(i64::from(partition))])
            .await?
            .into_iter()
            .map(|(json,)| from_json(&json, "saga"))
            .collect()
    }
}
