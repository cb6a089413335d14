//! `uniform` and `zipf`: orders over a large catalogue, each line on a product
//! drawn uniformly or by Zipf (s = 1.0 by default: the hottest product gets
//! ~8 % of the lines over 100,000 products). `bundles`: `uniform` where a
//! share of the orders (`--bundle-share`, 20 % in `run.sh`) is one line on
//! a bundle of two components in different stock partitions, so those
//! orders run as sagas. A closed-loop phase finds the
//! maximum rate; an optional open-loop phase then offers half of it and
//! measures latency from the intended send times.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Ctx, Expected, check_stock, finish, setup};
use crate::load::{self, Mode, Op, Phase, Stats};
use crate::report::{Invariant, ScenarioReport};
use crate::rng::{Rng, Zipf};

/// Settings of `uniform` and `zipf`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Products in the catalogue.
    #[arg(long, default_value_t = 100_000)]
    pub products: usize,
    /// Units received of each product.
    #[arg(long, default_value_t = 1000)]
    pub stock_per_product: i64,
    /// Lines per order (distinct products, 1 unit each).
    #[arg(long, default_value_t = 1)]
    pub lines: usize,
    /// Orders in flight at once (closed-loop phase).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seconds of the first phase.
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,
    /// Offer this many orders/s open-loop instead of the closed-loop first phase.
    #[arg(long)]
    pub rate: Option<f64>,
    /// After the first phase, offer half its measured rate open-loop for this many seconds (0: skip).
    #[arg(long, default_value_t = 0.0)]
    pub half_rate_secs: f64,
    /// Cap on requests in flight in open-loop phases.
    #[arg(long, default_value_t = 1024)]
    pub max_in_flight: usize,
    /// Zipf exponent (zipf only).
    #[arg(long, default_value_t = 1.0)]
    pub zipf_s: f64,
    /// Share of orders that are one line on a bundle (bundles only).
    #[arg(long, default_value_t = 0.2)]
    pub bundle_share: f64,
    /// Bundles of two components each (bundles only).
    #[arg(long, default_value_t = 1000)]
    pub bundles: usize,
    /// Stock partitions of the server: each bundle's components are in two of them.
    #[arg(long, default_value_t = 4)]
    pub partitions: u32,
}

enum Dist {
    Uniform(usize),
    Zipf(Zipf),
}

impl Dist {
    fn pick(&self, rng: &mut Rng) -> usize {
        match self {
            Dist::Uniform(n) => rng.below(*n),
            Dist::Zipf(z) => z.sample(rng),
        }
    }
}

struct Shared {
    codes: Vec<String>,
    /// Bundle codes and their two components (indices into `codes`); a
    /// picked index `codes.len() + b` is bundle `b`.
    bundles: Vec<(String, [usize; 2])>,
    bundle_share: f64,
    token: String,
    dist: Dist,
    lines: usize,
    seed: u64,
    accepted: Vec<AtomicI64>,
    unknown: Mutex<Vec<(String, Vec<usize>)>>,
}

impl Shared {
    /// The distinct products of order `seq` of phase `tag`.
    fn lines(&self, tag: u64, seq: u64) -> Vec<usize> {
        let mut rng = Rng::new(self.seed ^ tag.rotate_left(32), seq);
        if !self.bundles.is_empty() && rng.unit() < self.bundle_share {
            return vec![self.codes.len() + rng.below(self.bundles.len())];
        }
        let mut picked: Vec<usize> = Vec::with_capacity(self.lines);
        let want = self.lines.min(self.codes.len());
        while picked.len() < want {
            let p = self.dist.pick(&mut rng);
            if !picked.contains(&p) {
                picked.push(p);
            }
        }
        picked
    }

