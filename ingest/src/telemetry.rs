//! One log line and two metrics per request: count by route and status,
//! latency by route. The request id comes from `x-request-id` or is made up;
//! it is echoed in the `x-request-id` response header, set on every log line
//! written while the request is handled (a `request` span), and readable by
//! the error mapping through [`request_id`], which puts it in problem bodies.

use std::sync::LazyLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{HistogramVec, IntCounterVec, register_histogram_vec, register_int_counter_vec};
use tracing::Instrument;

tokio::task_local! {
    /// The id of the request the current task is handling.
    static REQUEST_ID: String;
}

/// The id of the request being handled, when called while handling one.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

static REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "agusto_http_requests_total",
        "HTTP requests by method, route and status",
        &["method", "route", "status"]
    )
    .expect("metric registers once")
});

static LATENCY: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "agusto_http_request_duration_seconds",
        "HTTP request latency by method and route",
        &["method", "route"],
        vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0
        ]
    )
    .expect("metric registers once")
});

/// Middleware: request id, access log line, metrics.
pub async fn observe(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 128)
        .map(str::to_owned)
        .unwrap_or_else(|| crate::auth::new_id("req"));
    let span = tracing::info_span!("request", request_id = %id);
    let mut resp = REQUEST_ID
        .scope(id.clone(), next.run(req).instrument(span))
        .await;
    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    REQUESTS
        .with_label_values(&[&method, &route, &status.to_string()])
        .inc();
    LATENCY
        .with_label_values(&[&method, &route])
        .observe(elapsed.as_secs_f64());
    tracing::info!(request_id = %id, %method, %route, status, micros = elapsed.as_micros() as u64, "request");
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// Counts and logs a request the HTTP layer refused before any route ran
/// (method and route unknown: `unparsed`).
pub fn refused(request_id: &str, error: &crate::error::ApiError) {
    let status = error.status().as_u16();
    REQUESTS
        .with_label_values(&["unparsed", "unparsed", &status.to_string()])
        .inc();
    tracing::info!(request_id, status, error = %error, "request refused by the HTTP layer");
}
