//! Operations endpoints: liveness, readiness, Prometheus metrics, OpenAPI.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use crate::AppState;
use crate::error::ApiError;

pub(crate) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/healthz", get(|| async { (StatusCode::OK, "ok") }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(|| async { Json(crate::openapi::document()) }))
}

async fn ready(State(state): State<Arc<AppState>>) -> Result<&'static str, ApiError> {
    state.store.ping().await?;
    Ok("ready")
}

/// The Prometheus text exposition of every registered metric.
pub async fn metrics() -> impl IntoResponse {
    let families = prometheus::gather();
    let body = prometheus::TextEncoder::new().encode_to_string(&families).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
