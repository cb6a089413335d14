//! Order scenarios: round trip, filters, idempotency keys, due orders, lapsed
//! holds and open-order totals.

use agusto_schemas::OrderStatus::{
    Cancelled, Dispatched, Expired, Packed, PendingApproval, Picking, Reserved,
};
use agusto_schemas::{EventType, StatusChange};

use super::fixtures::{all_pages, at, event, hold, order};
use crate::{OrderBatch, StockBatch, Store};

/// Orders round-trip field by field, later batches replace them, their
/// events reach the outbox, and `list_orders` filters by channel and status.
pub async fn orders_round_trip_and_filters(store: &dyn Store) {
    let t = |ms| at(2004, ms);
    let mut full = order(
        "or-1",
        "ch_or_a",
        Reserved,
        t(1),
        Some(t(900_000)),
        &[("or-p", 2), ("or-q", 1)],
    );
    full.idempotency_key = Some("key-or-1".to_owned());
    full.customer = Some(serde_json::json!({ "email": "a@example.com", "tags": ["vip"] }));
    full.shipping_address = Some(serde_json::json!({ "city": "Lisboa", "zip": null }));
    let other = order(
        "or-2",
        "ch_or_b",
        Reserved,
        t(2),
        Some(t(900_000)),
        &[("or-p", 1)],
    );
    let paid = order(
        "or-3",
        "ch_or_a",
        PendingApproval,
        t(3),
        None,
        &[("or-q", 4)],
    );
    let mut status_event = event("evt_or_1", "or-p", t(1));
    status_event.event_type = EventType::OrderStatusChanged;
    status_event.channel_id = Some("ch_or_a".to_owned());
    status_event.product_code = None;
    let batch = OrderBatch {
        orders: vec![full.clone(), other.clone(), paid.clone()],
        events: vec![status_event.clone()],
        applied: None,
    };
    store.apply_order_batch(&batch).await.expect("batch");
    assert_eq!(
        store.get_order("or-1").await.expect("get"),
        Some(full.clone())
    );
    assert_eq!(store.get_order("or-missing").await.expect("get"), None);

    // Dispatch or-1: every mutable field changes.
    let mut shipped = full.clone();
    shipped.status = Dispatched;
    shipped.expires_at = None;
    shipped.tracking_number = Some("TRACK-1".to_owned());
    shipped.carrier = Some("CTT".to_owned());
    shipped.updated_at = t(5);
    shipped.history.push(StatusChange {
        status: Dispatched,
        at: t(5),
    });
    let batch = OrderBatch {
        orders: vec![shipped.clone()],
        ..OrderBatch::default()
    };
    store.apply_order_batch(&batch).await.expect("batch");
    store
        .apply_order_batch(&batch)
        .await
        .expect("replayed batch");
    assert_eq!(
        store.get_order("or-1").await.expect("get"),
        Some(shipped.clone())
    );

    let events = all_pages(|c| async move { store.events(c.as_deref(), 50).await }).await;
    let ours: Vec<_> = events
        .into_iter()
        .filter(|e| e.id.starts_with("evt_or_"))
        .collect();
    assert_eq!(ours, vec![status_event]);

    let list = |ch: Option<&'static str>, st| async move {
        all_pages(|c| async move { store.list_orders(ch, st, c.as_deref(), 1).await })
            .await
            .into_iter()
            .filter(|o| o.id.starts_with("or-"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        list(None, None).await,
        vec![shipped.clone(), other.clone(), paid.clone()]
    );
    assert_eq!(
        list(Some("ch_or_a"), None).await,
        vec![shipped.clone(), paid.clone()]
    );
    assert_eq!(list(Some("ch_or_a"), Some(Dispatched)).await, vec![shipped]);
    assert_eq!(list(None, Some(Reserved)).await, vec![other.clone()]);
    assert_eq!(list(Some("ch_or_b"), Some(PendingApproval)).await, vec![]);
    let all = all_pages(|c| async move {
        store
            .list_orders(Some("ch_or_a"), None, c.as_deref(), 5)
            .await
    })
    .await;
    assert!(all.iter().all(|o| o.channel_id == "ch_or_a"));
    let all = all_pages(|c| async move {
        store
            .list_orders(None, Some(PendingApproval), c.as_deref(), 5)
            .await
    })
    .await;
    assert!(all.iter().all(|o| o.status == PendingApproval) && all.contains(&paid));
}

/// An order is found by (channel, idempotency key), and only so.
pub async fn idempotency_key_lookup(store: &dyn Store) {
    let t = |ms| at(2005, ms);
    let mut keyed = order(
        "ik-1",
        "ch_ik_a",
        Reserved,
        t(1),
        Some(t(60_000)),
        &[("ik-p", 1)],
    );
    keyed.idempotency_key = Some("K-1".to_owned());
    let unkeyed = order(
        "ik-2",
        "ch_ik_a",
        Reserved,
        t(2),
        Some(t(60_000)),
        &[("ik-p", 1)],
    );
    let batch = OrderBatch {
        orders: vec![keyed.clone(), unkeyed],
        ..OrderBatch::default()
    };
    store.apply_order_batch(&batch).await.expect("batch");
    let find = |ch: &'static str, key: &'static str| async move {
        store
            .order_by_idempotency_key(ch, key)
            .await
            .expect("lookup")
    };
    assert_eq!(find("ch_ik_a", "K-1").await, Some(keyed));
    assert_eq!(find("ch_ik_b", "K-1").await, None, "keys are per channel");
    assert_eq!(find("ch_ik_a", "K-2").await, None);
}

/// `due_orders` lists reserved orders with `expires_at <= before`, earliest
/// first; `lapsed_reservations` lists unconfirmed holds with
/// `expires_at < before`. Both honour `limit`.
pub async fn due_orders_and_lapsed_reservations(store: &dyn Store) {
    // The earliest year of any scenario, so `before` sees only these rows.
    let t = |ms| at(1990, ms);
    let due1 = order(
        "du-1",
        "ch_du",
        Reserved,
        t(0),
        Some(t(100)),
        &[("du-p", 1)],
    );
    let due2 = order(
        "du-2",
        "ch_du",
        Reserved,
        t(0),
        Some(t(200)),
        &[("du-p", 1)],
    );
    let later = order(
        "du-3",
        "ch_du",
        Reserved,
        t(0),
        Some(t(300)),
        &[("du-p", 1)],
    );
    let paid = order(
        "du-4",
        "ch_du",
        PendingApproval,
        t(0),
        Some(t(50)),
        &[("du-p", 1)],
    );
    let expired = order("du-5", "ch_du", Expired, t(0), Some(t(60)), &[("du-p", 1)]);
    let batch = OrderBatch {
        orders: vec![later, due2.clone(), paid, due1.clone(), expired],
        ..OrderBatch::default()
    };
    store.apply_order_batch(&batch).await.expect("batch");
    assert_eq!(
        store.due_orders(t(200), 10).await.expect("due"),
        vec![due1.clone(), due2]
    );
    assert_eq!(store.due_orders(t(200), 1).await.expect("due"), vec![due1]);
    assert!(store.due_orders(t(99), 10).await.expect("due").is_empty());

    let (h1, h2) = (
        hold("du-1", "du-p", 1, Some(t(100))),
        hold("du-2", "du-p", 1, Some(t(200))),
    );
    let confirmed = hold("du-4", "du-p", 1, None);
    let batch = StockBatch {
        reservations_put: vec![h2.clone(), confirmed, h1.clone()],
        ..StockBatch::default()
    };
    store.apply_stock_batch(&batch).await.expect("batch");
    assert_eq!(
        store.lapsed_reservations(t(200), 10).await.expect("lapsed"),
        vec![h1.clone()]
    );
    assert_eq!(
        store.lapsed_reservations(t(201), 10).await.expect("lapsed"),
        vec![h1.clone(), h2]
    );
    assert_eq!(
        store.lapsed_reservations(t(201), 1).await.expect("lapsed"),
        vec![h1]
    );
    assert!(
        store
            .lapsed_reservations(t(100), 10)
            .await
            .expect("lapsed")
            .is_empty()
    );
}

/// `open_order_quantities` sums lines of orders in stock-holding statuses
/// only, and follows status changes.
pub async fn open_order_quantities_follow_status(store: &dyn Store) {
    let t = |ms| at(2010, ms);
    let exp = Some(t(60_000));
    let picking = order(
        "oq-2",
        "ch_oq",
        Picking,
        t(2),
        None,
        &[("oq-a", 3), ("oq-b", 1)],
    );
    let batch = OrderBatch {
        orders: vec![
            order("oq-1", "ch_oq", Reserved, t(1), exp, &[("oq-a", 2)]),
            picking.clone(),
            order("oq-3", "ch_oq", Packed, t(3), None, &[("oq-c", 4)]),
            order("oq-4", "ch_oq", Dispatched, t(4), None, &[("oq-a", 50)]),
            order("oq-5", "ch_oq", Cancelled, t(5), None, &[("oq-a", 60)]),
            order("oq-6", "ch_oq", Expired, t(6), None, &[("oq-b", 70)]),
            order("oq-7", "ch_oq", PendingApproval, t(7), None, &[("oq-c", 1)]),
        ],
        ..OrderBatch::default()
    };
    store.apply_order_batch(&batch).await.expect("batch");
    let open = || async move {
        let mut open: Vec<(String, i64)> = store
            .open_order_quantities()
            .await
            .expect("open quantities")
            .into_iter()
            .filter(|(code, qty)| code.starts_with("oq-") && *qty != 0)
            .collect();
        open.sort();
        open
    };
    let pair = |code: &str, qty: i64| (code.to_owned(), qty);
    assert_eq!(
        open().await,
        vec![pair("oq-a", 5), pair("oq-b", 1), pair("oq-c", 5)]
    );

    let mut dispatched = picking;
    dispatched.status = Dispatched;
    let batch = OrderBatch {
        orders: vec![dispatched],
        ..OrderBatch::default()
    };
    store.apply_order_batch(&batch).await.expect("batch");
    assert_eq!(open().await, vec![pair("oq-a", 2), pair("oq-c", 5)]);
}
