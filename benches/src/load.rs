//! The load engine: runs an operation closed-loop (fixed concurrency, as fast
//! as the server answers) or open-loop (fixed arrival rate), records every
//! HTTP call's latency in an HdrHistogram and its status, and prints a live
//! progress line once per second.
//!
//! Open loop measures each request from its *intended* send time
//! (`start + seq / rate`), not from when a worker got round to sending it, so
//! a stalled server shows up in the percentiles instead of silently lowering
//! the offered load (coordinated omission).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency the histograms hold (larger values are clamped).
const MAX_MICROS: u64 = 120_000_000;
/// Status codes counted individually (0 stands for a transport error).
const STATUSES: usize = 600;

/// Latencies and status counts of every HTTP call of one phase.
pub struct Stats {
    hist: Mutex<Histogram<u64>>,
    status: Vec<AtomicU64>,
    calls: AtomicU64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            hist: Mutex::new(new_histogram()),
            status: (0..STATUSES).map(|_| AtomicU64::new(0)).collect(),
            calls: AtomicU64::new(0),
        }
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds")
}

impl Stats {
    /// Records one call: its status (0 for a transport error) and latency.
    pub fn record(&self, status: u16, latency: Duration) {
        let micros = (latency.as_micros() as u64).clamp(1, MAX_MICROS);
        self.hist
            .lock()
            .expect("histogram lock")
            .saturating_record(micros);
        let i = usize::from(status).min(STATUSES - 1);
        self.status[i].fetch_add(1, Ordering::Relaxed);
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Calls recorded so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Count per status (`"err"` for transport errors), non-zero ones only.
    pub fn status_counts(&self) -> BTreeMap<String, u64> {
        self.status
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let n = c.load(Ordering::Relaxed);
                let name = if i == 0 { "err".into() } else { i.to_string() };
                (n > 0).then_some((name, n))
            })
            .collect()
    }

    /// Calls answered with `status`.
    pub fn count(&self, status: u16) -> u64 {
        self.status[usize::from(status).min(STATUSES - 1)].load(Ordering::Relaxed)
    }

    /// The latency at `quantile` (0..=1) in milliseconds.
    pub fn quantile_ms(&self, quantile: f64) -> f64 {
        let h = self.hist.lock().expect("histogram lock");
        h.value_at_quantile(quantile) as f64 / 1000.0
    }

    fn summary(&self) -> Latency {
        let h = self.hist.lock().expect("histogram lock");
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        Latency {
            p50_ms: ms(0.5),
            p90_ms: ms(0.9),
            p99_ms: ms(0.99),
            p999_ms: ms(0.999),
            max_ms: h.max() as f64 / 1000.0,
            mean_ms: h.mean() / 1000.0,
        }
    }
}

/// How requests are offered.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// `concurrency` workers, each sending its next request when the last one is answered.
    Closed {
        /// Requests in flight at once.
        concurrency: usize,
    },
    /// Requests start at `rate` per second whatever the answers; at most
    /// `max_in_flight` at once (late ones still count from their intended time).
    Open {
        /// Requests per second.
        rate: f64,
        /// Cap on requests in flight (connections).
        max_in_flight: usize,
    },
}

/// One load phase: a mode and when to stop (whichever limit comes first).
#[derive(Debug, Clone)]
pub struct Phase {
    /// Name in the progress line and the report (`scenario/phase`).
    pub name: String,
    /// Closed or open loop.
    pub mode: Mode,
    /// Stop starting new iterations after this long.
    pub duration: Option<Duration>,
    /// Stop after this many iterations.
    pub iterations: Option<u64>,
}

/// A boxed future of one iteration.
pub type BoxFut = Pin<Box<dyn Future<Output = ()> + Send>>;
/// One iteration: given its sequence number and the instant its latency
/// counts from, makes one or more calls and records them in the phase's stats.
pub type Op = Arc<dyn Fn(u64, Instant) -> BoxFut + Send + Sync>;

/// Latency percentiles of a phase, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Slowest call.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

/// What a phase measured.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseResult {
    /// `scenario/phase`.
    pub name: String,
    /// `closed(c=64)` or `open(rate=…/s)`.
    pub mode: String,
    /// What latency is measured from.
    pub latency_from: &'static str,
    /// Wall time of the phase, seconds.
    pub elapsed_s: f64,
    /// Iterations completed.
    pub iterations: u64,
    /// HTTP calls made.
    pub requests: u64,
    /// HTTP calls per second.
    pub requests_per_s: f64,
    /// Offered rate (open loop only).
    pub offered_per_s: Option<f64>,
    /// Latency percentiles.
    pub latency: Latency,
    /// Calls per status code (`err` = transport error).
    pub status: BTreeMap<String, u64>,
}

