//! The SQLite backend: one database file in WAL mode, shared safely by every
//! process of one machine.
//!
//! One writer connection (behind a mutex) runs each write as one
//! `BEGIN IMMEDIATE` transaction, so a batch costs one fsync and concurrent
//! writers, in this process or another, queue on SQLite's lock (waiting up to
//! [`BUSY_TIMEOUT`]). Reads use a small pool of read-only connections and run
//! beside the writer. Writes, scans and pages run on tokio's blocking pool;
//! point reads by key (an order, a token, a product: microseconds, and in WAL
//! mode a reader never waits for the writer) run in place, saving two thread
//! hand-offs on the hot path.
//!
//! WAL checkpoints stay in the commit path, every [`CHECKPOINT_PAGES`]
//! pages (SQLite's default is 1,000): smaller checkpoints are smaller
//! stalls of the commit that runs them (uniform orders at 2,900/s: p99 14.5
//! → 10.8 ms, p99.9 93 → 19 ms; same throughput). A checkpointer thread
//! beside the writer was tried: 20 % more orders/s, but its fsync of the
//! database file made the WAL fsyncs of commits wait behind it (p99 at half
//! rate 42 → 300 ms).

mod access;
mod bundles;
mod catalogue;
mod codec;
mod deliveries;
#[cfg(test)]
mod delivery_tests;
mod migrations;
mod orders;
mod outbox;
mod published;
mod returns;
mod sagas;
mod stock;
mod stock_changes;
mod store_impl;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::{Error, Result, SchemaChange};

/// How long a connection waits for another connection's lock before the
/// operation fails as `Unavailable`.
pub const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// WAL pages after which a commit checkpoints (see the module docs).
const CHECKPOINT_PAGES: i64 = 250;

/// Idle read connections kept for reuse; more are opened on demand.
const IDLE_READERS: usize = 64;

/// Prepared statements cached per connection.
const STATEMENT_CACHE: usize = 64;

/// A [`crate::Store`] on one SQLite file. Cheap to clone: clones share the
/// connections.
///
/// Timestamps are kept to the microsecond (finer parts are truncated).
/// Ledger rows are identified by (product code, version), events by id: a
/// batch applied twice leaves the same rows as once. An event's outbox
/// position is its `seq`; the fan-out position is kept in `applied_offsets`
/// under the reserved log name `agusto.events.fanout`, partition 0.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    schema: SchemaChange,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating it and its parent directory if needed) the database at
    /// `path`, switches it to WAL with `synchronous=FULL`, and applies missing
    /// migrations. Safe while other processes have the same file open.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Unavailable(format!(
                "{} cannot use WAL (journal_mode is {mode})",
                path.display()
            )));
        }
        writer.pragma_update(None, "synchronous", "FULL")?;
        writer.pragma_update(None, "wal_autocheckpoint", CHECKPOINT_PAGES)?;
        let schema = migrations::migrate(&mut writer)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                schema,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// What opening did to the schema: the version found (0 for a new
    /// file) and the version after the migrations it applied.
    pub fn schema_change(&self) -> SchemaChange {
        self.inner.schema
    }

    /// Runs `f` on a read connection, on the blocking pool.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let conn = inner.take_reader()?;
            let out = f(&conn);
            inner.give_back(conn);
            out
        })
        .await
    }

    /// Runs a point read `f` (a few rows by key) on a read connection, in
    /// place: no blocking-pool hop.
    pub(crate) fn point<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.inner.take_reader()?;
        let out = f(&conn);
        self.inner.give_back(conn);
        out
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction of the writer connection,
    /// on the blocking pool. Commits when `f` succeeds; otherwise rolls back
    /// and returns `f`'s error. A failed commit is `Unavailable`.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            // A panic while the lock was held dropped (rolled back) its
            // transaction, so the connection is still usable.
            let mut conn = inner.writer.lock().unwrap_or_else(|p| p.into_inner());
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }
}

impl Inner {
    fn take_reader(&self) -> Result<Connection> {
        let idle = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match idle {
            Some(conn) => Ok(conn),
            None => {
                let conn = Connection::open(&self.path)?;
                configure(&conn)?;
                conn.pragma_update(None, "query_only", true)?;
                Ok(conn)
            }
        }
    }

    fn give_back(&self, conn: Connection) {
        if !conn.is_autocommit() {
            // Left inside a transaction by a failed read: do not reuse it.
            return;
        }
        let mut idle = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
    }
}

/// Settings every connection needs.
fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // 16 MiB of page cache per connection (the default is 2 MiB).
    conn.pragma_update(None, "cache_size", -16_384)?;
    Ok(())
}

/// Runs blocking database work off the async threads.
async fn blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Unavailable(format!("store task failed: {e}")))?
}
