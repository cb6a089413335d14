//! `agusto-bench`: drives the real HTTP API of a running Agusto with one of
//! the benchmark scenarios, prints a live progress line (stderr, once per
//! second), a human summary (stdout) and a JSON report (`--json`), and exits
//! non-zero when an invariant (no oversell, no undersell, stored quantities =
//! recomputed ones, ...) does not hold.
//!
//! ```sh
//! agusto-bench --url http://127.0.0.1:8080 --admin-token "$AGUSTO_ADMIN_TOKEN" flash-sale
//! agusto-bench uniform --products 2000 --duration 10 --json out.json
//! ```

mod api;
mod load;
mod report;
mod rng;
mod scenarios;

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::scenarios::{Ctx, catalogue, flash_sale, lifecycle, reads, webhooks};

/// Load generator and benchmark scenarios for Agusto WMS.
#[derive(Parser)]
#[command(name = "agusto-bench", version, about)]
struct Cli {
    /// Base URL of the Agusto under test.
    #[arg(long, env = "AGUSTO_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Admin token of that Agusto.
    #[arg(long, env = "AGUSTO_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// Write the JSON report here (else it is printed after the summary).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Product-code prefix of this run (default: unique from the clock).
    #[arg(long)]
    prefix: Option<String>,
    /// Seed of the request generators (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads of the load generator.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Shell command run during each load phase and interrupted at its end
    /// (e.g. `perf record -g -p PID -o $AGUSTO_BENCH_PHASE.perf.data`).
    #[arg(long)]
    phase_hook: Option<String>,
    /// The scenario.
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// One product, 10,000 units, 10× as many single-unit orders, as fast as possible.
    FlashSale(flash_sale::Args),
    /// Single-line orders on products drawn uniformly from a large catalogue.
    Uniform(catalogue::Args),
    /// Order lines over a large catalogue with Zipf popularity (s = 1.0).
    Zipf(catalogue::Args),
    /// `uniform` with a share of the orders on bundles whose two components
    /// are in different stock partitions (sagas).
    Bundles(catalogue::Args),
    /// reserve → paid → pick → pack → complete, with cancels and expiries.
    Lifecycle(lifecycle::Args),
    /// GET /stock-levels with 100 SKUs per call.
    Reads(reads::Args),
    /// Webhook deliveries per second to a local receiver that answers at once.
    Webhooks(webhooks::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        .enable_all()
        .build()?;
    let ok = runtime.block_on(run(cli))?;
    // Do not wait for idle pooled connections to wind down.
    runtime.shutdown_timeout(Duration::from_millis(100));
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<bool> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
    let prefix = cli
        .prefix
        .clone()
        .unwrap_or_else(|| format!("B{}", base36(now.as_millis() as u64)));
    if let Some(h) = &cli.phase_hook {
        let _ = load::PHASE_HOOK.set(h.clone());
    }
    let api = api::Api::new(&cli.url, &cli.admin_token, 1024)?;
    api.wait_healthy(Duration::from_secs(30)).await?;
    let ctx = Ctx {
        api,
        base_url: cli.url.clone(),
        prefix,
        seed: cli.seed.unwrap_or(now.as_nanos() as u64),
    };
    let report = match &cli.scenario {
        Scenario::FlashSale(a) => flash_sale::run(&ctx, a).await,
        Scenario::Uniform(a) => catalogue::run(&ctx, a, false, false).await,
        Scenario::Zipf(a) => catalogue::run(&ctx, a, true, false).await,
        Scenario::Bundles(a) => catalogue::run(&ctx, a, false, true).await,
        Scenario::Lifecycle(a) => lifecycle::run(&ctx, a).await,
        Scenario::Reads(a) => reads::run(&ctx, a).await,
        Scenario::Webhooks(a) => webhooks::run(&ctx, a).await,
    }
    .context("running the scenario")?;
    report.print();
    let json = serde_json::to_string_pretty(&report)?;
    match &cli.json {
        Some(path) => std::fs::write(path, json + "\n")
            .with_context(|| format!("writing {}", path.display()))?,
        None => println!("{json}"),
    }
    Ok(report.ok)
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ascii")
}