    fn accept(&self, lines: &[usize]) {
        for &p in lines {
            match p.checked_sub(self.codes.len()) {
                Some(b) => {
                    for c in self.bundles[b].1 {
                        self.accepted[c].fetch_add(1, Ordering::Relaxed);
                    }
                }
                None => {
                    self.accepted[p].fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// The SKU of a picked index.
    fn code(&self, p: usize) -> &str {
        match p.checked_sub(self.codes.len()) {
            Some(b) => &self.bundles[b].0,
            None => &self.codes[p],
        }
    }
}

fn op(ctx: &Ctx, shared: &Arc<Shared>, stats: &Arc<Stats>, tag: u64) -> Op {
    let (api, shared, stats, prefix) = (
        ctx.api.clone(),
        shared.clone(),
        stats.clone(),
        ctx.prefix.clone(),
    );
    Arc::new(move |seq, at| {
        let (api, shared, stats) = (api.clone(), shared.clone(), stats.clone());
        let ext = format!("{prefix}-o{tag}-{seq}");
        Box::pin(async move {
            let picked = shared.lines(tag, seq);
            let lines: Vec<(&str, i64)> = picked.iter().map(|&p| (shared.code(p), 1)).collect();
            let (a, _) = api.place(&shared.token, &ext, &lines).await;
            // Open loop: from the intended send time; closed loop: `at` is the send time.
            stats.record(a.status, at.elapsed());
            match a.status {
                200 | 201 => shared.accept(&picked),
                _ if a.unknown() || a.status == 429 => {
                    shared.unknown.lock().expect("lock").push((ext, picked))
                }
                _ => {}
            }
        })
    })
}

/// Bundles of two components in different stock partitions, over `codes`.
async fn make_bundles(
    ctx: &Ctx,
    codes: &[String],
    n: usize,
    partitions: u32,
) -> anyhow::Result<Vec<(String, [usize; 2])>> {
    let mut out = Vec::with_capacity(n);
    for (b, code) in ctx.codes("kit", n).into_iter().enumerate() {
        let first = (2 * b) % codes.len();
        let part = |i: usize| agusto_schemas::partition_for(&codes[i], partitions.max(1));
        let second = (1..codes.len())
            .map(|k| (first + k) % codes.len())
            .find(|&i| part(i) != part(first) || partitions <= 1)
            .unwrap_or(first);
        let parts = [(codes[first].as_str(), 1), (codes[second].as_str(), 1)];
        ctx.api.put_bundle(&code, &parts).await?;
        out.push((code, [first, second]));
    }
    Ok(out)
}

/// Runs `uniform` (`zipf == false`) or `zipf`, or `bundles` (`uniform` with
/// `bundle_share` of the orders on bundles).
pub async fn run(
    ctx: &Ctx,
    args: &Args,
    zipf: bool,
    bundles: bool,
) -> anyhow::Result<ScenarioReport> {
    let name = match (zipf, bundles) {
        (true, _) => "zipf",
        (false, true) => "bundles",
        (false, false) => "uniform",
    };
    let tag = &name[..1];
    let cat = setup(ctx, tag, args.products, args.stock_per_product).await?;
    let kits = if bundles {
        make_bundles(ctx, &cat.codes, args.bundles.max(1), args.partitions).await?
    } else {
        Vec::new()
    };
    let mut report = ctx.report(name, cat.setup_s);
    let dist = if zipf {
        Dist::Zipf(Zipf::new(args.products, args.zipf_s))
    } else {
        Dist::Uniform(args.products)
    };
    if let Dist::Zipf(z) = &dist {
        report.figure("hottest_product_share", z.probability(0));
    }
    if bundles {
        report.figure("bundle_share", args.bundle_share);
    }
    let shared = Arc::new(Shared {
        bundles: kits,
        bundle_share: args.bundle_share,
        accepted: (0..cat.codes.len()).map(|_| AtomicI64::new(0)).collect(),
        codes: cat.codes,
        token: cat.channel_token,
        dist,
        lines: args.lines.max(1),
        seed: ctx.seed,
        unknown: Mutex::new(Vec::new()),
    });
    let first = Phase {
        name: match args.rate {
            Some(_) => format!("{name}/open"),
            None => format!("{name}/closed"),
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
    let stats = Arc::new(Stats::default());
    let r = load::run(&first, stats.clone(), op(ctx, &shared, &stats, 1)).await;
    let decided = |s: &Stats, secs: f64| {
        ((s.count(200) + s.count(201) + s.count(422)) as f64 / secs.max(1e-9)).round()
    };
    report.figure("orders_decided_per_s", decided(&stats, r.elapsed_s));
    let max_rate = r.requests_per_s;
    report.phases.push(r);
    if args.half_rate_secs > 0.0 && max_rate > 0.0 {
        let half = Phase {
            name: format!("{name}/open@half"),
            mode: Mode::Open {
                rate: (max_rate / 2.0).max(1.0),
                max_in_flight: args.max_in_flight,
            },
            duration: Some(Duration::from_secs_f64(args.half_rate_secs)),
            iterations: None,
        };
        let stats = Arc::new(Stats::default());
        let r = load::run(&half, stats.clone(), op(ctx, &shared, &stats, 2)).await;
        report.figure(
            "half_rate_orders_decided_per_s",
            decided(&stats, r.elapsed_s),
        );
        report.phases.push(r);
    }
    // Orders whose outcome was not known: place them again (idempotent).
    let unknown = std::mem::take(&mut *shared.unknown.lock().expect("lock"));
    let mut unsettled = 0i64;
    for (ext, picked) in &unknown {
        let lines: Vec<(&str, i64)> = picked.iter().map(|&p| (shared.code(p), 1)).collect();
        match ctx.api.settle(&shared.token, ext, &lines).await.status {
            200 | 201 => shared.accept(picked),
            s if (400..500).contains(&s) => {}
            _ => unsettled += 1,
        }
    }
    report.figure(
        "orders_unknown_then_settled",
        unknown.len() as i64 - unsettled,
    );
    let accepted: Vec<i64> = shared
        .accepted
        .iter()
        .map(|a| a.load(Ordering::Relaxed))
        .collect();
    report.figure("units_accepted", accepted.iter().sum::<i64>());
    report.figure(
        "products_sold_out",
        accepted
            .iter()
            .filter(|&&a| a >= args.stock_per_product)
            .count(),
    );
    let expected: Vec<Expected> = accepted
        .iter()
        .map(|&a| Expected {
            received: args.stock_per_product,
            accepted: a,
            on_hand: args.stock_per_product,
            reserved: a,
        })
        .collect();
    let mut inv = check_stock(ctx, &shared.codes, &expected).await?;
    inv.push(Invariant::zero(
        "unsettled_orders",
        unsettled,
        "orders whose outcome stayed unknown after retrying",
    ));
    Ok(finish(report, inv))
}
