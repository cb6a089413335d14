//! `reads`: a storefront polling stock: `GET /api/v1/stock-levels` with
//! `skus_per_call` random SKUs per call, with the channel's token. Every
//! answer is checked to list every asked SKU with the stock received.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;

use super::{Ctx, finish, setup};
use crate::load::{self, Mode, Op, Phase, Stats};
use crate::report::{Invariant, ScenarioReport};
use crate::rng::Rng;

/// Settings of `reads`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Products in the catalogue.
    #[arg(long, default_value_t = 10_000)]
    pub products: usize,
    /// Units received of each product.
    #[arg(long, default_value_t = 100)]
    pub stock_per_product: i64,
    /// SKUs per call.
    #[arg(long, default_value_t = 100)]
    pub skus_per_call: usize,
    /// Calls in flight at once (closed loop).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Offer this many calls/s open-loop instead.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Cap on calls in flight (open loop).
    #[arg(long, default_value_t = 1024)]
    pub max_in_flight: usize,
}

#[derive(Deserialize)]
struct Item {
    on_hand: i64,
    reserved: i64,
}
#[derive(Deserialize)]
struct Items {
    items: Vec<Item>,
}

/// Runs the scenario.
pub async fn run(ctx: &Ctx, args: &Args) -> anyhow::Result<ScenarioReport> {
    let cat = setup(ctx, "r", args.products, args.stock_per_product).await?;
    let mut report = ctx.report("reads", cat.setup_s);
    let codes: Arc<Vec<String>> = Arc::new(cat.codes);
    let token: Arc<str> = cat.channel_token.as_str().into();
    let stats = Arc::new(Stats::default());
    let wrong = Arc::new(AtomicI64::new(0));
    let (per_call, stock, seed) = (
        args.skus_per_call.min(codes.len()).max(1),
        args.stock_per_product,
        ctx.seed,
    );
    let op: Op = {
        let (api, stats, wrong) = (ctx.api.clone(), stats.clone(), wrong.clone());
        Arc::new(move |seq, at| {
            let (api, stats, wrong, codes, token) = (
                api.clone(),
                stats.clone(),
                wrong.clone(),
                codes.clone(),
                token.clone(),
            );
            Box::pin(async move {
                let mut rng = Rng::new(seed, seq);
                let mut query = String::with_capacity(per_call * 24);
                let mut picked: Vec<usize> = Vec::with_capacity(per_call);
                while picked.len() < per_call {
                    let p = rng.below(codes.len());
                    if !picked.contains(&p) {
                        picked.push(p);
                    }
                }
                for (i, &p) in picked.iter().enumerate() {
                    query.push_str(if i == 0 { "?sku=" } else { "&sku=" });
                    query.push_str(&codes[p]);
                }
                let req = api.request(Method::GET, &format!("/api/v1/stock-levels{query}"), &token);
                let a = api.send(req).await;
                stats.record(a.status, at.elapsed());
                // Checking every 16th answer keeps the generator's CPU for load.
                if a.status == 200 && seq % 16 == 0 {
                    let ok = a.json::<Items>().is_ok_and(|r| {
                        r.items.len() == per_call
                            && r.items
                                .iter()
                                .all(|i| i.on_hand == stock && i.reserved == 0)
                    });
                    if !ok {
                        wrong.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
    };
    let phase = Phase {
        name: "reads/".to_owned()
            + if args.rate.is_some() {
                "open"
            } else {
                "closed"
            },
        mode: match args.rate {
            Some(rate) => Mode::Open {
                rate,
                max_in_flight: args.max_in_flight,
            },
            None => Mode::Closed {
                concurrency: args.concurrency,
            },
        },
        duration: Some(Duration::from_secs_f64(args.duration)),
        iterations: None,
    };
    let r = load::run(&phase, stats.clone(), op).await;
    report.figure("skus_per_call", per_call);
    report.figure(
        "skus_read_per_s",
        (r.requests_per_s * per_call as f64).round(),
    );
    report.phases.push(r);
    let non_200 = stats.calls() - stats.count(200);
    let inv = vec![
        Invariant::zero(
            "reads_answered_200",
            non_200 as i64,
            "stock-level calls not answered 200",
        ),
        Invariant::zero(
            "reads_complete_and_correct",
            wrong.load(Ordering::Relaxed),
            format!(
                "sampled answers (1 in 16) not listing all {per_call} SKUs with the received stock"
            ),
        ),
    ];
    Ok(finish(report, inv))
}
