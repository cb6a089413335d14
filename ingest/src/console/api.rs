//! The console's only way to the warehouse: requests to the public `/api/v1`
//! router, made in-process with the signed-in staff member's token, answered
//! exactly as they would be over HTTP.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;

/// Largest API answer the console reads (a page of 1000 orders fits).
const MAX_ANSWER: usize = 32 * 1024 * 1024;

/// A client of the API router.
pub(crate) struct Api {
    router: Router,
}

/// An API problem (RFC 9457 body), or a failure to reach the API at all.
#[derive(Debug, Clone, Default)]
pub(crate) struct Problem {
    /// HTTP status.
    pub(crate) status: u16,
    /// The problem's `code` (`invalid_transition`, …).
    pub(crate) code: String,
    /// The problem's `detail`, in English.
    pub(crate) detail: String,
    /// `validation_failed`: each field that breaks a rule (`field`, `message`).
    pub(crate) errors: Vec<(String, String)>,
    /// `insufficient_stock`: each short line (`sku`, `requested`, `available`).
    pub(crate) shortages: Vec<(String, i64, i64)>,
    /// `unknown_sku`: the SKUs without a product.
    pub(crate) skus: Vec<String>,
    /// `conflict` of an adjustment's `expected_version`: the product's version now.
    pub(crate) current_version: Option<i64>,
}

/// At most this many entries of a problem's list are kept.
const MAX_DETAILS: usize = 20;

impl Problem {
    /// A problem with `status`, `code` and `detail` and nothing more.
    pub(crate) fn new(status: u16, code: &str, detail: impl Into<String>) -> Self {
        Problem {
            status,
            code: code.to_owned(),
            detail: detail.into(),
            ..Problem::default()
        }
    }

    /// The problem of an answer with `status` and JSON `body`: its `detail`
    /// (else its `title`) and the extra fields of API.md's problem table,
    /// each entry read only when it has the documented shape.
    pub(crate) fn from_body(status: u16, body: &Value) -> Self {
        let list = |k: &str| {
            let all = body.get(k).and_then(Value::as_array).map(Vec::as_slice);
            all.unwrap_or(&[]).iter().take(MAX_DETAILS)
        };
        let mut detail = s(body, "detail");
        if detail.is_empty() {
            detail = s(body, "title");
        }
        Problem {
            status,
            code: s(body, "code"),
            detail,
            errors: list("errors")
                .filter(|e| e.is_object())
                .map(|e| (s(e, "field"), s(e, "message")))
                .filter(|(f, m)| !f.is_empty() || !m.is_empty())
                .collect(),
            shortages: list("shortages")
                .filter_map(|l| Some((s(l, "sku"), i(l, "requested")?, i(l, "available")?)))
                .collect(),
            skus: list("skus")
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect(),
            current_version: i(body, "current_version"),
        }
    }

    /// True when the token is missing, unknown or revoked.
    pub(crate) fn signed_out(&self) -> bool {
        self.status == 401
    }
}

/// One API call's outcome: the JSON body of a 2xx answer, or its problem.
pub(crate) type Answer = Result<(StatusCode, Value), Problem>;

/// One request to make.
pub(crate) struct Call<'a> {
    /// Method.
    pub(crate) method: Method,
    /// Path and query, e.g. `/api/v1/orders?status=pending_approval`.
    pub(crate) uri: String,
    /// JSON body, if any.
    pub(crate) body: Option<Value>,
    /// `Idempotency-Key` header, if any.
    pub(crate) idempotency_key: Option<&'a str>,
}

impl Call<'_> {
    /// A GET of `uri`.
    pub(crate) fn get(uri: impl Into<String>) -> Self {
        Call {
            method: Method::GET,
            uri: uri.into(),
            body: None,
            idempotency_key: None,
        }
    }

    /// A POST of `body` to `uri`.
    pub(crate) fn post(uri: impl Into<String>, body: Value) -> Self {
        Call {
            method: Method::POST,
            uri: uri.into(),
            body: Some(body),
            idempotency_key: None,
        }
    }
}

impl Api {
    /// A client of `router` (the finished API router).
    pub(crate) fn new(router: Router) -> Self {
        Api { router }
    }

    /// Makes `call` with `token`, as if from `peer`.
    pub(crate) async fn call(
        &self,
        token: &str,
        peer: Option<SocketAddr>,
        call: Call<'_>,
    ) -> Answer {
        let mut req = Request::builder()
            .method(call.method)
            .uri(&call.uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header("x-request-id", crate::auth::new_id("console"));
        if let Some(key) = call.idempotency_key {
            req = req.header("idempotency-key", key);
        }
        let body = match call.body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let mut req = req.body(body).map_err(|e| unreachable_api(&e))?;
        if let Some(peer) = peer {
            req.extensions_mut().insert(ConnectInfo(peer));
        }
        let resp = tower::ServiceExt::oneshot(self.router.clone(), req)
            .await
            .map_err(|e| unreachable_api(&e))?;
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), MAX_ANSWER)
            .await
            .map_err(|e| unreachable_api(&e))?;
        let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok((status, json));
        }
        Err(Problem::from_body(status.as_u16(), &json))
    }
}

fn unreachable_api(e: &dyn std::fmt::Display) -> Problem {
    tracing::warn!(error = %e, "console: the API call failed");
    Problem::new(503, "unavailable", "")
}

/// Percent-encodes one path segment or query value.
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A string field of a JSON object, empty when absent.
pub(crate) fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// An integer field of a JSON object.
pub(crate) fn i(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(Value::as_i64)
}

/// The `items` array of a page.
pub(crate) fn items(v: &Value) -> &[Value] {
    v.get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// A time from the API (RFC 3339) shown as `YYYY-MM-DD HH:MM UTC`.
pub(crate) fn when(v: &Value, k: &str) -> String {
    let raw = s(v, k);
    chrono::DateTime::parse_from_rfc3339(&raw)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        })
        .unwrap_or(raw)
}
