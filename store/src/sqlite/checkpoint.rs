//! The WAL checkpointer: a thread with its own connection that copies
//! committed WAL pages back into the database file (`PASSIVE`: never blocks
//! the writer or readers), so that commits do not pay for it. If the WAL
//! still grows past [`TRUNCATE_AT`] (readers pinning old pages, or a writer
//! faster than the copy), a `TRUNCATE` checkpoint waits for the writer once
//! and resets it. The thread ends with the store.

use std::sync::Weak;
use std::time::Duration;

use rusqlite::Connection;

use super::{Inner, configure};
use crate::Result;

/// How often the checkpointer copies what was committed since its last
/// round (longer: more rewrites of a page coalesce; shorter: a smaller WAL).
const EVERY: Duration = Duration::from_millis(250);

/// WAL file size after which the checkpointer resets the WAL, waiting for
/// the writer (bounded by the busy timeout).
const TRUNCATE_AT: u64 = 512 * 1024 * 1024;

/// Starts the checkpointer of the store `inner` (stops once it is dropped).
pub(super) fn start(inner: Weak<Inner>) -> Result<()> {
    let Some(path) = inner.upgrade().map(|i| i.path.clone()) else {
        return Ok(());
    };
    let conn = Connection::open(&path)?;
    configure(&conn)?;
    let wal = {
        let mut p = path.into_os_string();
        p.push("-wal");
        std::path::PathBuf::from(p)
    };
    std::thread::Builder::new()
        .name("agusto-checkpoint".into())
        .spawn(move || {
            while inner.strong_count() > 0 {
                std::thread::sleep(EVERY);
                let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
                let sql = if size > TRUNCATE_AT {
                    "PRAGMA wal_checkpoint(TRUNCATE)"
                } else {
                    "PRAGMA wal_checkpoint(PASSIVE)"
                };
                if let Err(e) = conn.query_row(sql, [], |_| Ok(())) {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        })
        .map_err(|e| crate::Error::Unavailable(format!("cannot start the checkpointer: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use agusto_schemas::StockLevel;

    use crate::sqlite::tests::TempDb;
    use crate::{StockBatch, Store};

    /// Commits do not checkpoint (`wal_autocheckpoint=0`); the checkpointer
    /// thread copies them into the database file while the store is open.
    #[tokio::test]
    async fn committed_pages_reach_the_database_file() {
        let db = TempDb::new("checkpoint");
        let store = db.open();
        let size = || std::fs::metadata(&db.path).map(|m| m.len()).unwrap_or(0);
        let before = size();
        for round in 0..40 {
            let levels = (0..100)
                .map(|i| StockLevel::empty(&format!("ck-{round}-{i}"), agusto_schemas::now()))
                .collect();
            let batch = StockBatch {
                levels,
                ..StockBatch::default()
            };
            store.apply_stock_batch(&batch).await.expect("batch");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while size() <= before {
            assert!(
                Instant::now() < deadline,
                "the database file stayed at {before} bytes: nothing was checkpointed"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(store.all_stock_levels().await.expect("levels").len(), 4000);
    }
}
