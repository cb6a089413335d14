//! Opening a store without owning its schema: [`SchemaMode::Await`] runs no
//! DDL, it polls the keyspace's `schema_version` until the migrations of
//! this build are all applied (by `agusto migrate`, the one owner of schema
//! changes), then opens the keyspace.
//!
//! Concurrent `CREATE TABLE IF NOT EXISTS` from several processes is not
//! safe on Cassandra (and ScyllaDB without Raft schema): each node may create
//! its own table id and one of the processes fails with "Column family ID
//! mismatch". So only one process applies migrations; every other one waits.

use std::time::Duration;

use scylla::client::session::Session;
use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use scylla::statement::Statement;

use super::migrations::{known_version, valid_keyspace};
use crate::{Error, Result, SchemaChange};

/// How opening a store treats the keyspace's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaMode {
    /// Create the keyspace if needed and apply the missing migrations (the
    /// owner of schema changes: `agusto migrate`, and tests).
    #[default]
    Apply,
    /// Run no DDL: wait until the keyspace has every migration this build
    /// knows, for at most `timeout`. A keyspace written by a newer build is
    /// refused at once.
    Await {
        /// Longest wait for the schema before giving up.
        timeout: Duration,
    },
}

/// How often the schema version is read while waiting.
const POLL: Duration = Duration::from_millis(500);
/// How often the wait is logged.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Where a keyspace's schema stands against this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Progress {
    /// Every migration of this build is applied.
    Ready,
    /// Migrations are missing: keep waiting.
    Behind,
    /// The keyspace was written by a newer build.
    Newer,
}

/// Compares the keyspace's version with the number of migrations known.
pub(super) fn progress(current: i64, known: i64) -> Progress {
    match current.cmp(&known) {
        std::cmp::Ordering::Equal => Progress::Ready,
        std::cmp::Ordering::Less => Progress::Behind,
        std::cmp::Ordering::Greater => Progress::Newer,
    }
}

/// True for the server's answer to a query on a keyspace or table that does
/// not exist (yet): Cassandra and ScyllaDB send `Invalid` with
/// "Keyspace x does not exist" or "unconfigured table/columnfamily x".
pub(super) fn missing_schema(error: &DbError, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    matches!(error, DbError::Invalid)
        && (message.contains("does not exist") || message.contains("unconfigured"))
}

/// The message of a wait that ran out of time.
pub(super) fn timeout_message(
    keyspace: &str,
    known: i64,
    current: i64,
    waited: Duration,
) -> String {
    format!(
        "keyspace {keyspace} did not reach schema version {known} within {} s (it is at {current}); \
         run `agusto migrate` against this store",
        waited.as_secs()
    )
}

/// The message for a keyspace written by a newer build.
pub(super) fn newer_message(keyspace: &str, current: i64, known: i64) -> String {
    format!("keyspace {keyspace} has schema version {current}, newer than this build ({known})")
}

/// The schema version of `keyspace`, 0 while the keyspace or its
/// `schema_version` table does not exist.
async fn read_version(session: &Session, keyspace: &str) -> Result<i64> {
    let cql = format!("SELECT version FROM {keyspace}.schema_version WHERE shard = 0 LIMIT 1");
    match session.query_unpaged(Statement::new(cql), ()).await {
        Ok(result) => Ok(result
            .into_rows_result()?
            .maybe_first_row::<(i64,)>()?
            .map_or(0, |(v,)| v)),
        Err(ExecutionError::LastAttemptError(RequestAttemptError::DbError(error, message)))
            if missing_schema(&error, &message) =>
        {
            Ok(0)
        }
        Err(other) => Err(other.into()),
    }
}

/// Waits until `keyspace` has every migration this build knows, then
/// switches the session to it. Runs no DDL. Errors at once for a keyspace
/// newer than this build, and after `timeout` with a hint to run
/// `agusto migrate`.
pub(super) async fn await_schema(
    session: &Session,
    keyspace: &str,
    timeout: Duration,
) -> Result<SchemaChange> {
    if !valid_keyspace(keyspace) {
        return Err(Error::Unavailable(format!(
            "invalid keyspace name {keyspace:?}"
        )));
    }
    let known = known_version();
    let started = tokio::time::Instant::now();
    let deadline = started + timeout;
    let mut next_log = started;
    loop {
        let current = read_version(session, keyspace).await?;
        match progress(current, known) {
            Progress::Ready => break,
            Progress::Newer => {
                return Err(Error::Unavailable(newer_message(keyspace, current, known)));
            }
            Progress::Behind => {}
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Err(Error::Unavailable(timeout_message(
                keyspace, known, current, timeout,
            )));
        }
        if now >= next_log {
            tracing::warn!(
                keyspace,
                "waiting for keyspace {keyspace} to reach schema version {known} (now {current}); \
                 run `agusto migrate`"
            );
            next_log = now + LOG_EVERY;
        }
        tokio::time::sleep(POLL.min(deadline - now)).await;
    }
    session.use_keyspace(keyspace, true).await?;
    session.await_schema_agreement().await?;
    tracing::info!(keyspace, version = known, "store schema is current");
    Ok(SchemaChange {
        from: known,
        to: known,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_compares_with_the_build() {
        assert_eq!(progress(0, 1), Progress::Behind);
        assert_eq!(progress(1, 1), Progress::Ready);
        assert_eq!(progress(2, 1), Progress::Newer);
    }

    #[test]
    fn missing_keyspace_or_table_reads_as_version_zero() {
        assert!(missing_schema(
            &DbError::Invalid,
            "Keyspace agusto_x does not exist"
        ));
        assert!(missing_schema(
            &DbError::Invalid,
            "unconfigured columnfamily schema_version"
        ));
        assert!(missing_schema(
            &DbError::Invalid,
            "unconfigured table schema_version"
        ));
        assert!(!missing_schema(&DbError::Invalid, "Undefined name x"));
        assert!(!missing_schema(
            &DbError::ServerError,
            "Keyspace agusto_x does not exist"
        ));
    }

    #[test]
    fn messages_name_the_keyspace_and_the_fix() {
        let m = timeout_message("agusto", 1, 0, Duration::from_secs(120));
        assert!(m.contains("keyspace agusto"), "{m}");
        assert!(m.contains("within 120 s"), "{m}");
        assert!(m.contains("`agusto migrate`"), "{m}");
        let n = newer_message("agusto", 3, 1);
        assert!(n.contains("newer than this build (1)"), "{n}");
    }

    #[test]
    fn apply_is_the_default() {
        assert_eq!(SchemaMode::default(), SchemaMode::Apply);
        assert_eq!(SchemaChange { from: 0, to: 2 }.applied(), 2);
        assert_eq!(SchemaChange { from: 2, to: 2 }.applied(), 0);
    }
}
