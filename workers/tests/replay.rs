//! Writers against a real SQLite file: redelivered commands change nothing twice.

use std::sync::Arc;

use agusto_schemas::{ProductQty, StockCommand, StockReply, now};
use agusto_store::sqlite::SqliteStore;
use agusto_store::{Product, Store};
use agusto_workers::ledger;
use agusto_workers::stock_writer::StockWriter;

async fn store(name: &str) -> Arc<dyn Store> {
    let dir = std::env::temp_dir().join(format!("agusto-replay-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = SqliteStore::open(&dir.join("agusto.db")).expect("store opens");
    let product = Product {
        product_code: "R-1".into(),
        name: "Replay".into(),
        active: true,
        barcode: None,
        updated_at: now(),
    };
    store.put_product(&product).await.expect("product");
    Arc::new(store)
}

#[tokio::test]
async fn redelivered_stock_commands_are_applied_once() {
    let store = store("stock").await;
    let receipt = StockCommand::Receipt {
        receipt_id: "rcpt_1".into(),
        reference: "PO-1".into(),
        lines: vec![ProductQty {
            product_code: "R-1".into(),
            quantity: 10,
        }],
        claim: None,
    };
    let reserve = StockCommand::Reserve {
        order_id: "ord_1".into(),
        lines: vec![ProductQty {
            product_code: "R-1".into(),
            quantity: 3,
        }],
        expires_at: now() + chrono::Duration::minutes(5),
    };
    let mut first = StockWriter::new(0, 1, store.clone());
    let replies = first
        .apply_batch(&[(1, receipt.clone(), now()), (2, reserve.clone(), now())])
        .await;
    assert!(matches!(&replies[0], StockReply::Levels(l) if l[0].on_hand == 10));
    assert_eq!(replies[1], StockReply::Reserved);

    // A new writer (as after a crash or a rebalance) gets the same commands
    // again: the receipt answers what it answered the first time.
    let mut again = StockWriter::new(0, 1, store.clone());
    let replies = again
        .apply_batch(&[(1, receipt.clone(), now()), (2, reserve, now())])
        .await;
    assert!(
        matches!(&replies[0], StockReply::Recorded(l) if l[0].on_hand == 10 && l[0].reserved == 0),
        "{replies:?}"
    );
    assert_eq!(replies[1], StockReply::Reserved);
    // The same receipt at a new offset (a client's retry of a receipt whose
    // answer was lost, with its Idempotency-Key) is not received twice.
    let replies = again.apply_batch(&[(3, receipt, now())]).await;
    assert!(
        matches!(&replies[0], StockReply::Recorded(l) if l[0].on_hand == 10 && l[0].reserved == 0),
        "{replies:?}"
    );

    let levels = store.stock_levels(&["R-1".to_owned()]).await.unwrap();
    assert_eq!(
        (levels[0].on_hand, levels[0].reserved, levels[0].version),
        (10, 3, 2)
    );
    let sums = store.ledger_sums().await.unwrap();
    assert_eq!((sums[0].on_hand, sums[0].reserved), (10, 3));
    assert_eq!(
        store
            .applied_offset(agusto_workers::stock_writer::STOCK_LOG, 0)
            .await
            .unwrap(),
        Some(2),
        "a batch that changed nothing writes nothing"
    );
    // No order was written for ord_1, so verification flags its hold.
    let report = ledger::verify(store.as_ref()).await.unwrap();
    assert_eq!(report.differences.len(), 1);
    assert_eq!(report.differences[0].open_orders_reserved, 0);
}

fn receipt(id: &str, code: &str, quantity: i64, claim: Option<&str>) -> StockCommand {
    StockCommand::Receipt {
        receipt_id: id.into(),
        reference: "PO-K".into(),
        lines: vec![ProductQty {
            product_code: code.into(),
            quantity,
        }],
        claim: claim.map(str::to_owned),
    }
}

/// A receipt whose `Idempotency-Key` is claimed in one partition and whose
/// part lies in another: retries get the first answer, a reused key a
/// conflict, also after the writers restart from the store.
#[tokio::test]
async fn a_claimed_change_id_decides_retries_and_reused_keys_across_partitions() {
    let store = store("claims").await;
    let claim = |fingerprint: &str| StockCommand::Claim {
        change_id: "rcpt_k".into(),
        fingerprint: fingerprint.into(),
    };
    for round in 0..2 {
        // Round 1 is a restart: new writers that know only the store.
        let mut home = StockWriter::new(0, 2, store.clone());
        let mut other = StockWriter::new(1, 2, store.clone());
        let base = round * 10;
        let replies = home.apply_batch(&[(base + 1, claim("fp-1"), now())]).await;
        assert_eq!(replies, [StockReply::Claimed { first: round == 0 }]);
        let replies = other
            .apply_batch(&[(base + 1, receipt("rcpt_k", "R-1", 4, None), now())])
            .await;
        match (&replies[0], round) {
            (StockReply::Levels(l), 0) | (StockReply::Recorded(l), 1) => {
                assert_eq!(l[0].on_hand, 4, "{replies:?}")
            }
            _ => panic!("round {round}: {replies:?}"),
        }
        let replies = home.apply_batch(&[(base + 2, claim("fp-2"), now())]).await;
        assert!(
            matches!(&replies[0], StockReply::Conflict(_)),
            "{replies:?}"
        );
        // The claim inside a part (a change wholly in the id's partition).
        let replies = home
            .apply_batch(&[(base + 3, receipt("rcpt_k", "R-1", 9, Some("fp-3")), now())])
            .await;
        assert!(
            matches!(&replies[0], StockReply::Conflict(_)),
            "{replies:?}"
        );
    }
    let levels = store.stock_levels(&["R-1".to_owned()]).await.unwrap();
    assert_eq!(
        (levels[0].on_hand, levels[0].version),
        (4, 1),
        "received once"
    );
}

/// An adjustment at another version than expected changes nothing.
#[tokio::test]
async fn an_adjustment_at_an_unexpected_version_changes_nothing() {
    let store = store("cas").await;
    let mut w = StockWriter::new(0, 1, store.clone());
    let adjust = |id: &str, expected| StockCommand::Adjust {
        adjustment_id: id.into(),
        product_code: "R-1".into(),
        change: agusto_schemas::AdjustmentChange::SetOnHand(7),
        reason: "count".into(),
        expected_version: expected,
        claim: None,
    };
    w.apply_batch(&[(1, receipt("rcpt_c", "R-1", 3, None), now())])
        .await;
    let replies = w.apply_batch(&[(2, adjust("adj_1", Some(0)), now())]).await;
    assert_eq!(
        replies,
        [StockReply::VersionMismatch { current_version: 1 }]
    );
    let replies = w.apply_batch(&[(3, adjust("adj_2", Some(1)), now())]).await;
    assert!(matches!(&replies[0], StockReply::Levels(l) if l[0].on_hand == 7 && l[0].version == 2));
}
