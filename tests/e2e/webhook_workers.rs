//! Several `agusto worker webhooks` processes against one store (SQLite
//! file or the CQL test bed), one receiver: each attempt is made by one
//! worker (never two requests of one delivery in flight at once), every
//! event arrives once, per-product order holds, and a worker killed in the
//! middle of attempts hands them to another once their leases run out.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cluster::{Backend, Broker, Cluster, wait_for_partitions};
use crate::common::{ADMIN, Server};
use crate::receiver::{Arrival, Receiver};

const WAIT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn three_webhook_workers_share_the_deliveries_on_sqlite() {
    workers_share_the_deliveries(Backend::Sqlite, 3).await;
}

#[tokio::test]
async fn three_webhook_workers_share_the_deliveries_on_the_scylla_store() {
    workers_share_the_deliveries(Backend::Scylla, 3).await;
}

#[tokio::test]
async fn a_killed_webhook_worker_hands_its_deliveries_over_on_sqlite() {
    a_killed_worker_hands_over(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_killed_webhook_worker_hands_its_deliveries_over_on_the_scylla_store() {
    a_killed_worker_hands_over(Backend::Scylla).await;
}

/// The cluster's processes, with webhook settings for the test.
fn cluster(name: &str, broker: &Broker, backend: Backend, timeout_ms: u64) -> Option<Cluster> {
    let mut cluster = Cluster::new(name, broker, backend)?;
    cluster.env.extend([
        ("AGUSTO_WEBHOOK_BACKOFF_BASE_MS".to_owned(), "50".to_owned()),
        (
            "AGUSTO_WEBHOOK_TIMEOUT_MS".to_owned(),
            timeout_ms.to_string(),
        ),
        (
            "AGUSTO_WEBHOOK_LEASE_MS".to_owned(),
            (timeout_ms + 1000).to_string(),
        ),
    ]);
    Some(cluster)
}

/// (product_code, version) of a stock.changed body.
fn change(body: &Value) -> (String, i64) {
    (
        body["data"]["product_code"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
        body["data"]["version"].as_i64().unwrap_or(-1),
    )
}

/// The value of a counter line of a worker's /metrics.
async fn counter(worker: &Server, line_start: &str) -> f64 {
    worker
        .metrics()
        .await
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// The deliveries of a status, once there are `n` (polls with a deadline).
async fn deliveries(api: &Server, status: &str, n: usize) -> Vec<Value> {
    let path = format!("/api/v1/webhooks/deliveries?status={status}&limit=200");
    let deadline = Instant::now() + WAIT;
    loop {
        let items = api.get(&path, ADMIN).await.body["items"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if items.len() >= n {
            return items;
        }
        assert!(
            Instant::now() < deadline,
            "{} {status} deliveries of {n}",
            items.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn workers_share_the_deliveries(backend: Backend, workers: usize) {
    let broker = Broker::start();
    let Some(cluster) = cluster("hook-workers", &broker, backend, 5000) else {
        return;
    };
    let stock = cluster.launch(&["worker", "stock"]);
    let hooks: Vec<Server> = (0..workers)
        .map(|_| cluster.launch(&["worker", "webhooks"]))
        .collect();
    let api = cluster.launch(&["ingest"]);
    wait_for_partitions(&stock, "agusto-stock-writers").await;

    // Every answer takes a while (attempts overlap if two workers make
    // one), and the first attempt of every event fails, so its retry is up
    // for grabs by any worker.
    let rx = Receiver::start(200).await;
    rx.delay(Duration::from_millis(150));
    let first_seen: Arc<Mutex<HashSet<String>>> = Arc::default();
    rx.rule(move |body| {
        let id = body["id"].as_str().unwrap_or("").to_owned();
        first_seen.lock().unwrap().insert(id).then_some(500)
    });
    api.channel("Toko Ramai", json!({"webhook_url": rx.url}))
        .await;
    let products: Vec<String> = (1..=6).map(|i| format!("HW-{i}")).collect();
    for p in &products {
        api.product(p, 0).await;
    }
    for round in 1..=3 {
        for p in &products {
            let r = api
                .post(
                    "/api/v1/stock/receipts",
                    ADMIN,
                    json!({"reference": format!("PO-{round}"), "lines": [{"product_code": p, "quantity": round}]}),
                )
                .await;
            assert_eq!(r.status, 201, "{r:?}");
        }
    }
    let events = products.len() * 3;
    let got = rx
        .wait_for(WAIT, |g| {
            g.iter().filter(|r| r.answered == 200).count() >= events
        })
        .await;

    assert_eq!(
        rx.overlapping(),
        Vec::<String>::new(),
        "one attempt at a time per delivery"
    );
    let mut per_id: HashMap<&str, Vec<u16>> = HashMap::new();
    for r in &got {
        per_id.entry(r.id.as_str()).or_default().push(r.answered);
    }
    assert_eq!(per_id.len(), events, "every event arrived");
    for (id, answers) in &per_id {
        assert_eq!(
            answers,
            &[500, 200],
            "{id}: attempted once per round, delivered once"
        );
    }
    // Per product, attempts arrive in version order: a later version only
    // after the earlier one was delivered.
    let mut by_product: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for a in rx.arrivals() {
        let (product, version) = change(&a.json);
        by_product.entry(product).or_default().push(version);
    }
    for (product, versions) in &by_product {
        assert_eq!(versions, &[1, 1, 2, 2, 3, 3], "{product}");
    }
    let delivered = deliveries(&api, "delivered", events).await;
    assert_eq!(delivered.len(), events);
    for d in &delivered {
        let codes: Vec<i64> = d["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["status_code"].as_i64().unwrap_or(0))
            .collect();
        assert_eq!(codes, [500, 200], "each attempt recorded once: {d}");
    }
    let mut busy = 0;
    for w in &hooks {
        if counter(w, "agusto_webhook_claims_total{outcome=\"won\"}").await > 0.0 {
            busy += 1;
        }
    }
    assert!(
        busy >= 2,
        "the work was shared: {busy} of {workers} workers attempted"
    );
    drop((api, hooks, stock));
}

async fn a_killed_worker_hands_over(backend: Backend) {
    let broker = Broker::start();
    // Attempts of the first worker hang in the receiver far longer than the
    // test takes to kill it: its leases (11 s) are what the second waits for.
    let Some(cluster) = cluster("hook-kill", &broker, backend, 10_000) else {
        return;
    };
    let stock = cluster.launch(&["worker", "stock"]);
    let first = cluster.launch(&["worker", "webhooks"]);
    let api = cluster.launch(&["ingest"]);
    wait_for_partitions(&stock, "agusto-stock-writers").await;
    let rx = Receiver::start(200).await;
    rx.hold();
    api.channel("Toko Sepi", json!({"webhook_url": rx.url}))
        .await;
    let products = ["HK-1", "HK-2", "HK-3"];
    for p in products {
        api.product(p, 1).await;
    }
    let deadline = Instant::now() + WAIT;
    while rx.held() < products.len() {
        assert!(
            Instant::now() < deadline,
            "held {} of {}",
            rx.held(),
            products.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let held: Vec<Arrival> = rx.arrivals();
    assert_eq!(held.len(), products.len(), "{held:?}");

    // A second worker sees every delivery claimed: it attempts none.
    let second = cluster.launch(&["worker", "webhooks"]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(rx.arrivals().len(), products.len(), "no attempt while held");

    let killed_at = Instant::now();
    first.kill9();
    // The held requests end (their sender is gone); none reached a worker.
    rx.release(503);
    let got = rx
        .wait_for(WAIT, |g| {
            g.iter().filter(|r| r.answered == 200).count() == products.len()
        })
        .await;
    assert_eq!(rx.overlapping(), Vec::<String>::new());
    for h in &held {
        let retried: Vec<_> = got
            .iter()
            .filter(|r| r.id == h.id && r.answered == 200)
            .collect();
        assert_eq!(retried.len(), 1, "{}: delivered once after the kill", h.id);
        assert!(retried[0].arrived > killed_at, "by the surviving worker");
    }
    let delivered = deliveries(&api, "delivered", products.len()).await;
    for d in &delivered {
        let attempts = d["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "the dead worker recorded nothing: {d}");
        assert_eq!(attempts[0]["status_code"], 200);
    }
    assert!(counter(&second, "agusto_webhook_claims_total{outcome=\"won\"}").await >= 3.0);
    drop((api, second, stock));
}
