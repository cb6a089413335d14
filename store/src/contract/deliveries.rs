//! Webhook delivery scenarios: fan-out, the per-key delivery queue, updates
//! and listing. Each scenario leaves none of its deliveries pending, so the
//! others see only their own in `due_deliveries` / `next_delivery_due`.

use agusto_schemas::Timestamp;

use super::fixtures::{all_pages, at, delivery, page_sizes};
use crate::DeliveryStatus::{Delivered, Failed, Pending};
use crate::{Attempt, Delivery, DeliveryStatus, Error, Store};

/// Marks every still pending delivery of `ids` delivered.
async fn settle(store: &dyn Store, ids: &[&str]) {
    for id in ids {
        let mut d = store.get_delivery(id).await.expect("get").expect("stored");
        if d.status == Pending {
            d.status = Delivered;
            d.next_attempt_at = None;
            store.update_delivery(&d).await.expect("settle");
        }
    }
}

/// Ids of the deliveries due at `now` whose id starts with `prefix`, in order.
async fn due_ids(store: &dyn Store, now: Timestamp, prefix: &str) -> Vec<String> {
    let due = store.due_deliveries(now, 1000).await.expect("due");
    assert!(
        due.iter().all(|d| d.status == Pending),
        "only pending deliveries are due"
    );
    due.into_iter()
        .map(|d| d.id)
        .filter(|id| id.starts_with(prefix))
        .collect()
}

/// Fanning the same deliveries out twice stores each once (the first
/// version wins), and the fan-out position only ever rises.
pub async fn fan_out_is_idempotent(store: &dyn Store) {
    let t = |ms| at(2011, ms);
    let p0 = store.fanout_position().await.expect("position");
    assert!(p0 >= 0, "fan-out position starts at 0: {p0}");
    let ds = vec![
        delivery("fo-1", "ch_fo_a", "fo-k", p0 + 1, Some(t(1)), t(0)),
        delivery("fo-2", "ch_fo_b", "fo-k", p0 + 1, Some(t(1)), t(0)),
        delivery("fo-3", "ch_fo_a", "fo-k", p0 + 2, Some(t(2)), t(0)),
    ];
    store.fan_out(&ds, p0 + 2).await.expect("fan out");
    assert_eq!(store.fanout_position().await.expect("position"), p0 + 2);

    let mut again = ds.clone();
    again[0].status = Failed;
    again[0].payload = serde_json::json!({ "changed": true });
    again[1].next_attempt_at = None;
    store.fan_out(&again, p0 + 2).await.expect("fan out again");
    for d in &ds {
        assert_eq!(
            store.get_delivery(&d.id).await.expect("get").as_ref(),
            Some(d),
            "a fanned-out id is not overwritten"
        );
    }
    let listed = store
        .list_deliveries(None, Some("ch_fo_a"), None, 10)
        .await
        .expect("list");
    let ids: Vec<&str> = listed.items.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["fo-3", "fo-1"], "one row per id");

    store.fan_out(&[], p0 + 1).await.expect("lower");
    assert_eq!(store.fanout_position().await.expect("position"), p0 + 2);
    store.fan_out(&[], -5).await.expect("negative");
    assert_eq!(store.fanout_position().await.expect("position"), p0 + 2);
    let fo4 = delivery("fo-4", "ch_fo_b", "fo-k", p0 + 3, Some(t(3)), t(0));
    store
        .fan_out(std::slice::from_ref(&fo4), p0 + 3)
        .await
        .expect("fan out");
    assert_eq!(store.fanout_position().await.expect("position"), p0 + 3);
    assert_eq!(store.get_delivery("fo-4").await.expect("get"), Some(fo4));
    assert_eq!(store.get_delivery("fo-none").await.expect("get"), None);
    settle(store, &["fo-1", "fo-2", "fo-3", "fo-4"]).await;
}

