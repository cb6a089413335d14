//! Outbox scenario: events carry strictly increasing positions in the order
//! the writers' batches stored them.

use agusto_schemas::OrderStatus::Reserved;
use agusto_schemas::{Event, EventType};

use super::fixtures::{all_pages, at, event, order};
use crate::{OrderBatch, StockBatch, Store};

/// Every event `outbox_after` returns from `after` on, fetched `limit` at a
/// time.
async fn outbox_from(store: &dyn Store, mut after: i64, limit: usize) -> Vec<(i64, Event)> {
    let mut all = Vec::new();
    for _ in 0..100_000 {
        let batch = store.outbox_after(after, limit).await.expect("outbox");
        assert!(batch.len() <= limit, "at most `limit` events");
        match batch.last() {
            Some((position, _)) => after = *position,
            None => return all,
        }
        all.extend(batch);
    }
    panic!("outbox walk did not end");
}

/// Events written through stock and order batches get strictly increasing
/// outbox positions (from 1) in write order; a replayed batch adds none;
/// `outbox_after` agrees with `events`.
pub async fn outbox_positions_follow_writes(store: &dyn Store) {
    let t = |ms| at(2012, ms);
    let last = outbox_from(store, 0, 50)
        .await
        .last()
        .map_or(0, |(position, _)| *position);

    let (e1, e2) = (
        event("evt_ob_1", "ob-a", t(1)),
        event("evt_ob_2", "ob-b", t(2)),
    );
    let e3 = Event {
        id: "evt_ob_3".to_owned(),
        event_type: EventType::OrderStatusChanged,
        created_at: t(3),
        channel_id: Some("ch_ob".to_owned()),
        product_code: None,
        data: serde_json::json!({ "order_id": "ob-o1", "status": "reserved" }),
    };
    let e4 = event("evt_ob_4", "ob-a", t(4));
    let stock = StockBatch {
        events: vec![e1.clone(), e2.clone()],
        ..StockBatch::default()
    };
    store.apply_stock_batch(&stock).await.expect("stock batch");
    let orders = OrderBatch {
        orders: vec![order(
            "ob-o1",
            "ch_ob",
            Reserved,
            t(3),
            None,
            &[("ob-a", 1)],
        )],
        events: vec![e3.clone()],
        ..OrderBatch::default()
    };
    store.apply_order_batch(&orders).await.expect("order batch");
    store
        .apply_stock_batch(&stock)
        .await
        .expect("replayed batch");
    let next = StockBatch {
        events: vec![e4.clone()],
        ..StockBatch::default()
    };
    store.apply_stock_batch(&next).await.expect("stock batch");

    let new = store.outbox_after(last, 100).await.expect("outbox");
    let (positions, events): (Vec<i64>, Vec<Event>) = new.into_iter().unzip();
    assert_eq!(
        events,
        [e1, e2, e3.clone(), e4],
        "write order, replay adds none"
    );
    assert!(positions[0] > last, "after {last}: {positions:?}");
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing: {positions:?}"
    );
    assert_eq!(
        store.outbox_after(positions[1], 1).await.expect("outbox"),
        vec![(positions[2], e3)]
    );
    assert_eq!(
        store.outbox_after(positions[3], 10).await.expect("outbox"),
        vec![],
        "nothing after the newest"
    );

    let walked = outbox_from(store, 0, 2).await;
    assert!(walked.first().is_some_and(|(p, _)| *p >= 1), "from 1");
    assert!(walked.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(walked.last().map(|(p, _)| *p), positions.last().copied());
    let listed = all_pages(|c| async move { store.events(c.as_deref(), 3).await }).await;
    let walked: Vec<Event> = walked.into_iter().map(|(_, e)| e).collect();
    assert_eq!(walked, listed, "same events, same order as `events`");
}
