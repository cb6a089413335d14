//! A stock worker that becomes a zombie under Kafka: it decided a batch, then
//! stalled past `max.poll.interval.ms` (fault injection: its first store
//! write waits 20 s), so the group gave its partitions to the other worker.
//! The new owner claims the partitions, replays and answers; when the zombie
//! wakes, its write is refused (fencing), nothing is applied twice, and the
//! ledger verifies.

use std::time::{Duration, Instant};

use futures::future::join_all;

use crate::cluster::{Backend, Broker, Cluster, wait_for_partitions};
use crate::common::Server;

/// The sum of a worker's samples whose line starts with `name` and
/// contains every one of `labels`.
async fn metric(worker: &Server, name: &str, labels: &[&str]) -> f64 {
    worker
        .metrics()
        .await
        .lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// `agusto_writer_fenced_total` of a worker.
async fn fenced(worker: &Server) -> f64 {
    metric(worker, "agusto_writer_fenced_total", &[]).await
}

/// Places an order again (same external id) until it is answered 200 or
/// 201, failing after `deadline`.
async fn settle(api: &Server, token: &str, id: &str, lines: &[(&str, i64)], deadline: Instant) {
    loop {
        let r = api.order(token, id, lines).await;
        if r.status == 200 || r.status == 201 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never settled: {}",
            r.status
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A stock worker whose first store write waits 20 s (fault injection).
fn launch_stalling_stock_worker(cluster: &Cluster) -> Server {
    let mut env = cluster.env.clone();
    env.push((
        "AGUSTO_FAULT_FIRST_STOCK_WRITE_PAUSE_MS".into(),
        "20000".into(),
    ));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let args: Vec<String> = ["worker", "stock"].iter().map(|s| s.to_string()).collect();
    Server::launch(&args, &cluster.dir, &env, true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zombie_stock_worker_is_fenced_after_its_partitions_moved() {
    let broker = Broker::start();
    let Some(cluster) = Cluster::new("kafka-zombie", &broker, Backend::Sqlite) else {
        return;
    };
    let stock_b = cluster.launch(&["worker", "stock"]);
    let orders = cluster.launch(&["worker", "orders"]);
    let api = cluster.launch(&["ingest"]);
    wait_for_partitions(&stock_b, "agusto-stock-writers").await;
    wait_for_partitions(&orders, "agusto-order-writers").await;
    let products: Vec<String> = (0..12).map(|i| format!("KZ-{i}")).collect();
    for p in &products {
        api.product(p, 10).await;
    }
    let (_, token) = api.channel("Zombie", serde_json::json!({})).await;

    // The zombie-to-be joins and takes some partitions from B.
    let stock_a = launch_stalling_stock_worker(&cluster);
    wait_for_partitions(&stock_a, "agusto-stock-writers").await;

    // One order per product: those of A's partitions stall in A, then B
    // answers them after the rebalance (or the ingress says 202 and a
    // retry settles them).
    let placed = join_all(products.iter().map(|p| {
        let (api, token) = (&api, &token);
        async move {
            api.order(token, &format!("z-{p}"), &[(p, 1)])
                .await
                .status
                .as_u16()
        }
    }))
    .await;
    assert!(placed.iter().all(|s| *s == 201 || *s == 202), "{placed:?}");
    let deadline = Instant::now() + Duration::from_secs(90);
    for p in &products {
        settle(&api, &token, &format!("z-{p}"), &[(p, 1)], deadline).await;
    }
    // The zombie woke up and its write was refused.
    while fenced(&stock_a).await < 1.0 {
        assert!(
            Instant::now() < deadline,
            "the zombie's write was not fenced"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Each order holds its unit once, and the ledger agrees.
    for p in &products {
        assert_eq!(api.levels(p).await, (10, 1), "{p}");
    }
    drop((api, orders, stock_a, stock_b));
    let (code, out) = cluster.ledger_verify();
    assert_eq!(code, 0, "{out}");
}

/// Orders spanning every stock partition, placed while the only stock
/// worker stalls (its first write waits 20 s, past its poll interval, so
/// the group evicts it and it comes back): their sagas resume from what
/// was stored, and each settles exactly once — levels exact, ledger clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spanning_orders_survive_a_stalled_and_evicted_stock_worker() {
    let broker = Broker::start();
    let Some(cluster) = Cluster::new("kafka-slow", &broker, Backend::Sqlite) else {
        return;
    };
    let healthy = cluster.launch(&["worker", "stock"]);
    let api = cluster.launch(&["ingest"]);
    wait_for_partitions(&healthy, "agusto-stock-writers").await;
    // Eight products: an order of all of them spans stock partitions, so it
    // runs as a saga homed at its id's partition.
    let products: Vec<String> = (0..8).map(|i| format!("KS-{i}")).collect();
    for p in &products {
        api.product(p, 10).await;
    }
    let (_, token) = api.channel("Slow", serde_json::json!({})).await;
    let lines: Vec<(&str, i64)> = products.iter().map(|p| (p.as_str(), 1)).collect();
    assert_eq!(api.order(&token, "slow-0", &lines).await.status, 201);

    // The only stock worker from now on stalls on its first write.
    let slow = launch_stalling_stock_worker(&cluster);
    drop(healthy);
    wait_for_partitions(&slow, "agusto-stock-writers").await;
    let stalled = api.order(&token, "slow-1", &lines).await;
    assert!(
        [201, 202, 503].contains(&stalled.status.as_u16()),
        "{}",
        stalled.status
    );

    // Orders settle once the stock side is back.
    let deadline = Instant::now() + Duration::from_secs(120);
    for id in ["slow-1", "slow-2"] {
        settle(&api, &token, id, &lines, deadline).await;
    }
    for p in &products {
        assert_eq!(
            api.levels(p).await,
            (10, 3),
            "{p}: three orders hold one unit each"
        );
    }
    drop((api, slow));
    let (code, out) = cluster.ledger_verify();
    assert_eq!(code, 0, "{out}");
}
