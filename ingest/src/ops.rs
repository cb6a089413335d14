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
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(openapi_document))
}

/// Liveness: the process is up.
///
/// Always 200 `ok` while the process serves HTTP; it checks nothing else.
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "getHealth",
    responses((status = 200, description = "The process is up", body = String, content_type = "text/plain", example = "ok")))]
pub(crate) async fn health() -> (StatusCode, &'static str) {
    (StatusCode::OK, "ok")
}

/// The OpenAPI document of this API.
///
/// This document: every operation with its parameters, bodies, answers and
/// examples. Needs no token.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", operation_id = "getOpenApiDocument",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object,
        example = json!({"openapi": "3.1.0", "info": {"title": "Agusto WMS", "version": "0.1.0"}, "paths": {}}))))]
pub(crate) async fn openapi_document() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}

/// Readiness: the bus and the store are reachable.
///
/// 200 `ready` only when this process reaches its bus (the writers, or Kafka)
/// and its store; 503 `unavailable` otherwise, so a load balancer sends no
/// traffic to it.
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "getReadiness",
    responses((status = 200, description = "Bus and store are reachable", body = String, content_type = "text/plain", example = "ready"),
              (status = 503, description = "`unavailable`: the bus or the store is not reachable", body = crate::error::Problem,
               content_type = "application/problem+json",
               headers(("Retry-After" = crate::openapi::RetryAfter, description = "Whole seconds to wait before trying again")))))]
pub(crate) async fn ready(State(state): State<Arc<AppState>>) -> Result<&'static str, ApiError> {
    state.store.ping().await?;
    state
        .warehouse
        .ready()
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok("ready")
}

/// The Prometheus text exposition of every registered metric.
///
/// Request rates and latencies, commands applied, reservations, consumer lag,
/// webhook attempts and more, in the Prometheus text format (0.0.4). Needs no
/// token; it can also be served on a separate address (`metrics_listen`).
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "getMetrics",
    responses((status = 200, description = "Every metric, Prometheus text format", body = String, content_type = "text/plain",
        example = "# HELP agusto_http_requests_total HTTP requests by method, route and status\n# TYPE agusto_http_requests_total counter\nagusto_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1\n")))]
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
