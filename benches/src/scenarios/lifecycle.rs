//! `lifecycle`: orders of 1–3 lines go through the whole life of API.md:
//! 60 % reserve → paid → pick → pack → complete, 10 % are cancelled while
//! reserved, 10 % paid, picked and then cancelled by staff, 20 % are left
//! unpaid to expire. After the load the bench waits for the expiries when the
//! server's reservation TTL allows it (`--max-expiry-wait`; start the server
//! with a short `AGUSTO_RESERVATION_TTL_SECS`, as run.sh does), then checks
//! every order's status and every product's quantities.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;

use super::{Ctx, Expected, check_stock, finish, setup};
use crate::api::{Answer, Api, OrderView};
use crate::load::{self, Mode, Op, Phase, Stats};
use crate::report::{Invariant, ScenarioReport};
use crate::rng::Rng;

/// Settings of `lifecycle`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Products in the catalogue.
    #[arg(long, default_value_t = 200)]
    pub products: usize,
    /// Units received of each product.
    #[arg(long, default_value_t = 1_000_000)]
    pub stock_per_product: i64,
    /// Orders going through their lives at once (closed loop).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Wait at most this many seconds after the load for unpaid orders to expire.
    #[arg(long, default_value_t = 90.0)]
    pub max_expiry_wait: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Complete,
    CancelReserved,
    CancelPicked,
    Expire,
}

impl Fate {
    fn of(seq: u64) -> Self {
        match seq % 10 {
            0..=5 => Fate::Complete,
            6 => Fate::CancelReserved,
            7 => Fate::CancelPicked,
            _ => Fate::Expire,
        }
    }

    /// The status the order ends in when every step is answered as expected.
    fn final_status(self) -> &'static str {
        match self {
            Fate::Complete => "dispatched",
            Fate::CancelReserved | Fate::CancelPicked => "cancelled",
            Fate::Expire => "reserved",
        }
    }
}

struct Placed {
    id: String,
    fate: Fate,
    lines: Vec<(usize, i64)>,
    /// Final status if every step went as expected; `None`: ask the server.
    status: Option<&'static str>,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ttl_s: f64,
}

struct Shared {
    api: Api,
    stats: Arc<Stats>,
    codes: Vec<String>,
    token: String,
    prefix: String,
    seed: u64,
    placed: Mutex<Vec<Placed>>,
    unexpected: AtomicI64,
    refused: AtomicI64,
}

impl Shared {
    async fn call(&self, req: reqwest::RequestBuilder, from: Instant) -> Answer {
        let a = self.api.send(req).await;
        self.stats.record(a.status, from.elapsed());
        a
    }

