//! The distributed roles: `agusto ingest` and `agusto worker <role>`, over
//! Kafka and a shared store. On ScyllaDB they wait for the schema that
//! `agusto migrate` applies (see `store_spec.rs`).

use std::sync::Arc;
use std::time::Duration;

use agusto_workers::cluster::{self, Timers};
use anyhow::Context;
use tokio::sync::watch;

use crate::config::Config;
use crate::serve::{bootstrap_admin, listen, serve_http};
use crate::store_spec::{Access, open_store};

/// Which writers a worker process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Stock writers (consumer group on agusto.stock.commands).
    Stock,
    /// Forwards what ingress processes of the previous release append to
    /// agusto.order.commands to the orders' home stock partitions (rolling
    /// upgrades; orders and their expiry are the stock writers' now).
    Orders,
    /// The webhook worker.
    Webhooks,
    /// All of the above.
    All,
}

/// `agusto ingest`: the HTTP API, publishing commands to Kafka.
pub async fn ingest(config: Config) -> anyhow::Result<()> {
    let store = open_store(&config, Access::Run).await?;
    bootstrap_admin(store.as_ref(), &config.admin_token).await?;
    let kafka = config.kafka("ingest");
    agusto_bus::kafka::ensure_topics(&kafka)
        .await
        .context("creating topics")?;
    let warehouse = cluster::warehouse(
        &kafka,
        store.clone(),
        Duration::from_millis(config.order_wait_ms),
        Duration::from_secs(30),
    )
    .await
    .context("connecting to Kafka")?;
    let app = agusto_ingest::app(store, Arc::new(warehouse), config.ingest());
    let listener = listen(&config).await?;
    println!(
        "agusto ingest listening on http://{} (instance {})",
        listener.local_addr()?,
        kafka.instance_id
    );
    serve_http(listener, app, config.http_read_timeout()).await
}

/// `agusto worker <role>`: writers and/or the webhook worker; serves
/// `/healthz` and `/metrics` on the listen address.
pub async fn worker(config: Config, role: Role) -> anyhow::Result<()> {
    let store = open_store(&config, Access::Run).await?;
    let kafka = config.kafka(&format!("{role:?}").to_lowercase());
    agusto_bus::kafka::ensure_topics(&kafka)
        .await
        .context("creating topics")?;
    let timers = Timers {
        expiry_interval: Duration::from_millis(config.expiry_interval_ms),
        lapse_grace: Duration::from_secs(60),
    };
    let (stop, stopped) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    if matches!(role, Role::Stock | Role::All) {
        let writers = cluster::run_stock_writers(
            store.clone(),
            kafka.clone(),
            timers.clone(),
            stopped.clone(),
        );
        tasks.spawn(async move { writers.await.context("stock writers") });
    }
    if matches!(role, Role::Orders | Role::All) {
        let forwarder = cluster::run_order_forwarder(store.clone(), kafka.clone(), stopped.clone());
        tasks.spawn(async move { forwarder.await.context("order forwarder") });
    }
    if matches!(role, Role::Webhooks | Role::All) {
        let mut w = config.webhooks()?;
        w.worker_id = kafka.instance_id.clone();
        let (s, r) = (store.clone(), stopped.clone());
        tasks.spawn(async move {
            agusto_workers::webhooks::run(s, w, r).await;
            Ok(())
        });
    }
    let ops = axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route(
            "/metrics",
            axum::routing::get(agusto_ingest::metrics_handler),
        );
    let listener = listen(&config).await?;
    println!(
        "agusto worker {role:?} listening on http://{} (instance {})",
        listener.local_addr()?,
        kafka.instance_id
    );
    let failed = tokio::select! {
        r = serve_http(listener, ops, config.http_read_timeout()) => r.err(),
        Some(r) = tasks.join_next() => Some(r.map_err(anyhow::Error::from).and_then(|r| r).err().unwrap_or_else(|| anyhow::anyhow!("a worker role stopped"))),
    };
    tracing::info!("stopping writers");
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
