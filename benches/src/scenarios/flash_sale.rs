//! `flash-sale`: one product, `stock` units, `orders` single-unit orders
//! (default 10× the stock) as fast as the server decides them. Measures
//! orders decided per second and the time until the stock is sold out; checks
//! no oversell (never more than `stock` accepted) and no undersell (no order
//! refused while units were left).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{Ctx, Expected, check_stock, finish, setup};
use crate::load::{self, Mode, Op, Phase, Stats};
use crate::report::{Invariant, ScenarioReport};

/// Flash-sale settings.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Units of the one product.
    #[arg(long, default_value_t = 10_000)]
    pub stock: i64,
    /// Single-unit orders to send (default: 10 × stock).
    #[arg(long)]
    pub orders: Option<u64>,
    /// Orders in flight at once (closed loop).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Stop sending after this many seconds even if orders are left.
    #[arg(long)]
    pub duration: Option<f64>,
}

#[derive(Default)]
struct Tally {
    accepted: AtomicI64,
    refused: AtomicI64,
    /// 422s whose body said a unit was still available.
    refused_with_stock: AtomicI64,
    /// Microseconds from the start until the last unit was accepted (0 = not yet).
    sold_out_us: AtomicU64,
    first_refusal_us: AtomicU64,
    unknown: Mutex<Vec<u64>>,
}

#[derive(Deserialize)]
struct Shortage {
    available: i64,
}
#[derive(Deserialize)]
struct Short {
    #[serde(default)]
    shortages: Vec<Shortage>,
}

/// Runs the scenario.
pub async fn run(ctx: &Ctx, args: &Args) -> anyhow::Result<ScenarioReport> {
    let cat = setup(ctx, "fs", 1, args.stock).await?;
    let mut report = ctx.report("flash-sale", cat.setup_s);
    let orders = args.orders.unwrap_or(args.stock.max(1) as u64 * 10);
    let code: Arc<str> = cat.codes[0].as_str().into();
    let token: Arc<str> = cat.channel_token.as_str().into();
    let stats = Arc::new(Stats::default());
    let tally = Arc::new(Tally::default());
    let start = Instant::now();
    let stock = args.stock;
    let op: Op = {
        let (api, stats, tally, prefix) = (
            ctx.api.clone(),
            stats.clone(),
            tally.clone(),
            ctx.prefix.clone(),
        );
        let (code, token) = (code.clone(), token.clone());
        Arc::new(move |seq, _at| {
            let (api, stats, tally, code, token) = (
                api.clone(),
                stats.clone(),
                tally.clone(),
                code.clone(),
                token.clone(),
            );
            let ext = format!("{prefix}-fs-{seq}");
            Box::pin(async move {
                let (a, took) = api.place(&token, &ext, &[(&code, 1)]).await;
                stats.record(a.status, took);
                let now_us = start.elapsed().as_micros() as u64;
                match a.status {
                    200 | 201 => {
                        let accepted = tally.accepted.fetch_add(1, Ordering::Relaxed) + 1;
                        if accepted == stock {
                            tally.sold_out_us.store(now_us, Ordering::Relaxed);
                        }
                    }
                    422 => {
                        tally.refused.fetch_add(1, Ordering::Relaxed);
                        let _ = tally.first_refusal_us.compare_exchange(
                            0,
                            now_us,
                            Ordering::Relaxed,
                            Ordering::Relaxed,
                        );
                        if let Ok(s) = a.json::<Short>()
                            && s.shortages.iter().any(|s| s.available >= 1)
                        {
                            tally.refused_with_stock.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    _ if a.unknown() || a.status == 429 => {
                        tally.unknown.lock().expect("lock").push(seq)
                    }
                    _ => {}
                }
            })
        })
    };
    let phase = Phase {
        name: "flash-sale/closed".into(),
        mode: Mode::Closed {
            concurrency: args.concurrency,
        },
        duration: args.duration.map(Duration::from_secs_f64),
        iterations: Some(orders),
    };
    let result = load::run(&phase, stats.clone(), op).await;
    // Orders whose outcome was not known: ask again (idempotent by external id).
    let unknown = std::mem::take(&mut *tally.unknown.lock().expect("lock"));
    let mut unsettled = 0i64;
    for seq in &unknown {
        let ext = format!("{}-fs-{seq}", ctx.prefix);
        match ctx.api.settle(&token, &ext, &[(&code, 1)]).await.status {
            200 | 201 => {
                tally.accepted.fetch_add(1, Ordering::Relaxed);
            }
            422 => {
                tally.refused.fetch_add(1, Ordering::Relaxed);
            }
            _ => unsettled += 1,
        }
    }
    let accepted = tally.accepted.load(Ordering::Relaxed);
    let refused = tally.refused.load(Ordering::Relaxed);
    let decided = stats.count(201) + stats.count(200) + stats.count(422);
    report.figure("orders_sent", result.iterations);
    report.figure("orders_accepted", accepted);
    report.figure("orders_refused", refused);
    report.figure(
        "orders_unknown_then_settled",
        unknown.len() as i64 - unsettled,
    );
    report.figure(
        "orders_decided_per_s",
        (decided as f64 / result.elapsed_s.max(1e-9)).round(),
    );
    let sold_out = tally.sold_out_us.load(Ordering::Relaxed);
    report.figure("sold_out_s", (sold_out > 0).then(|| sold_out as f64 / 1e6));
    let first_refusal = tally.first_refusal_us.load(Ordering::Relaxed);
    report.figure(
        "first_refusal_s",
        (first_refusal > 0).then(|| first_refusal as f64 / 1e6),
    );
    report.phases.push(result);

    let expected = [Expected {
        received: stock,
        accepted,
        on_hand: stock,
        reserved: accepted,
    }];
    let mut inv = check_stock(ctx, &cat.codes, &expected).await?;
    let left = ctx
        .api
        .levels(&cat.codes)
        .await?
        .first()
        .map_or(0, |l| l.available);
    let undersold = if refused > 0 { left } else { 0 };
    inv.push(Invariant::zero(
        "undersell",
        undersold + tally.refused_with_stock.load(Ordering::Relaxed),
        format!(
            "units left while orders were refused ({left} available at the end, {refused} refused, \
             {} refusals reported a unit available)",
            tally.refused_with_stock.load(Ordering::Relaxed)
        ),
    ));
    inv.push(Invariant::zero(
        "unsettled_orders",
        unsettled,
        "orders whose outcome stayed unknown after retrying",
    ));
    Ok(finish(report, inv))
}
