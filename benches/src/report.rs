//! What a scenario reports: its phases, the invariants it checked, and
//! scenario-specific figures; printed for humans and written as JSON.

use serde::Serialize;

use crate::load::PhaseResult;

/// One checked invariant.
#[derive(Debug, Clone, Serialize)]
pub struct Invariant {
    /// Short name, e.g. `oversell`.
    pub name: String,
    /// Whether it held.
    pub ok: bool,
    /// The measured value (e.g. oversold units; 0 when it held).
    pub value: i64,
    /// What was compared.
    pub detail: String,
}

impl Invariant {
    /// An invariant that holds when `value == 0`.
    pub fn zero(name: &str, value: i64, detail: impl Into<String>) -> Self {
        Invariant {
            name: name.into(),
            ok: value == 0,
            value,
            detail: detail.into(),
        }
    }

    /// An invariant with an explicit outcome.
    pub fn check(name: &str, ok: bool, value: i64, detail: impl Into<String>) -> Self {
        Invariant {
            name: name.into(),
            ok,
            value,
            detail: detail.into(),
        }
    }
}

/// Everything one scenario run measured and checked.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    /// Scenario name.
    pub scenario: String,
    /// Product-code prefix of this run.
    pub prefix: String,
    /// Server under test.
    pub base_url: String,
    /// Seconds spent creating products, stock and the channel.
    pub setup_s: f64,
    /// Load phases.
    pub phases: Vec<PhaseResult>,
    /// Scenario-specific figures (e.g. `sold_out_s`).
    pub figures: serde_json::Map<String, serde_json::Value>,
    /// Invariants checked through the API after the load.
    pub invariants: Vec<Invariant>,
    /// Whether every invariant held.
    pub ok: bool,
}

impl ScenarioReport {
    /// Adds a figure.
    pub fn figure(&mut self, name: &str, value: impl Into<serde_json::Value>) {
        self.figures.insert(name.into(), value.into());
    }

    /// Prints the human summary to stdout.
    pub fn print(&self) {
        println!();
        println!(
            "== {} ({}; prefix {}; setup {:.1} s)",
            self.scenario, self.base_url, self.prefix, self.setup_s
        );
        for p in &self.phases {
            println!(
                "  {:<26} {:<44} {:>9.0} req/s  {:>8} calls in {:>6.1} s",
                p.name, p.mode, p.requests_per_s, p.requests, p.elapsed_s
            );
            println!(
                "  {:<26} latency (from {}): p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms",
                "",
                p.latency_from,
                p.latency.p50_ms,
                p.latency.p99_ms,
                p.latency.p999_ms,
                p.latency.max_ms
            );
            let status: Vec<String> = p.status.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            println!("  {:<26} status {}", "", status.join(", "));
        }
        for (k, v) in &self.figures {
            println!("  {k} = {v}");
        }
        for i in &self.invariants {
            println!(
                "  [{}] {} = {} ({})",
                if i.ok { "ok" } else { "FAIL" },
                i.name,
                i.value,
                i.detail
            );
        }
        println!(
            "  => {}",
            if self.ok {
                "all invariants hold"
            } else {
                "INVARIANT VIOLATED"
            }
        );
    }
}
