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

    // A new writer (as after a crash or a rebalance) gets the same commands again.
    let mut again = StockWriter::new(0, 1, store.clone());
    let replies = again
        .apply_batch(&[(1, receipt.clone(), now()), (2, reserve, now())])
        .await;
    assert!(
        matches!(&replies[0], StockReply::Levels(l) if l[0].on_hand == 10 && l[0].reserved == 3),
        "{replies:?}"
    );
    assert_eq!(replies[1], StockReply::Reserved);
    // The same receipt at a new offset is a new receipt.
    let replies = again.apply_batch(&[(3, receipt, now())]).await;
    assert!(
        matches!(&replies[0], StockReply::Levels(l) if l[0].on_hand == 20),
        "{replies:?}"
    );

    let levels = store.stock_levels(&["R-1".to_owned()]).await.unwrap();
    assert_eq!(
        (levels[0].on_hand, levels[0].reserved, levels[0].version),
        (20, 3, 3)
    );
    let sums = store.ledger_sums().await.unwrap();
    assert_eq!((sums[0].on_hand, sums[0].reserved), (20, 3));
    assert_eq!(
        store
            .applied_offset(agusto_workers::stock_writer::STOCK_LOG, 0)
            .await
            .unwrap(),
        Some(3)
    );
    // No order was written for ord_1, so verification flags its hold.
    let report = ledger::verify(store.as_ref()).await.unwrap();
    assert_eq!(report.differences.len(), 1);
    assert_eq!(report.differences[0].open_orders_reserved, 0);
}
