//! Two writers of one partition on one real SQLite file, as after a
//! rebalance whose old owner is a zombie (paused past its session): the
//! writer that claimed the partition last writes; the other's batches are
//! refused, change nothing, and it does not claim the partition back.

use std::sync::Arc;

use agusto_schemas::{ProductQty, StockCommand, StockReply, now};
use agusto_store::Store;
use agusto_store::sqlite::SqliteStore;
use agusto_workers::stock_writer::StockWriter;

fn receipt(id: &str, quantity: i64) -> StockCommand {
    StockCommand::Receipt {
        receipt_id: id.into(),
        reference: "PO-F".into(),
        lines: vec![ProductQty {
            product_code: "F-1".into(),
            quantity,
        }],
        claim: None,
    }
}

async fn on_hand(store: &dyn Store) -> i64 {
    store
        .stock_levels(&["F-1".to_owned()])
        .await
        .expect("levels")[0]
        .on_hand
}

#[tokio::test]
async fn a_zombie_writer_is_fenced_and_stays_out() {
    let dir = std::env::temp_dir().join(format!("agusto-fencing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.join("agusto.db")).expect("db"));

    let mut old = StockWriter::new(0, 1, store.clone());
    let replies = old.apply_batch(&[(1, receipt("r1", 5), now())]).await;
    assert!(matches!(&replies[0], StockReply::Levels(_)), "{replies:?}");

    // The new owner takes the partition (claims, loads) and works.
    let mut new = StockWriter::new(0, 1, store.clone());
    let replies = new.apply_batch(&[(2, receipt("r2", 7), now())]).await;
    assert!(
        matches!(&replies[0], StockReply::Levels(l) if l[0].on_hand == 12),
        "{replies:?}"
    );

    // The old owner wakes up with a batch it decided from its stale state.
    let replies = old.apply_batch(&[(3, receipt("r3", 100), now())]).await;
    assert!(
        matches!(&replies[0], StockReply::Unavailable(why) if why.contains("fenced")),
        "{replies:?}"
    );
    assert_eq!(
        on_hand(store.as_ref()).await,
        12,
        "the zombie wrote nothing"
    );
    let replies = old.apply_batch(&[(4, receipt("r4", 100), now())]).await;
    assert!(
        matches!(&replies[0], StockReply::Unavailable(_)),
        "{replies:?}"
    );

    // It did not claim the partition back: the new owner keeps writing.
    let replies = new.apply_batch(&[(5, receipt("r5", 1), now())]).await;
    assert!(
        matches!(&replies[0], StockReply::Levels(l) if l[0].on_hand == 13),
        "{replies:?}"
    );
    assert_eq!(on_hand(store.as_ref()).await, 13);
    let _ = std::fs::remove_dir_all(&dir);
}
