//! API errors: one enum, mapped to `application/problem+json` (RFC 9457) with
//! the codes of API.md in one place. Every problem carries the request id;
//! a 5xx carries only a generic `detail`: its cause (store, bus or file
//! errors) goes to the log, with the request id, never to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// A field that breaks a rule.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON path of the field, e.g. `lines[0].quantity`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A line that could not be reserved in full.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShortageBody {
    /// The channel's SKU.
    pub sku: String,
    /// Units asked for.
    pub requested: i64,
    /// Units available when the order was decided.
    pub available: i64,
}

/// Every error the API answers with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: not JSON, or wrong types.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// 401: token missing or unknown.
    #[error("missing or unknown token")]
    Unauthorized,
    /// 403: the role may not call this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 403: caller's IP is outside the channel's allow-list.
    #[error("ip {0} not allowed for this channel")]
    IpNotAllowed(String),
    /// 404.
    #[error("{0} not found")]
    NotFound(String),
    /// 405: the path exists, the method does not (with an `Allow` header).
    #[error("method {0} not allowed here")]
    MethodNotAllowed(String),
    /// 409: the order's status does not allow the action.
    #[error("order is {status}; cannot {action}")]
    InvalidTransition {
        /// Current status.
        status: String,
        /// Refused action.
        action: String,
    },
    /// 409: duplicate with different content.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 409: an adjustment's `expected_version` is not the product's version.
    #[error("the product is at version {current_version}, not the expected_version")]
    VersionConflict {
        /// The product's version now.
        current_version: i64,
    },
    /// 408: the request body did not arrive within the read timeout.
    #[error("the request body did not arrive within {0} ms")]
    RequestTimeout(u64),
    /// 413.
    #[error("body larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 414: the request URI is longer than the HTTP layer accepts.
    #[error(
        "the request URI is longer than 65534 bytes; ask for fewer items per request (stock-levels: at most 1000 SKUs)"
    )]
    UriTooLong,
    /// 431: too many header fields, or a request head too large.
    #[error("more than 100 header fields, or a request line and headers over 400 KiB")]
    HeadersTooLarge,
    /// 422: not enough stock.
    #[error("insufficient stock")]
    InsufficientStock(Vec<ShortageBody>),
    /// 422: SKUs without a product for this channel.
    #[error("unknown sku")]
    UnknownSku(Vec<String>),
    /// 422: well-formed input that breaks a rule.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 429, with the seconds to wait.
    #[error("rate limited")]
    RateLimited(u64),
    /// 503: bus or store unreachable. The text is the cause, for the log only.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// The `detail` of every 5xx answer: nothing about the cause, which is logged.
pub const SERVER_ERROR_DETAIL: &str = "The warehouse cannot complete this request right now. \
    Retry after the Retry-After delay (stock changes and orders with the same Idempotency-Key); \
    quote the request_id when reporting it.";

/// Result of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A 422 for one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use ApiError::*;
        match self {
            Malformed(_) => (
                StatusCode::BAD_REQUEST,
                "malformed_request",
                "Malformed request",
            ),
            Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            IpNotAllowed(_) => (
                StatusCode::FORBIDDEN,
                "ip_not_allowed",
                "IP address not allowed",
            ),
            NotFound(_) => (StatusCode::NOT_FOUND, "not_found", "Not found"),
            MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
            ),
            InvalidTransition { .. } => (
                StatusCode::CONFLICT,
                "invalid_transition",
                "Invalid order transition",
            ),
            Conflict(_) | VersionConflict { .. } => (StatusCode::CONFLICT, "conflict", "Conflict"),
            RequestTimeout(_) => (
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "Request timeout",
            ),
            PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Payload too large",
            ),
            UriTooLong => (StatusCode::URI_TOO_LONG, "uri_too_long", "URI too long"),
            HeadersTooLarge => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                "Request headers too large",
            ),
            InsufficientStock(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "insufficient_stock",
                "Insufficient stock",
            ),
            UnknownSku(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_sku",
                "Unknown SKU",
            ),
            Validation(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "Validation failed",
            ),
            RateLimited(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Rate limited",
            ),
            Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
        }
    }
}

impl From<agusto_store::Error> for ApiError {
    fn from(e: agusto_store::Error) -> Self {
        match e {
            agusto_store::Error::InvalidCursor => {
                ApiError::invalid("cursor", "not a cursor this server issued")
            }
            agusto_store::Error::Conflict(why) => ApiError::Conflict(why),
            other => ApiError::Unavailable(other.to_string()),
        }
    }
}

impl ApiError {
    /// The problem+json document of this error (a 5xx gets the generic
    /// [`SERVER_ERROR_DETAIL`]).
    pub fn problem(&self, request_id: Option<String>) -> Value {
        let (status, code, title) = self.parts();
        let detail = if status.is_server_error() {
            SERVER_ERROR_DETAIL.to_owned()
        } else {
            self.to_string()
        };
        let mut body = json!({
            "type": format!("https://agusto.dev/problems/{code}"),
            "title": title,
            "status": status.as_u16(),
            "detail": detail,
            "code": code,
        });
        if let Some(id) = request_id {
            body["request_id"] = Value::String(id);
        }
        let extra: Option<(&str, Value)> = match self {
            ApiError::InsufficientStock(s) => Some(("shortages", json!(s))),
            ApiError::UnknownSku(s) => Some(("skus", json!(s))),
            ApiError::Validation(e) => Some(("errors", json!(e))),
            ApiError::VersionConflict { current_version } => {
                Some(("current_version", json!(current_version)))
            }
            _ => None,
        };
        if let Some((k, v)) = extra {
            body[k] = v;
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.parts().0;
        let request_id = crate::telemetry::request_id();
        if status.is_server_error() {
            tracing::error!(
                request_id = request_id.as_deref().unwrap_or("-"),
                status = status.as_u16(),
                error = %self,
                "request failed"
            );
        }
        let body = self.problem(request_id);
        let mut resp = (status, axum::Json(body)).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        let retry_after = match &self {
            ApiError::RateLimited(s) => Some(*s),
            ApiError::Unavailable(_) => Some(1),
            _ => None,
        };
        if let Some(s) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(s.max(1)));
        }
        resp
    }
}

/// The problem+json body, for the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// URI of the problem type.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What happened. For 5xx answers a generic text: the cause is logged
    /// under `request_id`, never sent.
    pub detail: String,
    /// Machine-readable code (see API.md).
    pub code: String,
    /// The request's id, as in the `x-request-id` response header (the
    /// client's own `x-request-id` when it sent one of at most 128
    /// characters): quote it when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// For `insufficient_stock`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shortages: Option<Vec<ShortageBody>>,
    /// For `unknown_sku`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skus: Option<Vec<String>>,
    /// For `validation_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// For `conflict` on an adjustment whose `expected_version` is not the
    /// product's: its version now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
}
