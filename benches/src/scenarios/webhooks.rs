//! `webhooks`: deliveries per second to a local receiver that answers at
//! once. A receiver on 127.0.0.1 counts every signed POST; one channel points
//! at it; receipts of 1000 lines each make one `stock.changed` event per line.
//! The clock runs from the first receipt until every event was delivered.
//! The server must allow webhooks to loopback addresses
//! (`AGUSTO_WEBHOOK_ALLOW_CIDRS=127.0.0.0/8`, as `benches/run.sh` sets).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use reqwest::Method;

use super::{Ctx, finish};
use crate::report::{Invariant, ScenarioReport};

/// Settings of `webhooks`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Events to deliver (one per product, one receipt line each).
    #[arg(long, default_value_t = 20_000)]
    pub events: usize,
    /// Longest wait for every delivery, in seconds.
    #[arg(long, default_value_t = 300.0)]
    pub max_wait: f64,
}

/// Runs the scenario.
pub async fn run(ctx: &Ctx, args: &Args) -> anyhow::Result<ScenarioReport> {
    let ids: Arc<Mutex<HashSet<String>>> = Arc::default();
    let seen = ids.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap| {
            let seen = seen.clone();
            async move {
                if let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
                    seen.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(id.to_owned());
                }
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let t = Instant::now();
    let body =
        serde_json::json!({"name": format!("bench {} webhooks", ctx.prefix), "webhook_url": url});
    let a = ctx
        .api
        .send(ctx.api.admin(Method::POST, "/api/v1/channels").json(&body))
        .await;
    anyhow::ensure!(a.status == 201, "creating the hooked channel: {}", a.status);
    let codes = ctx.codes("w", args.events);
    ctx.api.put_products(&codes, 64).await?;
    let setup_s = t.elapsed().as_secs_f64();
    let mut report = ctx.report("webhooks", setup_s);

    let started = Instant::now();
    ctx.api
        .receive(&codes, 1, &format!("{}-w", ctx.prefix), 2)
        .await?;
    let received_s = started.elapsed().as_secs_f64();
    let deadline = started + Duration::from_secs_f64(args.max_wait);
    let mut last = 0;
    loop {
        let n = ids.lock().unwrap_or_else(|p| p.into_inner()).len();
        if n >= args.events || Instant::now() > deadline {
            break;
        }
        if n / 5000 != last / 5000 {
            eprintln!(
                "[webhooks] {:>6.1}s  {n} of {} delivered",
                started.elapsed().as_secs_f64(),
                args.events
            );
        }
        last = n;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let delivered = ids.lock().unwrap_or_else(|p| p.into_inner()).len();
    report.figure("events", args.events as i64);
    report.figure("receipts_s", received_s);
    report.figure("all_delivered_after_s", elapsed);
    report.figure("deliveries_per_s", (delivered as f64 / elapsed).round());
    let missing = args.events as i64 - delivered as i64;
    let check = Invariant::zero(
        "undelivered_events",
        missing.max(0),
        "events without a delivery by the deadline",
    );
    Ok(finish(report, vec![check]))
}
