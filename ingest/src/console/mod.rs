//! The warehouse staff console at `/console`: server-rendered HTML pages
//! (askama templates under `ingest/templates/console/`) with a little
//! hand-written JavaScript, for the pick list, order picking, packing and
//! dispatch, stock lookup, receipts and adjustments, and webhook dead letters.
//!
//! The console is a client of the public REST API and nothing else: every
//! read and change is an in-process request to the same `/api/v1` router a
//! storefront calls ([`api::Api`]), made with the signed-in staff member's
//! token. So it sees exactly what the API allows that token, and a revoked
//! token ends its console sessions (the next API answer is a 401).
//!
//! Security: the token lives only in the server-side session table; the
//! browser holds a random session id in an `HttpOnly; SameSite=Strict`
//! cookie. Every change is a POST carrying the session's CSRF token (and an
//! `Origin`, when the browser sends one, of this host). Every answer carries
//! a Content-Security-Policy that allows scripts and styles from this origin
//! only (no inline script).
//!
//! Left out on purpose: returns receiving. API.md describes a returns API,
//! but this server does not serve it yet, and the console uses only the API;
//! the page comes with that API.

mod api;
mod assets;
mod frame;
mod i18n;
mod orders;
mod pick_list;
mod session;
mod sign_in;
mod stock;
mod stock_forms;
mod webhooks;

#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};

/// What every console handler shares: the API it calls and the sessions.
pub(crate) struct Console {
    /// The `/api/v1` router, called in-process.
    pub(crate) api: api::Api,
    /// Signed-in sessions.
    pub(crate) sessions: session::Sessions,
    /// Product names and barcodes, briefly cached.
    pub(crate) catalogue: stock::CatalogueCache,
}

/// Shared console state.
pub(crate) type Shared = Arc<Console>;

/// The console's routes, all under `/console`, calling `api` (the finished
/// API router, with its state) for every read and change.
pub(crate) fn router(api: Router) -> Router {
    let state = Arc::new(Console {
        api: api::Api::new(api),
        sessions: session::Sessions::default(),
        catalogue: stock::CatalogueCache::default(),
    });
    Router::new()
        .route("/console", get(sign_in::home))
        .route("/console/", get(sign_in::home))
        .route("/console/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/console/sign-out", post(sign_in::sign_out))
        .route("/console/lang/{code}", get(sign_in::switch_language))
        .route("/console/assets/{name}", get(assets::serve))
        .route("/console/pick-list", get(pick_list::page))
        .route("/console/pick-list/rows", get(pick_list::rows))
        .route("/console/pick-list/print", get(pick_list::print))
        .route("/console/orders/{id}", get(orders::page))
        .route("/console/orders/{id}/slip", get(orders::slip))
        .route("/console/orders/{id}/{action}", post(orders::act))
        .route("/console/stock", get(stock::search))
        .route("/console/stock/{code}", get(stock::product))
        .route("/console/stock/{code}/receipt", post(stock_forms::receipt))
        .route(
            "/console/stock/{code}/adjustment",
            post(stock_forms::adjustment),
        )
        .route("/console/webhooks", get(webhooks::page))
        .route("/console/webhooks/replay", post(webhooks::replay))
        .layer(axum::middleware::from_fn(protect))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(state)
}

/// The Content-Security-Policy of every console answer: scripts, styles and
/// fetches from this origin only; no inline script, no framing, forms post
/// only here.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// Middleware: security headers on every console answer.
async fn protect(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: with the latter a browser sends
    // `Origin: null` on form posts, and the CSRF check reads the Origin.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}
