//! The scenarios, and what they share: the run context, catalogue set-up
//! through the API, and the stock invariants checked after the load.

pub mod catalogue;
pub mod flash_sale;
pub mod lifecycle;
pub mod reads;
pub mod webhooks;

use std::collections::HashMap;
use std::time::Instant;

use crate::api::Api;
use crate::report::{Invariant, ScenarioReport};

/// What every scenario gets: the client, the run's unique prefix and seed.
#[derive(Clone)]
pub struct Ctx {
    /// The API client (admin token inside).
    pub api: Api,
    /// Base URL (for the report).
    pub base_url: String,
    /// Unique per run: product codes and external ids start with it, so
    /// runs can share a server.
    pub prefix: String,
    /// Seed of the request generators.
    pub seed: u64,
}

impl Ctx {
    /// An empty report for `scenario`.
    pub fn report(&self, scenario: &str, setup_s: f64) -> ScenarioReport {
        ScenarioReport {
            scenario: scenario.into(),
            prefix: self.prefix.clone(),
            base_url: self.base_url.clone(),
            setup_s,
            phases: Vec::new(),
            figures: serde_json::Map::new(),
            invariants: Vec::new(),
            ok: true,
        }
    }

    /// `n` product codes of this run for `tag`.
    pub fn codes(&self, tag: &str, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("{}-{tag}-{i}", self.prefix))
            .collect()
    }
}

/// A catalogue set up for a scenario.
pub struct Catalogue {
    /// Product codes (= the channel's SKUs: no mapping is made).
    pub codes: Vec<String>,
    /// Token of the channel the orders come from.
    pub channel_token: String,
    /// Seconds the set-up took.
    pub setup_s: f64,
}

/// Creates a channel (rate limit high enough not to interfere), `n` products
/// and `stock` units of each (Stock In receipts of 1000 lines).
pub async fn setup(ctx: &Ctx, tag: &str, n: usize, stock: i64) -> anyhow::Result<Catalogue> {
    let t = Instant::now();
    let channel_token = ctx
        .api
        .create_channel(&format!("bench {} {tag}", ctx.prefix), 1_000_000)
        .await?;
    let codes = ctx.codes(tag, n);
    ctx.api.put_products(&codes, 64).await?;
    let put_s = t.elapsed().as_secs_f64();
    if stock > 0 {
        ctx.api
            .receive(&codes, stock, &format!("{}-{tag}", ctx.prefix), 2)
            .await?;
    }
    let setup_s = t.elapsed().as_secs_f64();
    eprintln!(
        "[{tag}] set up {n} products ({put_s:.1} s) with {stock} units each in {setup_s:.1} s"
    );
    Ok(Catalogue {
        codes,
        channel_token,
        setup_s,
    })
}

/// What the bench itself knows about one product after the load.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expected {
    /// Units received (Stock In).
    pub received: i64,
    /// Units of orders the server accepted (201/200), whatever became of them.
    pub accepted: i64,
    /// Units that should be on hand now (received − dispatched).
    pub on_hand: i64,
    /// Units that should be reserved now (orders still open).
    pub reserved: i64,
}

/// Reads every product's levels through the API and checks them against what
/// the bench accepted: no oversell (accepted ≤ received; reserved ≤ on_hand)
/// and stored quantities = quantities recomputed from the bench's own record.
pub async fn check_stock(
    ctx: &Ctx,
    codes: &[String],
    expected: &[Expected],
) -> anyhow::Result<Vec<Invariant>> {
    let levels = ctx.api.levels(codes).await?;
    let by_code: HashMap<&str, &crate::api::Level> = levels
        .iter()
        .map(|l| (l.product_code.as_str(), l))
        .collect();
    let (mut bench_over, mut server_over, mut mismatched, mut missing) = (0i64, 0i64, 0i64, 0i64);
    let mut examples = Vec::new();
    for (code, e) in codes.iter().zip(expected) {
        bench_over += (e.accepted - e.received).max(0);
        let Some(l) = by_code.get(code.as_str()) else {
            missing += 1;
            continue;
        };
        server_over += (l.reserved - l.on_hand).max(0);
        if l.on_hand != e.on_hand || l.reserved != e.reserved {
            mismatched += 1;
            if examples.len() < 3 {
                examples.push(format!(
                    "{code}: API on_hand={} reserved={}, bench on_hand={} reserved={}",
                    l.on_hand, l.reserved, e.on_hand, e.reserved
                ));
            }
        }
    }
    let accepted: i64 = expected.iter().map(|e| e.accepted).sum();
    let received: i64 = expected.iter().map(|e| e.received).sum();
    let mut out = vec![
        Invariant::zero(
            "oversell",
            bench_over + server_over,
            format!(
                "units accepted beyond stock, per product ({accepted} accepted of {received} received; \
                 {bench_over} over by the bench's count, {server_over} reserved beyond on_hand by the API's)"
            ),
        ),
        Invariant::zero(
            "stored_equals_recomputed",
            mismatched + missing,
            if examples.is_empty() {
                format!(
                    "on_hand and reserved of all {} products = received − dispatched and open orders' units",
                    codes.len()
                )
            } else {
                format!(
                    "{mismatched} products differ, {missing} missing; e.g. {}",
                    examples.join("; ")
                )
            },
        ),
    ];
    if missing > 0 {
        out.push(Invariant::zero(
            "products_listed",
            missing,
            "products missing from stock-levels",
        ));
    }
    Ok(out)
}

/// Marks the report failed if any invariant failed.
pub fn finish(mut report: ScenarioReport, invariants: Vec<Invariant>) -> ScenarioReport {
    report.invariants.extend(invariants);
    report.ok = report.invariants.iter().all(|i| i.ok);
    report
}
