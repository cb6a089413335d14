//! Agusto WMS HTTP ingress: the REST API of API.md over axum. Handlers are
//! thin: they parse input into commands at the edge, hand them to the
//! [`agusto_workers::Warehouse`] or read the [`agusto_store::Store`], and map
//! results to responses and problem+json errors.

pub mod auth;
pub mod cache;
mod console;
pub mod error;
pub mod extract;
pub mod openapi;
mod ops;
pub mod server;
pub use ops::metrics as metrics_handler;
mod routes;
mod telemetry;

use std::sync::Arc;
use std::time::Duration;

use agusto_store::Store;
use agusto_workers::Warehouse;
use axum::Router;
use axum::extract::DefaultBodyLimit;

pub use auth::{new_id, new_secret, token_hash};

/// Settings of the ingress.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest accepted request body (413 beyond).
    pub max_body_bytes: usize,
    /// How long an unpaid order holds its stock.
    pub reservation_ttl: Duration,
    /// Requests per second of a channel without its own limit.
    pub default_rate_limit_per_second: u32,
    /// How long tokens, channels and catalogue lookups are cached.
    pub cache_ttl: Duration,
    /// How long a request head (the HTTP layer: the connection is closed,
    /// also when it is an idle keep-alive connection) and a request body
    /// (408) may take to arrive.
    pub read_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_body_bytes: 1_048_576,
            reservation_ttl: Duration::from_secs(1800),
            default_rate_limit_per_second: 1000,
            cache_ttl: Duration::from_secs(1),
            read_timeout: Duration::from_secs(75),
        }
    }
}

/// Shared state of all handlers.
pub struct AppState {
    /// Reads and catalogue/access writes.
    pub store: Arc<dyn Store>,
    /// Stock and order commands.
    pub warehouse: Arc<Warehouse>,
    /// Settings.
    pub settings: Settings,
    /// Per-channel rate limits.
    pub limiter: auth::RateLimiter,
    /// Cached hot-path lookups.
    pub lookups: cache::Lookups,
}

/// The whole HTTP application: `/api/v1/*`, `/healthz`, `/readyz`,
/// `/metrics`, and the staff console at `/console` (a client of the same
/// API router, called in-process).
pub fn app(store: Arc<dyn Store>, warehouse: Arc<Warehouse>, settings: Settings) -> Router {
    let limit = settings.max_body_bytes;
    let lookups = cache::Lookups::new(settings.cache_ttl);
    let state = Arc::new(AppState {
        store,
        warehouse,
        settings,
        limiter: auth::RateLimiter::default(),
        lookups,
    });
    let api = routes::router()
        .merge(ops::router())
        .fallback(ops::no_route)
        .method_not_allowed_fallback(ops::no_method)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(telemetry::observe))
        .with_state(state);
    let console = console::router(api.clone()).layer(axum::middleware::from_fn(telemetry::observe));
    api.merge(console)
}
