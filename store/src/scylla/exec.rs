//! Running prepared statements: reads, writes, logged batches and
//! conditional (LWT) statements, with driver errors mapped to [`Error`].

use futures::TryStreamExt;
use scylla::deserialize::DeserializationError;
use scylla::deserialize::TypeCheckError;
use scylla::deserialize::row::DeserializeRow;
use scylla::errors::{
    ExecutionError, FirstRowError, IntoRowsResultError, MaybeFirstRowError, NewSessionError,
    NextRowError, PagerExecutionError, PrepareError, RowsError, SchemaAgreementError,
    UseKeyspaceError,
};
use scylla::statement::batch::{Batch, BatchType};
use scylla::value::{CqlValue, Row};

use super::Inner;
use super::codec::Values;
use super::statements::Stmt;
use crate::{Error, Result};

macro_rules! unavailable_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            /// The backend failed or could not be reached.
            fn from(e: $t) -> Self {
                Error::Unavailable(e.to_string())
            }
        }
    )*};
}

macro_rules! corrupt_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            /// Stored values do not decode as the schema says.
            fn from(e: $t) -> Self {
                Error::Corrupt(e.to_string())
            }
        }
    )*};
}

unavailable_from!(
    ExecutionError,
    IntoRowsResultError,
    PagerExecutionError,
    PrepareError,
    NewSessionError,
    UseKeyspaceError,
    SchemaAgreementError
);
corrupt_from!(
    RowsError,
    DeserializationError,
    TypeCheckError,
    MaybeFirstRowError
);

impl From<NextRowError> for Error {
    /// A page that could not be fetched is `Unavailable`, a row that does
    /// not decode is `Corrupt`.
    fn from(e: NextRowError) -> Self {
        match e {
            NextRowError::RowDeserializationError(d) => Error::Corrupt(d.to_string()),
            other => Error::Unavailable(other.to_string()),
        }
    }
}

impl From<FirstRowError> for Error {
    /// An empty answer is `Unavailable` (the server owes a row); a row that
    /// does not decode is `Corrupt`.
    fn from(e: FirstRowError) -> Self {
        match e {
            FirstRowError::RowsEmpty => Error::Unavailable(e.to_string()),
            other => Error::Corrupt(other.to_string()),
        }
    }
}

/// Owned row types.
pub(crate) trait OwnedRow: for<'f, 'm> DeserializeRow<'f, 'm> {}
impl<T> OwnedRow for T where T: for<'f, 'm> DeserializeRow<'f, 'm> {}

/// The largest number of statements one logged batch is sent with; CQL's
/// limit is 65535.
const MAX_BATCH_STATEMENTS: usize = 65_535;

/// Above this estimated size a batch is logged as a warning: ScyllaDB
/// refuses batches over `batch_size_fail_threshold_in_kb` (1 MiB by default).
const LARGE_BATCH_BYTES: usize = 768 * 1024;

impl Inner {
    /// Every row of a bounded read (a key lookup or a `LIMIT` query), in one
    /// round trip.
    pub(crate) async fn rows<R: OwnedRow>(&self, stmt: Stmt, values: Values) -> Result<Vec<R>> {
        let result = self
            .session
            .execute_unpaged(self.st.get(stmt), values)
            .await?
            .into_rows_result()?;
        let rows = result.rows::<R>()?.collect::<Result<Vec<R>, _>>()?;
        Ok(rows)
    }

    /// The first row of a read, if any.
    pub(crate) async fn row<R: OwnedRow>(&self, stmt: Stmt, values: Values) -> Result<Option<R>> {
        let result = self
            .session
            .execute_unpaged(self.st.get(stmt), values)
            .await?
            .into_rows_result()?;
        Ok(result.maybe_first_row::<R>()?)
    }

    /// The first row of a read at LOCAL_SERIAL: linearizable with the
    /// conditional writes of the same rows (an unfinished Paxos round is
    /// completed first), so a reader that lost a condition sees the winner.
    pub(crate) async fn row_serial<R: OwnedRow>(
        &self,
        stmt: Stmt,
        values: Values,
    ) -> Result<Option<R>> {
        let mut prepared = self.st.get(stmt).clone();
        prepared.set_consistency(scylla::statement::Consistency::LocalSerial);
        let result = self
            .session
            .execute_unpaged(&prepared, values)
            .await?
            .into_rows_result()?;
        Ok(result.maybe_first_row::<R>()?)
    }

    /// Every row of an unbounded read, fetched page by page with the
    /// driver's paging state.
    pub(crate) async fn scan<R: OwnedRow + Send>(
        &self,
        stmt: Stmt,
        values: Values,
    ) -> Result<Vec<R>> {
        let pager = self
            .session
            .execute_iter(self.st.get(stmt).clone(), values)
            .await?;
        let rows = pager.rows_stream::<R>()?.try_collect::<Vec<R>>().await?;
        Ok(rows)
    }