/// Only the lowest pending position of a (channel, key) is due, however
/// early a later one is due; a delivered or failed head stops blocking; other
/// keys and channels are independent; due ones come soonest first.
pub async fn due_deliveries_respect_queue_heads(store: &dyn Store) {
    let t = |ms| at(2013, ms);
    let first = delivery("hq-1", "ch_hq_a", "hq-p1", 10, Some(t(500)), t(0));
    let second = delivery("hq-2", "ch_hq_a", "hq-p1", 20, Some(t(100)), t(0));
    let other_key = delivery("hq-3", "ch_hq_a", "hq-p2", 15, Some(t(100)), t(0));
    let other_channel = delivery("hq-4", "ch_hq_b", "hq-p1", 30, Some(t(100)), t(0));
    let mut failed = delivery("hq-5", "ch_hq_b", "hq-p3", 5, Some(t(1)), t(0));
    failed.status = Failed;
    let all = [&first, &second, &other_key, &other_channel, &failed].map(|d| (*d).clone());
    let position = store.fanout_position().await.expect("position");
    store.fan_out(&all, position).await.expect("fan out");

    assert_eq!(due_ids(store, t(99), "hq-").await, Vec::<String>::new());
    assert_eq!(
        due_ids(store, t(200), "hq-").await,
        ["hq-3", "hq-4"],
        "hq-2 waits for hq-1, not due yet"
    );
    assert_eq!(
        due_ids(store, t(500), "hq-").await,
        ["hq-3", "hq-4", "hq-1"],
        "by due time, due exactly at `now` included"
    );
    let two = store.due_deliveries(t(500), 2).await.expect("due");
    let ids: Vec<&str> = two.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["hq-3", "hq-4"], "limit");
    assert_eq!(two[0], other_key, "whole rows");

    let mut head = first.clone();
    head.status = Failed;
    head.next_attempt_at = None;
    head.updated_at = t(600);
    store.update_delivery(&head).await.expect("fail head");
    assert_eq!(
        due_ids(store, t(600), "hq-").await,
        ["hq-3", "hq-2", "hq-4"],
        "a failed head no longer blocks; ties by position"
    );

    let mut next = second.clone();
    next.status = Delivered;
    next.next_attempt_at = None;
    store.update_delivery(&next).await.expect("deliver");
    let later = delivery("hq-6", "ch_hq_a", "hq-p1", 40, Some(t(700)), t(0));
    let latest = delivery("hq-7", "ch_hq_a", "hq-p1", 50, Some(t(650)), t(0));
    store
        .fan_out(&[latest, later], position)
        .await
        .expect("fan out");
    assert_eq!(
        due_ids(store, t(800), "hq-").await,
        ["hq-3", "hq-4", "hq-6"],
        "a delivered head no longer blocks; hq-7 waits for hq-6"
    );
    settle(store, &["hq-3", "hq-4", "hq-6", "hq-7"]).await;
    assert_eq!(due_ids(store, t(800), "hq-").await, Vec::<String>::new());
}

/// `update_delivery` replaces status, tries, attempts, next_attempt_at and
/// updated_at, and nothing else; an unknown id is a `Conflict`.
pub async fn delivery_updates_round_trip(store: &dyn Store) {
    let t = |ms| at(2014, ms);
    let d = delivery("up-1", "ch_up", "up-k", 7, Some(t(10)), t(0));
    let position = store.fanout_position().await.expect("position");
    store
        .fan_out(std::slice::from_ref(&d), position)
        .await
        .expect("fan out");
    assert_eq!(
        store.get_delivery("up-1").await.expect("get"),
        Some(d.clone())
    );

    let mut tried = d.clone();
    tried.tries = 2;
    tried.attempts = vec![
        Attempt {
            at: t(10),
            status_code: Some(503),
            error: None,
            duration_ms: 120,
        },
        Attempt {
            at: t(20),
            status_code: None,
            error: Some("connection refused".to_owned()),
            duration_ms: 0,
        },
    ];
    tried.next_attempt_at = Some(t(80));
    tried.updated_at = t(20);
    store.update_delivery(&tried).await.expect("update");
    assert_eq!(
        store.get_delivery("up-1").await.expect("get"),
        Some(tried.clone())
    );

    let mut done = tried.clone();
    done.status = Delivered;
    done.tries = u32::MAX;
    done.attempts.push(Attempt {
        at: t(80),
        status_code: Some(204),
        error: None,
        duration_ms: u64::from(u32::MAX) + 1,
    });
    done.next_attempt_at = None;
    done.updated_at = t(81);
    let mut sent = done.clone();
    sent.payload = serde_json::json!({ "changed": true });
    sent.channel_id = "ch_up_other".to_owned();
    sent.ordering_key = "up-other".to_owned();
    sent.position = 99;
    sent.created_at = t(99);
    store.update_delivery(&sent).await.expect("update");
    assert_eq!(
        store.get_delivery("up-1").await.expect("get"),
        Some(done),
        "only the mutable fields change"
    );

    let unknown = delivery("up-none", "ch_up", "up-k", 8, None, t(0));
    let r = store.update_delivery(&unknown).await;
    assert!(matches!(r, Err(Error::Conflict(_))), "unknown id: {r:?}");
    assert_eq!(store.get_delivery("up-none").await.expect("get"), None);
}