    async fn step(
        &self,
        method: Method,
        id: &str,
        action: &str,
        staff: bool,
        body: Option<String>,
    ) -> bool {
        let path = format!("/api/v1/orders/{id}/{action}");
        let mut req = if staff {
            self.api.admin(method, &path)
        } else {
            self.api.request(method, &path, &self.token)
        };
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let ok = self.call(req, Instant::now()).await.status == 200;
        if !ok {
            self.unexpected.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    async fn life(&self, seq: u64, at: Instant) {
        let fate = Fate::of(seq);
        let mut rng = Rng::new(self.seed, seq);
        let mut lines: Vec<(usize, i64)> = Vec::new();
        let want = (1 + rng.below(3)).min(self.codes.len());
        while lines.len() < want {
            let p = rng.below(self.codes.len());
            if !lines.iter().any(|(q, _)| *q == p) {
                lines.push((p, 1 + rng.below(3) as i64));
            }
        }
        let skus: Vec<(&str, i64)> = lines
            .iter()
            .map(|&(p, q)| (self.codes[p].as_str(), q))
            .collect();
        let ext = format!("{}-lc-{seq}", self.prefix);
        let (mut a, _) = self.api.place(&self.token, &ext, &skus).await;
        self.stats.record(a.status, at.elapsed());
        if a.unknown() || a.status == 429 {
            a = self.api.settle(&self.token, &ext, &skus).await;
        }
        if a.status == 422 {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let Ok(order) = a.json::<OrderView>() else {
            self.unexpected.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let id = order.id.as_str();
        let ok = match fate {
            Fate::Complete => {
                self.step(Method::PATCH, id, "paid", false, None).await
                    && self.step(Method::POST, id, "pick", true, None).await
                    && self.step(Method::POST, id, "pack", true, None).await
                    && self
                        .step(
                            Method::POST,
                            id,
                            "complete",
                            true,
                            Some(format!(
                                r#"{{"tracking_number":"TRK{seq}","carrier":"JNE"}}"#
                            )),
                        )
                        .await
            }
            Fate::CancelReserved => self.step(Method::POST, id, "cancel", false, None).await,
            Fate::CancelPicked => {
                self.step(Method::PATCH, id, "paid", false, None).await
                    && self.step(Method::POST, id, "pick", true, None).await
                    && self.step(Method::POST, id, "cancel", true, None).await
            }
            Fate::Expire => true,
        };
        let ttl_s = order
            .expires_at
            .map_or(f64::INFINITY, |e| (e - order.created_at).as_seconds_f64());
        self.placed.lock().expect("lock").push(Placed {
            id: order.id,
            fate,
            lines,
            status: ok.then(|| fate.final_status()),
            expires_at: order.expires_at,
            ttl_s,
        });
    }
}

/// Status of each order id, asked `concurrency` at a time.
async fn statuses(api: &Api, ids: Vec<String>, concurrency: usize) -> anyhow::Result<Vec<String>> {
    let ids = Arc::new(ids);
    let out = Arc::new(Mutex::new(vec![String::new(); ids.len()]));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (api, ids, out, next) = (api.clone(), ids.clone(), out.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(id) = ids.get(i) else {
                    return Ok::<(), anyhow::Error>(());
                };
                let a = api
                    .send(api.admin(Method::GET, &format!("/api/v1/orders/{id}/status")))
                    .await;
                #[derive(serde::Deserialize)]
                struct S {
                    status: String,
                }
                out.lock().expect("lock")[i] = a.json::<S>()?.status;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(std::mem::take(&mut *out.lock().expect("lock")))
}

/// Runs the scenario.
pub async fn run(ctx: &Ctx, args: &Args) -> anyhow::Result<ScenarioReport> {
    let cat = setup(ctx, "lc", args.products, args.stock_per_product).await?;
    let mut report = ctx.report("lifecycle", cat.setup_s);
    let stats = Arc::new(Stats::default());
    let shared = Arc::new(Shared {
        api: ctx.api.clone(),
        stats: stats.clone(),
        codes: cat.codes,
        token: cat.channel_token,
        prefix: ctx.prefix.clone(),
        seed: ctx.seed,
        placed: Mutex::new(Vec::new()),
        unexpected: AtomicI64::new(0),
        refused: AtomicI64::new(0),
    });
    let op: Op = {
        let shared = shared.clone();
        Arc::new(move |seq, at| {
            let shared = shared.clone();
            Box::pin(async move { shared.life(seq, at).await })
        })
    };
    let phase = Phase {
        name: "lifecycle/closed".into(),
        mode: Mode::Closed {
            concurrency: args.concurrency,
        },
        duration: Some(Duration::from_secs_f64(args.duration)),
        iterations: None,
    };
    let r = load::run(&phase, stats, op).await;
    report.figure(
        "lifecycles_per_s",
        (r.iterations as f64 / r.elapsed_s.max(1e-9)).round(),
    );
    report.phases.push(r);

    let placed = std::mem::take(&mut *shared.placed.lock().expect("lock"));
    let ttl_s = placed.iter().map(|p| p.ttl_s).fold(f64::INFINITY, f64::min);
    report.figure("reservation_ttl_s", ttl_s.is_finite().then_some(ttl_s));
    let last_expiry = placed
        .iter()
        .filter(|p| p.fate == Fate::Expire)
        .filter_map(|p| p.expires_at)
        .max();
    let wait = last_expiry.map_or(0.0, |e| (e - chrono::Utc::now()).as_seconds_f64() + 3.0);
    let waited = wait <= args.max_expiry_wait;
    if waited && wait > 0.0 {
        eprintln!("[lifecycle] waiting {wait:.1} s for unpaid orders to expire");
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    }
    // Ask the server for every order whose end is not known from our own calls.
    let ask: Vec<usize> = (0..placed.len())
        .filter(|&i| placed[i].status.is_none() || placed[i].fate == Fate::Expire)
        .collect();
    let got = statuses(
        &ctx.api,
        ask.iter().map(|&i| placed[i].id.clone()).collect(),
        32,
    )
    .await?;
    let mut final_status: Vec<String> = placed
        .iter()
        .map(|p| p.status.unwrap_or("").to_owned())
        .collect();
    for (i, s) in ask.iter().zip(got) {
        final_status[*i] = s;
    }
    let count = |s: &str| final_status.iter().filter(|f| *f == s).count();
    let to_expire = placed.iter().filter(|p| p.fate == Fate::Expire).count();
    let expired = placed
        .iter()
        .zip(&final_status)
        .filter(|(p, s)| p.fate == Fate::Expire && *s == "expired")
        .count();
    for s in ["dispatched", "cancelled", "expired", "reserved"] {
        report.figure(&format!("orders_{s}"), count(s));
    }
    report.figure("orders_placed", placed.len());

    let stock = args.stock_per_product;
    let mut expected = vec![
        Expected {
            received: stock,
            on_hand: stock,
            ..Expected::default()
        };
        shared.codes.len()
    ];
    for (p, s) in placed.iter().zip(&final_status) {
        for &(i, q) in &p.lines {
            let e = &mut expected[i];
            e.accepted += q;
            match s.as_str() {
                "dispatched" => e.on_hand -= q,
                "reserved" | "pending_approval" | "picking" | "packed" => e.reserved += q,
                _ => {}
            }
        }
    }
    let mut inv = check_stock(ctx, &shared.codes, &expected).await?;
    inv.push(Invariant::zero(
        "transitions_answered_200",
        shared.unexpected.load(Ordering::Relaxed),
        "lifecycle calls (paid, pick, pack, complete, cancel) not answered 200",
    ));
    inv.push(Invariant::zero(
        "orders_refused",
        shared.refused.load(Ordering::Relaxed),
        "orders refused although stock was ample",
    ));
    inv.push(if waited {
        Invariant::zero(
            "unpaid_orders_expired",
            (to_expire - expired) as i64,
            format!("{expired} of {to_expire} unpaid orders expired after their TTL of {ttl_s:.0} s"),
        )
    } else {
        Invariant::check(
            "unpaid_orders_expired",
            true,
            0,
            format!("not checked: TTL {ttl_s:.0} s is longer than --max-expiry-wait; {to_expire} left reserved"),
        )
    });
    Ok(finish(report, inv))
}
