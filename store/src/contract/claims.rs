//! Delivery claims: any number of webhook workers share the deliveries, each
//! attempt is made by one of them, a queue goes out in order, and a dead
//! worker's delivery is taken over once its lease runs out. Each scenario
//! leaves none of its deliveries pending.

use agusto_schemas::Timestamp;

use super::fixtures::{at, delivery};
use crate::DeliveryStatus::{Delivered, Failed};
use crate::{Attempt, Delivery, Error, Lease, Store};

fn lease(holder: &str, until: Timestamp) -> Lease {
    Lease {
        holder: holder.to_owned(),
        until,
    }
}

/// Ids of the deliveries due at `now` whose id starts with `prefix`.
async fn due_ids(store: &dyn Store, now: Timestamp, prefix: &str) -> Vec<String> {
    let due = store.due_deliveries(now, 1000).await.expect("due");
    due.into_iter()
        .map(|d| d.id)
        .filter(|id| id.starts_with(prefix))
        .collect()
}

/// `d` after an attempt at `t` answered `code`: delivered on a 2xx, else
/// pending again until `next`.
fn attempted(d: &Delivery, t: Timestamp, code: u16, next: Timestamp) -> Delivery {
    let mut d = d.clone();
    d.tries += 1;
    d.attempts.push(Attempt {
        at: t,
        status_code: Some(code),
        error: None,
        duration_ms: 5,
    });
    if (200..300).contains(&code) {
        d.status = Delivered;
        d.next_attempt_at = None;
    } else {
        d.next_attempt_at = Some(next);
    }
    d.updated_at = t;
    d
}

/// A claim needs a pending, due, unleased queue head; a held delivery is
/// not due and not claimable until its lease runs out; of many claims at
/// once one wins; only the holder records the attempt, once; the next
/// delivery of the queue waits for it; `update_delivery` releases a lease.
pub async fn delivery_claims_are_exclusive_and_expire(store: &dyn Store) {
    let t = |ms| at(2017, ms);
    let first = delivery("cl-1", "ch_cl", "cl-k", 10, Some(t(100)), t(0));
    let second = delivery("cl-2", "ch_cl", "cl-k", 20, Some(t(100)), t(0));
    let other = delivery("cl-3", "ch_cl", "cl-j", 30, Some(t(500)), t(0));
    let position = store.fanout_position().await.expect("position");
    store
        .fan_out(&[first.clone(), second.clone(), other.clone()], position)
        .await
        .expect("fan out");

    let a = lease("worker-a#1", t(1200));
    assert_eq!(
        store
            .claim_delivery("cl-1", &a, t(50))
            .await
            .expect("claim"),
        None,
        "not due yet"
    );
    assert_eq!(
        store
            .claim_delivery("cl-2", &a, t(200))
            .await
            .expect("claim"),
        None,
        "not the head of its queue"
    );
    assert_eq!(
        store
            .claim_delivery("cl-none", &a, t(200))
            .await
            .expect("claim"),
        None
    );
    let claimed = store
        .claim_delivery("cl-1", &a, t(200))
        .await
        .expect("claim");
    assert_eq!(claimed.as_ref(), Some(&first), "the delivery as stored");
    assert_eq!(
        store.get_delivery("cl-1").await.expect("get").as_ref(),
        Some(&first),
        "a claim changes none of the delivery's fields"
    );
    let b = lease("worker-b#1", t(2300));
    assert_eq!(
        store
            .claim_delivery("cl-1", &b, t(300))
            .await
            .expect("claim"),
        None,
        "held by worker a"
    );
    assert_eq!(
        due_ids(store, t(600), "cl-").await,
        ["cl-3"],
        "a held delivery is not due; the next of its queue waits"
    );

    // Many workers at once: one wins.
    let leases: Vec<Lease> = (0..6)
        .map(|n| lease(&format!("racer-{n}#1"), t(900)))
        .collect();
    let claims = futures::future::join_all(
        leases
            .iter()
            .map(|l| store.claim_delivery("cl-3", l, t(600))),
    )
    .await;
    let winners: Vec<&Lease> = claims
        .iter()
        .zip(&leases)
        .filter_map(|(c, l)| c.as_ref().expect("claim").as_ref().map(|_| l))
        .collect();
    assert_eq!(winners.len(), 1, "{claims:?}");
    let winner = winners[0].holder.clone();
    // A manual change releases the winner's lease.
    let mut settled = other.clone();
    settled.status = Delivered;
    settled.next_attempt_at = None;
    store.update_delivery(&settled).await.expect("settle");
    let mut from_winner = other.clone();
    from_winner.status = Failed;
    assert!(
        !store
            .finish_delivery(&from_winner, &winner)
            .await
            .expect("finish"),
        "a manual change releases the lease"
    );
    assert_eq!(
        store.get_delivery("cl-3").await.expect("get"),
        Some(settled)
    );

    // Worker a dies; once its lease has run out, cl-1 is due again and b
    // takes it over.
    let late = attempted(&first, t(1250), 200, t(0));
    assert!(
        !store
            .finish_delivery(&late, "worker-b#1")
            .await
            .expect("finish"),
        "b holds nothing yet"
    );
    assert_eq!(due_ids(store, t(1100), "cl-").await, Vec::<String>::new());
    assert_eq!(
        due_ids(store, t(1250), "cl-").await,
        ["cl-1"],
        "a lapsed lease"
    );
    let taken = store
        .claim_delivery("cl-1", &b, t(1300))
        .await
        .expect("claim");
    assert_eq!(taken.map(|d| d.id).as_deref(), Some("cl-1"));
    assert!(
        !store
            .finish_delivery(&late, "worker-a#1")
            .await
            .expect("finish"),
        "a's lease was taken over: its result is dropped"
    );
    assert_eq!(
        store.get_delivery("cl-1").await.expect("get"),
        Some(first.clone())
    );

    let retry = attempted(&first, t(1400), 503, t(2000));
    assert!(
        store
            .finish_delivery(&retry, "worker-b#1")
            .await
            .expect("finish")
    );
    assert_eq!(
        store.get_delivery("cl-1").await.expect("get"),
        Some(retry.clone())
    );
    assert!(
        !store
            .finish_delivery(&retry, "worker-b#1")
            .await
            .expect("finish"),
        "recording released the lease"
    );
    let c = lease("worker-c#1", t(3000));
    assert_eq!(
        store
            .claim_delivery("cl-1", &c, t(1500))
            .await
            .expect("claim"),
        None,
        "not due again before its retry time"
    );
    assert_eq!(due_ids(store, t(1500), "cl-").await, Vec::<String>::new());
    assert_eq!(due_ids(store, t(2000), "cl-").await, ["cl-1"]);

    let claimed = store
        .claim_delivery("cl-1", &c, t(2000))
        .await
        .expect("claim");
    assert_eq!(claimed.as_ref(), Some(&retry));
    let done = attempted(&retry, t(2010), 204, t(0));
    assert!(
        store
            .finish_delivery(&done, "worker-c#1")
            .await
            .expect("finish")
    );
    assert_eq!(
        due_ids(store, t(2020), "cl-").await,
        ["cl-2"],
        "the next of the queue, once the head is delivered"
    );
    let next = store
        .claim_delivery("cl-2", &c, t(2020))
        .await
        .expect("claim");
    assert_eq!(next.as_ref(), Some(&second));
    let mut dead = attempted(&second, t(2030), 500, t(0));
    dead.status = Failed;
    dead.next_attempt_at = None;
    assert!(
        store
            .finish_delivery(&dead, "worker-c#1")
            .await
            .expect("finish")
    );
    assert_eq!(store.get_delivery("cl-2").await.expect("get"), Some(dead));

    let unknown = delivery("cl-none", "ch_cl", "cl-k", 99, None, t(0));
    let r = store.finish_delivery(&unknown, "worker-c#1").await;
    assert!(matches!(r, Err(Error::Conflict(_))), "unknown id: {r:?}");
    assert_eq!(due_ids(store, t(9000), "cl-").await, Vec::<String>::new());
}

