//! Operations endpoints: liveness, readiness, Prometheus metrics, OpenAPI;
//! and the problem+json answers for unknown routes and methods.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
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
        .route(
            "/api/v1/openapi.json",
            get(|| async { Json(crate::openapi::document()) }),
        )
}

async fn ready(State(state): State<Arc<AppState>>) -> Result<&'static str, ApiError> {
    state.store.ping().await?;
    state
        .warehouse
        .ready()
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok("ready")
}

/// The Prometheus text exposition of every registered metric.
pub async fn metrics() -> impl IntoResponse {
    let families = prometheus::gather();
    let body = prometheus::TextEncoder::new()
        .encode_to_string(&families)
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

/// Fallback for paths no route matches: a 404 problem like every other error.
pub(crate) async fn no_route(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("route {}", uri.path()))
}

/// Fallback for a known path with a method it does not serve: a 405 problem
/// (axum adds the `Allow` header listing the methods that are served).
pub(crate) async fn no_method(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}
