//! A rolling upgrade: ingress processes of the previous release still
//! append order commands to `agusto.order.commands`. `agusto worker orders`
//! forwards them to the orders' home stock partitions and relays the
//! answers, so the old ingress keeps working until it is replaced.

use std::time::Duration;

use agusto_bus::Bus;
use agusto_bus::kafka::{KafkaBus, KafkaSettings, Replies};
use agusto_schemas::{
    NewOrder, OrderAction, OrderCommand, OrderLine, OrderReply, OrderStatus, partition_for,
    stable_id,
};
use serde_json::json;

use crate::cluster::{Backend, Broker, Cluster, wait_for_partitions};

/// An old ingress's request on the order topic, bounded.
async fn ask(bus: &KafkaBus<OrderCommand>, order_id: &str, cmd: OrderCommand) -> OrderReply {
    let p = partition_for(order_id, 4);
    tokio::time::timeout(Duration::from_secs(60), bus.request(p, cmd))
        .await
        .expect("an answer within a minute")
        .expect("the order topic is reachable")
}

fn place(order_id: &str, channel: &str, lines: &[(&str, i64)]) -> OrderCommand {
    OrderCommand::Place(NewOrder {
        order_id: order_id.into(),
        external_id: "legacy-1".into(),
        channel_id: channel.into(),
        lines: lines
            .iter()
            .map(|(c, q)| OrderLine {
                components: Vec::new(),
                sku: c.to_string(),
                product_code: c.to_string(),
                quantity: *q,
            })
            .collect(),
        expires_at: agusto_schemas::now() + chrono::Duration::minutes(30),
        idempotency_key: None,
        customer: None,
        shipping_address: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_ingress_s_order_commands_are_decided_by_their_home_partitions() {
    let broker = Broker::start();
    let Some(cluster) = Cluster::new("kafka-legacy", &broker, Backend::Sqlite) else {
        return;
    };
    let stock = cluster.launch(&["worker", "stock"]);
    let forwarder = cluster.launch(&["worker", "orders"]);
    let api = cluster.launch(&["ingest"]);
    wait_for_partitions(&stock, "agusto-stock-writers").await;
    wait_for_partitions(&forwarder, "agusto-order-writers").await;
    // Eight products: an order of all of them spans stock partitions.
    let products: Vec<String> = (0..8).map(|i| format!("LG-{i}")).collect();
    for p in &products {
        api.product(p, 5).await;
    }
    let (channel, token) = api.channel("Legacy", json!({})).await;

    let old = KafkaSettings {
        brokers: broker.address.clone(),
        stock_partitions: 4,
        order_partitions: 4,
        reply_partitions: 8,
        replication: 1,
        session_timeout: Duration::from_secs(6),
        max_poll_interval: Duration::from_secs(6),
        instance_id: format!("old-ingress-{}", std::process::id()),
        linger: Duration::from_millis(1),
        fetch_wait_max: Duration::from_millis(10),
        publish_timeout: Duration::from_secs(3),
    };
    let replies = Replies::start(&old).await.expect("replies");
    let bus = KafkaBus::<OrderCommand>::new(&old, 4, replies).expect("producer");

    let id = stable_id("ord", &[&channel, "legacy-1"]);
    let lines: Vec<(&str, i64)> = products.iter().map(|p| (p.as_str(), 2)).collect();
    let placed = ask(&bus, &id, place(&id, &channel, &lines)).await;
    assert!(
        matches!(&placed, OrderReply::Placed(o) if o.status == OrderStatus::Reserved),
        "{placed:?}"
    );
    let seen = api.get(&format!("/api/v1/orders/{id}"), &token).await;
    assert_eq!(seen.status, 200, "{seen:?}");
    assert_eq!(seen.body["status"], "reserved");
    for p in &products {
        assert_eq!(api.levels(p).await, (5, 2), "{p}");
    }
    // The same placement again, and another one under the same id.
    let again = ask(&bus, &id, place(&id, &channel, &lines)).await;
    assert!(matches!(again, OrderReply::Existing(_)), "{again:?}");
    let other = ask(&bus, &id, place(&id, &channel, &[(&products[0], 1)])).await;
    assert!(matches!(other, OrderReply::Conflict(_)), "{other:?}");
    // Paid through the old path; an old expiry sweep expires nothing.
    let pay = OrderCommand::Transition {
        order_id: id.clone(),
        channel_id: Some(channel.clone()),
        action: OrderAction::Pay,
    };
    let paid = ask(&bus, &id, pay).await;
    assert!(
        matches!(&paid, OrderReply::Updated(o) if o.status == OrderStatus::PendingApproval),
        "{paid:?}"
    );
    let now = agusto_schemas::now();
    let swept = ask(&bus, &id, OrderCommand::ExpireDue { now }).await;
    assert_eq!(swept, OrderReply::Swept(0));
    drop((api, forwarder, stock));
    let (code, out) = cluster.ledger_verify();
    assert_eq!(code, 0, "{out}");
}