/// A queue's head stays right while deliveries are added to it (fan-out)
/// and its head is recorded (a worker) at the same moment: after each
/// round, exactly the newest delivery is due.
pub async fn queue_heads_survive_concurrent_changes(store: &dyn Store) {
    let t = |ms| at(2018, ms);
    let rounds = 8;
    let make = |n: i64| {
        delivery(
            &format!("qc-{n}"),
            "ch_qc",
            "qc-k",
            n + 1,
            Some(t(10)),
            t(0),
        )
    };
    let position = store.fanout_position().await.expect("position");
    store.fan_out(&[make(0)], position).await.expect("fan out");
    for n in 1..=rounds {
        let head = make(n - 1);
        let holder = format!("qc-worker#{n}");
        let claimed = store
            .claim_delivery(&head.id, &lease(&holder, t(60_000)), t(20))
            .await
            .expect("claim");
        assert_eq!(claimed.as_ref(), Some(&head), "round {n}");
        let done = attempted(&head, t(30), 200, t(0));
        let added = [make(n)];
        let (finished, added) = futures::join!(
            store.finish_delivery(&done, &holder),
            store.fan_out(&added, position)
        );
        assert!(finished.expect("finish"), "round {n}");
        added.expect("fan out");
        assert_eq!(
            due_ids(store, t(40), "qc-").await,
            [format!("qc-{n}")],
            "round {n}: the added delivery heads the queue"
        );
    }
    let mut last = make(rounds);
    last.status = Delivered;
    last.next_attempt_at = None;
    store.update_delivery(&last).await.expect("settle");
    assert_eq!(due_ids(store, t(40), "qc-").await, Vec::<String>::new());
    assert!(
        store
            .get_delivery(&format!("qc-{rounds}"))
            .await
            .expect("get")
            .is_some_and(|d| d.status == Delivered && d.position == rounds + 1)
    );
}