/// A shell command started when each load phase starts and interrupted
/// (SIGINT) when it ends, e.g. `perf record -p <server pid>`; it sees the
/// phase name in `AGUSTO_BENCH_PHASE` (`/` replaced by `-`).
pub static PHASE_HOOK: OnceLock<String> = OnceLock::new();

fn start_hook(phase: &str) -> Option<std::process::Child> {
    let cmd = PHASE_HOOK.get()?;
    let child = std::process::Command::new("sh")
        .args(["-c", &format!("exec {cmd}")])
        .env("AGUSTO_BENCH_PHASE", phase.replace('/', "-"))
        .spawn();
    match child {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("phase hook did not start: {e}");
            None
        }
    }
}

fn stop_hook(child: Option<std::process::Child>) {
    if let Some(mut c) = child {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &c.id().to_string()])
            .status();
        let _ = c.wait();
    }
}

/// Runs `op` under `phase`, recording into `stats` (which the op also holds).
pub async fn run(phase: &Phase, stats: Arc<Stats>, op: Op) -> PhaseResult {
    let hook = start_hook(&phase.name);
    let start = Instant::now();
    let deadline = phase.duration.map(|d| start + d);
    let limit = phase.iterations.unwrap_or(u64::MAX);
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let progress = tokio::spawn(progress(
        phase.name.clone(),
        stats.clone(),
        finished.clone(),
    ));
    let (workers, interval) = match phase.mode {
        Mode::Closed { concurrency } => (concurrency.max(1), None),
        Mode::Open {
            rate,
            max_in_flight,
        } => (max_in_flight.max(1), Some(1.0 / rate.max(0.001))),
    };
    let mut tasks = Vec::with_capacity(workers);
    for _ in 0..workers {
        let (next, done, op) = (next.clone(), done.clone(), op.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                if seq >= limit {
                    break;
                }
                let at = match interval {
                    Some(i) => start + Duration::from_secs_f64(i * seq as f64),
                    None => Instant::now(),
                };
                if deadline.is_some_and(|d| at >= d) {
                    break;
                }
                if interval.is_some() {
                    tokio::time::sleep_until(at.into()).await;
                }
                op(seq, at).await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    stop_hook(hook);
    finished.store(true, Ordering::Relaxed);
    let _ = progress.await;
    let requests = stats.calls();
    PhaseResult {
        name: phase.name.clone(),
        mode: match phase.mode {
            Mode::Closed { concurrency } => format!("closed(c={concurrency})"),
            Mode::Open {
                rate,
                max_in_flight,
            } => format!("open(rate={rate:.0}/s, max_in_flight={max_in_flight})"),
        },
        latency_from: match phase.mode {
            Mode::Closed { .. } => "actual send time (closed loop)",
            Mode::Open { .. } => "intended send time (coordinated-omission corrected)",
        },
        elapsed_s: elapsed,
        iterations: done.load(Ordering::Relaxed),
        requests,
        requests_per_s: requests as f64 / elapsed.max(1e-9),
        offered_per_s: match phase.mode {
            Mode::Open { rate, .. } => Some(rate),
            Mode::Closed { .. } => None,
        },
        latency: stats.summary(),
        status: stats.status_counts(),
    }
}

/// Prints `name elapsed req/s p99 statuses` to stderr once per second.
async fn progress(name: String, stats: Arc<Stats>, finished: Arc<AtomicBool>) {
    let start = Instant::now();
    let mut last = (start, 0u64);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.tick().await;
    while !finished.load(Ordering::Relaxed) {
        tick.tick().await;
        let now = Instant::now();
        if now.duration_since(last.0) < Duration::from_secs(1) {
            continue;
        }
        let calls = stats.calls();
        let rate = (calls - last.1) as f64 / now.duration_since(last.0).as_secs_f64();
        last = (now, calls);
        let status: Vec<String> = stats
            .status_counts()
            .into_iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect();
        eprintln!(
            "[{name}] {:6.1}s {:>8.0} req/s  p99 {:7.2} ms  total {calls}  {}",
            now.duration_since(start).as_secs_f64(),
            rate,
            stats.quantile_ms(0.99),
            status.join(" ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_loop_counts_latency_from_the_intended_time() {
        let stats = Arc::new(Stats::default());
        let s = stats.clone();
        // One worker, 100/s offered, each call takes 50 ms: requests queue up,
        // and the later ones wait far longer than 50 ms since their slot.
        let op: Op = Arc::new(move |_, at| {
            let s = s.clone();
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                s.record(200, at.elapsed());
            })
        });
        let phase = Phase {
            name: "t".into(),
            mode: Mode::Open {
                rate: 100.0,
                max_in_flight: 1,
            },
            duration: None,
            iterations: Some(10),
        };
        let r = run(&phase, stats, op).await;
        assert_eq!(r.iterations, 10);
        assert_eq!(r.status.get("200"), Some(&10));
        assert!(r.latency.max_ms > 300.0, "{:?}", r.latency);
    }
}
