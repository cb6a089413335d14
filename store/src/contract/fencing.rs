//! Fencing: a writer that lost its partition to a newer claim cannot write.

use super::fixtures::{at, level};
use crate::{Error, Fence, StockBatch, Store};

/// Each claim bumps the partition's epoch; a batch fenced with an older
/// epoch is refused and writes nothing; other partitions and logs are
/// unaffected; unfenced batches (tools) always write.
pub async fn writers_are_fenced_by_a_newer_claim(store: &dyn Store) {
    let t = |ms| at(2045, ms);
    let log = "contract.fence";
    let fence = |partition, epoch| {
        Some(Fence {
            log: log.into(),
            partition,
            epoch,
        })
    };
    let batch = |code: &str, on_hand, fence| StockBatch {
        levels: vec![level(code, on_hand, 0, on_hand, t(on_hand))],
        fence,
        ..StockBatch::default()
    };
    let stored = |code: &'static str| async move {
        store
            .stock_levels(&[code.to_owned()])
            .await
            .expect("levels")
            .first()
            .map(|l| l.on_hand)
    };
    assert_eq!(store.claim_partition(log, 0).await.expect("claim"), 1);
    store
        .apply_stock_batch(&batch("fence-a", 1, fence(0, 1)))
        .await
        .expect("the owner writes");
    assert_eq!(store.claim_partition(log, 0).await.expect("claim"), 2);
    let zombie = store
        .apply_stock_batch(&batch("fence-a", 2, fence(0, 1)))
        .await;
    assert!(matches!(zombie, Err(Error::Fenced(_))), "{zombie:?}");
    assert_eq!(stored("fence-a").await, Some(1), "the zombie wrote nothing");
    store
        .apply_stock_batch(&batch("fence-a", 3, fence(0, 2)))
        .await
        .expect("the new owner writes");
    assert_eq!(stored("fence-a").await, Some(3));
    // Never claimed: no epoch 1 to write under.
    let unclaimed = store
        .apply_stock_batch(&batch("fence-b", 1, fence(1, 1)))
        .await;
    assert!(matches!(unclaimed, Err(Error::Fenced(_))), "{unclaimed:?}");
    assert_eq!(store.claim_partition(log, 1).await.expect("claim"), 1);
    assert_eq!(
        store
            .claim_partition("contract.fence.other", 0)
            .await
            .expect("claim"),
        1
    );
    store
        .apply_stock_batch(&batch("fence-b", 4, None))
        .await
        .expect("unfenced");
    assert_eq!(stored("fence-b").await, Some(4));
}
