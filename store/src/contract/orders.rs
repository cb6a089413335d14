//! Order scenarios: round trip, filters, idempotency keys, due orders, lapsed
//! holds and open-order totals.

use agusto_schemas::OrderStatus::{
    Cancelled, Dispatched, Expired, Packed, PendingApproval, Picking, Reserved,
};
use agusto_schemas::{EventType, StatusChange};

use super::fixtures::{all_pages, at, event, order};
use crate::{OrderBatch, Store};

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
