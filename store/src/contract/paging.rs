//! Paging scenarios: every list walks each row exactly once, in its order,
//! and refuses cursors it did not issue.

use agusto_schemas::MovementKind::Receipt;
use agusto_schemas::OrderStatus::Reserved;

use super::fixtures::{all_pages, at, event, level, movement, order, page_sizes, product};
use crate::{Error, OrderBatch, StockBatch, Store};

/// Walking any list page by page yields every row once, in the list's order,
/// and the last page has no cursor (a full last page included).
pub async fn paging_covers_everything_once(store: &dyn Store) {
    let t = |ms| at(2002, ms);
    let codes: Vec<String> = (1..=7).map(|i| format!("pg-{i:02}")).collect();
    for (i, code) in codes.iter().enumerate() {
        store
            .put_product(&product(code, i % 2 == 1, t(0)))
            .await
            .expect("put");
    }
    let all = all_pages(|c| async move { store.list_products(None, c.as_deref(), 2).await }).await;
    assert!(
        all.windows(2)
            .all(|w| w[0].product_code < w[1].product_code),
        "sorted, no repeats"
    );
    let ours: Vec<String> = all
        .into_iter()
        .map(|p| p.product_code)
        .filter(|c| c.starts_with("pg-"))
        .collect();
    assert_eq!(ours, codes);
    let active =
        all_pages(|c| async move { store.list_products(Some(true), c.as_deref(), 3).await }).await;
    let ours: Vec<String> = active
        .into_iter()
        .map(|p| p.product_code)
        .filter(|c| c.starts_with("pg-"))
        .collect();
    assert_eq!(ours, ["pg-02", "pg-04", "pg-06"]);

    // Stock rows: ties on updated_at are ordered by code; rows before `since` are left out.
    let stamps = [
        ("pg-01", 10),
        ("pg-02", 30),
        ("pg-03", 20),
        ("pg-04", 20),
        ("pg-05", 5),
        ("pg-06", 40),
    ];
    let mut batch = StockBatch::default();
    for (code, ms) in stamps {
        batch.levels.push(level(code, 1, 0, 1, t(ms)));
        batch
            .movements
            .push(movement(code, Receipt, 1, 0, 1, t(ms)));
    }
    for version in 2..=4 {
        batch
            .movements
            .push(movement("pg-01", Receipt, 1, 0, version, t(10)));
    }
    batch.events = (1..=5)
        .map(|i| event(&format!("evt_pg_{i}"), "pg-01", t(i)))
        .collect();
    store.apply_stock_batch(&batch).await.expect("batch");
    let since = t(10);
    let rows =
        all_pages(|c| async move { store.stock_updated_since(since, c.as_deref(), 2).await }).await;
    assert!(rows.iter().all(|l| l.updated_at >= since));
    assert!(
        rows.windows(2)
            .all(|w| (w[0].updated_at, &w[0].product_code) < (w[1].updated_at, &w[1].product_code)),
        "ordered by (updated_at, code), no repeats"
    );
    let ours: Vec<&str> = rows
        .iter()
        .map(|l| l.product_code.as_str())
        .filter(|c| c.starts_with("pg-"))
        .collect();
    assert_eq!(ours, ["pg-01", "pg-03", "pg-04", "pg-02", "pg-06"]);

    let ledger =
        all_pages(|c| async move { store.movements("pg-01", c.as_deref(), 2).await }).await;
    assert_eq!(
        ledger.iter().map(|m| m.version).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let sizes =
        page_sizes(|c| async move { store.movements("pg-01", c.as_deref(), 2).await }).await;
    assert_eq!(sizes, [2, 2], "a full last page has no cursor");
    let sizes =
        page_sizes(|c| async move { store.movements("pg-none", c.as_deref(), 2).await }).await;
    assert_eq!(sizes, [0]);

    let events = all_pages(|c| async move { store.events(c.as_deref(), 2).await }).await;
    let ours: Vec<String> = events
        .into_iter()
        .map(|e| e.id)
        .filter(|id| id.starts_with("evt_pg_"))
        .collect();
    assert_eq!(
        ours,
        ["evt_pg_1", "evt_pg_2", "evt_pg_3", "evt_pg_4", "evt_pg_5"]
    );

    // Orders: ties on created_at are ordered by id.
    let made = [
        ("pg-o5", 1),
        ("pg-o2", 2),
        ("pg-o1", 2),
        ("pg-o4", 3),
        ("pg-o3", 4),
    ];
    let batch = OrderBatch {
        orders: made
            .iter()
            .map(|(id, ms)| {
                order(
                    id,
                    "ch_pg",
                    Reserved,
                    t(*ms),
                    Some(t(1000)),
                    &[("pg-01", 1)],
                )
            })
            .collect(),
        ..OrderBatch::default()
    };
    store.apply_order_batch(&batch).await.expect("batch");
    let listed = all_pages(|c| async move {
        store
            .list_orders(Some("ch_pg"), None, c.as_deref(), 2)
            .await
    })
    .await;
    let ids: Vec<&str> = listed.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["pg-o5", "pg-o1", "pg-o2", "pg-o4", "pg-o3"]);
    let sizes = page_sizes(|c| async move {
        store
            .list_orders(Some("ch_pg"), Some(Reserved), c.as_deref(), 2)
            .await
    })
    .await;
    assert_eq!(sizes, [2, 2, 1]);
}

/// A cursor that no list issued is `InvalidCursor`, never a panic or a page.
pub async fn invalid_cursor_is_an_error(store: &dyn Store) {
    let since = at(2002, 0);
    for bad in ["not-a-cursor", "", "\u{0}|x|9"] {
        let c = Some(bad);
        let invalid = |r: Result<(), Error>| matches!(r, Err(Error::InvalidCursor));
        assert!(
            invalid(store.list_products(None, c, 10).await.map(drop)),
            "products {bad:?}"
        );
        assert!(
            invalid(store.stock_updated_since(since, c, 10).await.map(drop)),
            "stock {bad:?}"
        );
        assert!(
            invalid(store.movements("pg-01", c, 10).await.map(drop)),
            "movements {bad:?}"
        );
        assert!(
            invalid(store.list_orders(None, None, c, 10).await.map(drop)),
            "orders {bad:?}"
        );
        assert!(
            invalid(store.events(c, 10).await.map(drop)),
            "events {bad:?}"
        );
        assert!(
            invalid(store.list_deliveries(None, None, c, 10).await.map(drop)),
            "deliveries {bad:?}"
        );
    }
}