/// Deliveries are listed newest position first (ties by id, descending),
/// filtered by status and channel, every row once across pages.
pub async fn deliveries_list_filters_and_paging(store: &dyn Store) {
    let t = |ms| at(2015, ms);
    let made: [(&str, &str, i64, DeliveryStatus); 7] = [
        ("ls-01", "ch_ls_a", 1, Pending),
        ("ls-02", "ch_ls_b", 1, Delivered),
        ("ls-03", "ch_ls_a", 2, Failed),
        ("ls-04", "ch_ls_a", 3, Delivered),
        ("ls-05", "ch_ls_b", 3, Pending),
        ("ls-06", "ch_ls_a", 3, Pending),
        ("ls-07", "ch_ls_b", 4, Failed),
    ];
    let ds: Vec<Delivery> = made
        .iter()
        .map(|(id, channel, position, status)| {
            let mut d = delivery(id, channel, "ls-k", *position, None, t(0));
            d.status = *status;
            d.next_attempt_at = (*status == Pending).then(|| t(1000));
            d
        })
        .collect();
    let position = store.fanout_position().await.expect("position");
    store.fan_out(&ds, position).await.expect("fan out");

    let list = |status: Option<DeliveryStatus>, channel: Option<&'static str>, limit| {
        all_pages(move |c| async move {
            store
                .list_deliveries(status, channel, c.as_deref(), limit)
                .await
        })
    };
    let ours = |items: Vec<Delivery>| -> Vec<String> {
        items
            .into_iter()
            .map(|d| d.id)
            .filter(|id| id.starts_with("ls-"))
            .collect()
    };
    let everything = list(None, None, 2).await;
    assert!(
        everything
            .windows(2)
            .all(|w| (w[0].position, &w[0].id) > (w[1].position, &w[1].id)),
        "newest first, no repeats"
    );
    assert!(everything.contains(&ds[0]), "whole rows");
    assert_eq!(
        ours(everything),
        [
            "ls-07", "ls-06", "ls-05", "ls-04", "ls-03", "ls-02", "ls-01"
        ]
    );
    assert_eq!(
        ours(list(None, Some("ch_ls_a"), 2).await),
        ["ls-06", "ls-04", "ls-03", "ls-01"]
    );
    let sizes = page_sizes(|c| async move {
        store
            .list_deliveries(None, Some("ch_ls_a"), c.as_deref(), 2)
            .await
    })
    .await;
    assert_eq!(sizes, [2, 2], "a full last page has no cursor");
    assert_eq!(
        ours(list(None, Some("ch_ls_b"), 10).await),
        ["ls-07", "ls-05", "ls-02"]
    );
    assert_eq!(
        ours(list(Some(Pending), None, 1).await),
        ["ls-06", "ls-05", "ls-01"]
    );
    assert_eq!(
        ours(list(Some(Failed), Some("ch_ls_b"), 1).await),
        ["ls-07"]
    );
    assert_eq!(
        ours(list(Some(Delivered), Some("ch_ls_a"), 5).await),
        ["ls-04"]
    );
    let sizes = page_sizes(|c| async move {
        store
            .list_deliveries(None, Some("ch_ls_none"), c.as_deref(), 2)
            .await
    })
    .await;
    assert_eq!(sizes, [0]);

    let mut bad = ["d:x|ls-01", "d:3", "3|ls-01", "d:|"]
        .map(str::to_owned)
        .to_vec();
    // A cursor of another list is refused too.
    bad.extend(store.events(None, 1).await.expect("events").next_cursor);
    for bad in bad {
        let r = store.list_deliveries(None, None, Some(&bad), 10).await;
        assert!(matches!(r, Err(Error::InvalidCursor)), "cursor {bad:?}");
    }
    settle(store, &["ls-01", "ls-05", "ls-06"]).await;
}

/// `next_delivery_due` is the earliest due time of a pending delivery,
/// ignoring delivered and failed ones. Expects no other pending deliveries.
pub async fn next_delivery_due_is_earliest_pending(store: &dyn Store) {
    let t = |ms| at(2016, ms);
    assert_eq!(store.next_delivery_due().await.expect("next"), None);
    let late = delivery("nd-1", "ch_nd", "nd-a", 1, Some(t(300)), t(0));
    let soon = delivery("nd-2", "ch_nd", "nd-b", 2, Some(t(100)), t(0));
    let mut failed = delivery("nd-3", "ch_nd", "nd-c", 3, Some(t(10)), t(0));
    failed.status = Failed;
    let mut delivered = delivery("nd-4", "ch_nd", "nd-d", 4, Some(t(5)), t(0));
    delivered.status = Delivered;
    let position = store.fanout_position().await.expect("position");
    store
        .fan_out(&[late.clone(), soon.clone(), failed, delivered], position)
        .await
        .expect("fan out");
    assert_eq!(store.next_delivery_due().await.expect("next"), Some(t(100)));
    assert_eq!(due_ids(store, t(1000), "nd-").await, ["nd-2", "nd-1"]);

    let mut done = soon;
    done.status = Delivered;
    done.next_attempt_at = None;
    store.update_delivery(&done).await.expect("deliver");
    assert_eq!(store.next_delivery_due().await.expect("next"), Some(t(300)));
    let mut sooner = late;
    sooner.next_attempt_at = Some(t(50));
    store.update_delivery(&sooner).await.expect("reschedule");
    assert_eq!(store.next_delivery_due().await.expect("next"), Some(t(50)));
    settle(store, &["nd-1"]).await;
    assert_eq!(store.next_delivery_due().await.expect("next"), None);
}
