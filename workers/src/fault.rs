//! Fault injection for tests, off unless its variable is set.

/// Fault injection for tests: `AGUSTO_FAULT_FIRST_STOCK_WRITE_PAUSE_MS` makes
/// the first store write of this process wait that long (once), so that a
/// test can make a writer a zombie — evicted from its consumer group while
/// it holds a decided batch. Unset in production.
pub(crate) fn first_write_pause() -> Option<std::time::Duration> {
    static PAUSE: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    static TAKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let ms = (*PAUSE.get_or_init(|| {
        std::env::var("AGUSTO_FAULT_FIRST_STOCK_WRITE_PAUSE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
    }))?;
    (!TAKEN.swap(true, std::sync::atomic::Ordering::SeqCst))
        .then(|| std::time::Duration::from_millis(ms))
}

/// Fault injection for tests: `AGUSTO_FAULT_SAGA_CRASH=<point>` kills this
/// process (abort: no destructor, no flush, as kill -9) the first time a
/// saga reaches `point`: `placing`, `applying` or `compensating` (the home
/// partition's batch recording such a step is durable, no participant was
/// asked yet) or `answer` (a participant applied its part, its answer is
/// not on the home's log yet). Unset in production.
pub(crate) fn saga_crash(point: &str) {
    static POINT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let wanted = POINT.get_or_init(|| std::env::var("AGUSTO_FAULT_SAGA_CRASH").ok());
    if wanted.as_deref() == Some(point) {
        tracing::error!(point, "fault injection: killing the process at a saga step");
        std::process::abort();
    }
}
