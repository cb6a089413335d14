//! Distributed mode over a real Kafka-compatible broker (Tansu): `agusto
//! ingest` and `agusto worker` as separate processes sharing one store,
//! each scenario run twice: on a SQLite file and on the CQL test bed
//! (Cassandra 2.1 through the ScyllaDB store).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cluster::{Backend, Broker, Cluster, wait_for_partitions};
use crate::common::{ADMIN, all_orders};

#[tokio::test]
async fn the_seed_workflow_runs_through_separate_ingest_and_worker_processes() {
    seed_workflow(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_seed_workflow_runs_on_the_scylla_store() {
    seed_workflow(Backend::Scylla).await;
}

#[tokio::test]
async fn two_stock_workers_share_partitions_and_one_can_die_under_load() {
    race_and_kill(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_race_and_a_killed_stock_worker_on_the_scylla_store() {
    race_and_kill(Backend::Scylla).await;
}

/// A receipt with an `Idempotency-Key` over the log (its claim and its
/// parts as Avro commands, recorded by the store), and a compare-and-set.
async fn keyed_stock_changes(api: &crate::common::Server) {
    let codes: Vec<String> = (2..8).map(|i| format!("KF-{i}")).collect();
    for c in &codes {
        api.product(c, 0).await;
    }
    let lines = |q: i64| -> Vec<Value> {
        codes
            .iter()
            .map(|c| json!({"product_code": c, "quantity": q}))
            .collect()
    };
    let key = [("Idempotency-Key", "po-kafka-1")];
    let body = json!({"reference": "PO-KF", "lines": lines(4)});
    let first = api
        .post_with("/api/v1/stock/receipts", ADMIN, &key, body.clone())
        .await;
    assert_eq!(first.status, 201, "{first:?}");
    let again = api
        .post_with("/api/v1/stock/receipts", ADMIN, &key, body)
        .await;
    assert_eq!((again.status.as_u16(), &again.body), (200, &first.body));
    let other = json!({"reference": "PO-KF", "lines": lines(5)});
    api.post_with("/api/v1/stock/receipts", ADMIN, &key, other)
        .await
        .assert_problem(409, "conflict");
    for c in &codes {
        assert_eq!(api.levels(c).await, (4, 0), "{c} received once");
    }
    let stale =
        json!({"product_code": "KF-2", "delta": 1, "reason": "count", "expected_version": 0});
    let r = api.post("/api/v1/stock/adjustments", ADMIN, stale).await;
    r.assert_problem(409, "conflict");
    assert_eq!(r.body["current_version"], 1, "{r:?}");
}

async fn seed_workflow(backend: Backend) {
    let broker = Broker::start();
    let Some(cluster) = Cluster::new("kafka-seed", &broker, backend) else {
        return;
    };
    let worker = cluster.launch(&["worker", "all"]);
    let api = cluster.launch(&["ingest"]);
    wait_for_partitions(&worker, "agusto-stock-writers").await;
    wait_for_partitions(&worker, "agusto-order-writers").await;

    api.product("KF-1", 10).await;
    let (_, token) = api.channel("Kafka Toko", json!({})).await;
    let o = api.order(&token, "kf-1", &[("KF-1", 3)]).await;
    assert_eq!(o.status, 201, "{o:?}");
    let id = o.body["id"].as_str().unwrap().to_owned();
    let paid = api
        .call(
            Method::PATCH,
            &format!("/api/v1/orders/{id}/paid"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(paid.body["status"], "pending_approval", "{paid:?}");
    for step in ["pick", "pack"] {
        assert_eq!(
            api.post(&format!("/api/v1/orders/{id}/{step}"), ADMIN, json!({}))
                .await
                .status,
            200
        );
    }
    let done = api
        .post(
            &format!("/api/v1/orders/{id}/complete"),
            ADMIN,
            json!({"tracking_number": "SICEPAT-1"}),
        )
        .await;
    assert_eq!(done.body["status"], "dispatched", "{done:?}");
    assert_eq!(api.levels("KF-1").await, (7, 0));
    api.order(&token, "kf-2", &[("KF-1", 8)])
        .await
        .assert_problem(422, "insufficient_stock");
    let h = api
        .get(&format!("/api/v1/orders/{id}/status"), &token)
        .await;
    assert_eq!(h.body["history"].as_array().unwrap().len(), 5);
    keyed_stock_changes(&api).await;
    let metrics = worker.metrics().await;
    assert!(
        metrics.contains("agusto_consumer_lag") || metrics.contains("agusto_rebalances_total"),
        "{metrics}"
    );
    assert_eq!(
        api.raw(Method::GET, "/readyz")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Without the broker the ingress is alive but not ready.
    drop(broker);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = api.raw(Method::GET, "/readyz").send().await.unwrap();
        if r.status() == 503 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz stayed {} without a broker",
            r.status()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        api.raw(Method::GET, "/healthz")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    drop((api, worker));
    let (code, out) = cluster.ledger_verify();
    assert_eq!(code, 0, "{out}");
}

async fn race_and_kill(backend: Backend) {
    let broker = Broker::start();
    let Some(cluster) = Cluster::new("kafka-scale", &broker, backend) else {
        return;
    };
    let stock_a = cluster.launch(&["worker", "stock"]);
    let stock_b = cluster.launch(&["worker", "stock"]);
    let orders = cluster.launch(&["worker", "orders"]);
    let api = cluster.launch(&["ingest"]);
    wait_for_partitions(&stock_a, "agusto-stock-writers").await;
    wait_for_partitions(&stock_b, "agusto-stock-writers").await;
    wait_for_partitions(&orders, "agusto-order-writers").await;

    // The 200-way race still sells exactly the stock.
    api.product("KR-HOT", 5).await;
    let (_, token) = api.channel("Race", json!({})).await;
    let replies = join_all((0..200).map(|i| {
        let (api, token) = (&api, &token);
        async move {
            api.order(token, &format!("race-{i}"), &[("KR-HOT", 1)])
                .await
                .status
                .as_u16()
        }
    }))
    .await;
    assert_eq!(
        replies.iter().filter(|s| **s == 201).count(),
        5,
        "{replies:?}"
    );
    assert_eq!(
        replies.iter().filter(|s| **s == 422).count(),
        195,
        "{replies:?}"
    );
    assert_eq!(api.levels("KR-HOT").await, (5, 5));

    // Orders over many products while one stock worker is killed.
    let products: Vec<String> = (0..12).map(|i| format!("KL-{i}")).collect();
    for p in &products {
        api.product(p, 10_000).await;
    }
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = (0..8).map(|w| {
        let (api, token, acked, products, stop) =
            (&api, &token, acked.clone(), &products, stop.clone());
        async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let p = &products[(w + i) % products.len()];
                let r = api.order(token, &format!("load-{w}-{i}"), &[(p, 1)]).await;
                if r.status == 201 {
                    acked
                        .lock()
                        .unwrap()
                        .push((r.body["id"].as_str().unwrap().to_owned(), p.clone()));
                }
                i += 1;
            }
        }
    });
    let chaos = async {
        while acked.lock().unwrap().len() < 50 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stock_a.kill9();
        let before = acked.lock().unwrap().len();
        // The survivor takes over the dead worker's partitions and orders flow again.
        let deadline = Instant::now() + Duration::from_secs(90);
        while acked.lock().unwrap().len() < before + 100 {
            assert!(
                Instant::now() < deadline,
                "orders did not resume after a stock worker died"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    tokio::join!(join_all(load), chaos);

    let acked = acked.lock().unwrap().clone();
    let mut per_product: HashMap<String, i64> = HashMap::new();
    for (id, p) in &acked {
        let o = api.get(&format!("/api/v1/orders/{id}"), ADMIN).await;
        assert_eq!(o.status, 200, "acknowledged order {id} lost");
        *per_product.entry(p.clone()).or_default() += 1;
    }
    // Every stored order (acknowledged or not) holds exactly its units once.
    let stored: Vec<Value> = all_orders(&api).await;
    let mut held: HashMap<String, i64> = HashMap::new();
    for o in stored.iter().filter(|o| {
        o["lines"][0]["product_code"]
            .as_str()
            .unwrap()
            .starts_with("KL-")
    }) {
        *held
            .entry(o["lines"][0]["product_code"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    for p in &products {
        let (on_hand, reserved) = api.levels(p).await;
        assert_eq!(on_hand, 10_000);
        assert_eq!(
            reserved,
            held.get(p).copied().unwrap_or(0),
            "{p}: reserved differs from stored orders"
        );
        assert!(reserved >= per_product.get(p).copied().unwrap_or(0));
    }
    drop((api, orders, stock_b));
    let (code, out) = cluster.ledger_verify();
    assert_eq!(code, 0, "{out}");
}