    /// Runs one plain write.
    pub(crate) async fn exec(&self, stmt: Stmt, values: Values) -> Result<()> {
        self.session
            .execute_unpaged(self.st.get(stmt), values)
            .await?;
        Ok(())
    }

    /// Runs one conditional statement; true when it was applied.
    pub(crate) async fn lwt(&self, stmt: Stmt, values: Values) -> Result<bool> {
        let result = self
            .session
            .execute_unpaged(self.st.get(stmt), values)
            .await?
            .into_rows_result()?;
        applied(&result.first_row::<Row>()?)
    }

    /// Writes `ops` as ONE logged batch: atomic (all or nothing, eventually,
    /// through the batchlog) though not isolated. Every statement in it is
    /// an idempotent upsert or delete, so the batch is marked idempotent and
    /// a retry writes the same rows. An empty list writes nothing.
    pub(crate) async fn batch(&self, ops: Vec<(Stmt, Values)>) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        if ops.len() > MAX_BATCH_STATEMENTS {
            return Err(Error::Unavailable(format!(
                "a batch of {} statements exceeds CQL's limit",
                ops.len()
            )));
        }
        let size: usize = ops.iter().map(|(_, v)| values_size(v)).sum();
        if size > LARGE_BATCH_BYTES {
            tracing::warn!(
                statements = ops.len(),
                bytes = size,
                "large logged batch: near ScyllaDB's batch_size_fail_threshold_in_kb; \
                 make writer batches smaller"
            );
        }
        let (batch, values) = self.build_batch(ops);
        self.session.batch(&batch, values).await?;
        Ok(())
    }

    /// [`Inner::batch`] with every write at the given write timestamp
    /// (microseconds) instead of the session's clock: rows written so lose
    /// to any later normal write of the same cells, whenever they land.
    pub(crate) async fn batch_at(&self, ops: Vec<(Stmt, Values)>, timestamp: i64) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let (mut batch, values) = self.build_batch(ops);
        batch.set_timestamp(Some(timestamp));
        self.session.batch(&batch, values).await?;
        Ok(())
    }

    /// Runs ops as one conditional batch (all in one partition, at least one
    /// statement with an `IF`); true when its condition held and it was applied.
    pub(crate) async fn cas_batch(&self, ops: Vec<(Stmt, Values)>) -> Result<bool> {
        let (mut batch, values) = self.build_batch(ops);
        batch.set_is_idempotent(false);
        let result = self
            .session
            .batch(&batch, values)
            .await?
            .into_rows_result()?;
        applied(&result.first_row::<Row>()?)
    }

    fn build_batch(&self, ops: Vec<(Stmt, Values)>) -> (Batch, Vec<Values>) {
        let mut batch = Batch::new(BatchType::Logged);
        let mut values = Vec::with_capacity(ops.len());
        for (stmt, v) in ops {
            batch.append_statement(self.st.get(stmt).clone());
            values.push(v);
        }
        batch.set_is_idempotent(true);
        (batch, values)
    }
}

/// The `[applied]` column that heads the answer to a conditional statement
/// (ScyllaDB adds the old row's columns after it).
pub(crate) fn applied(row: &Row) -> Result<bool> {
    match row.columns.first() {
        Some(Some(CqlValue::Boolean(b))) => Ok(*b),
        other => Err(Error::Unavailable(format!(
            "conditional statement answered without [applied]: {other:?}"
        ))),
    }
}

/// Rough size in bytes of bound values, to keep batches under ScyllaDB's
/// `batch_size_warn_threshold_in_kb` where splitting is allowed.
pub(crate) fn values_size(values: &Values) -> usize {
    values
        .iter()
        .map(|v| match v {
            None => 4,
            Some(CqlValue::Text(s)) => s.len() + 4,
            Some(CqlValue::Blob(b)) => b.len() + 4,
            Some(CqlValue::List(items)) => items.len() * 24 + 4,
            Some(CqlValue::Map(items)) => items.len() * 40 + 4,
            Some(_) => 12,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scylla::codec::{big, text};

    #[test]
    fn applied_reads_the_first_column() {
        let yes = Row {
            columns: vec![Some(CqlValue::Boolean(true)), None],
        };
        let no = Row {
            columns: vec![Some(CqlValue::Boolean(false)), Some(CqlValue::Int(1))],
        };
        assert!(applied(&yes).expect("applied"));
        assert!(!applied(&no).expect("applied"));
        assert!(applied(&Row { columns: vec![] }).is_err());
    }

    #[test]
    fn sizes_grow_with_text() {
        let small: Values = vec![big(1), text("a")];
        let large: Values = vec![big(1), text(&"x".repeat(1000))];
        assert!(values_size(&large) > values_size(&small) + 900);
    }
}
