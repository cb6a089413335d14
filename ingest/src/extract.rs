//! Request parsing at the edge: JSON bodies, path segments and query strings,
//! with their failures turned into the API's problem responses (400 / 408 / 413).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// A JSON object body: 413 beyond the configured limit, 408 when it does not
/// arrive within the read timeout, 400 when it is not a
/// JSON object of the expected shape. (serde would also fill a struct from a
/// JSON array, field by field in order; every body of the API is an object,
/// so anything else is refused up front.)
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<AppState>> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let wait = state.settings.read_timeout;
        let read = tokio::time::timeout(wait, Bytes::from_request(req, state))
            .await
            .map_err(|_| {
                ApiError::RequestTimeout(wait.as_millis().try_into().unwrap_or(u64::MAX))
            })?;
        let bytes = read.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(state.settings.max_body_bytes)
            } else {
                ApiError::Malformed(r.body_text())
            }
        })?;
        if !starts_as_object(&bytes) {
            return Err(ApiError::Malformed("the body must be a JSON object".into()));
        }
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| ApiError::Malformed(e.to_string()))
    }
}

/// True when the first non-whitespace byte opens a JSON object.
fn starts_as_object(body: &[u8]) -> bool {
    body.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        == Some(&b'{')
}

/// For `Option<Vec>` fields of structs: like [`objects`], `null` is `None`.
pub fn opt_objects<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize;
    Option::<Vec<serde_json::Map<String, serde_json::Value>>>::deserialize(d)?
        .map(|items| {
            items
                .into_iter()
                .map(|m| {
                    serde_json::from_value(serde_json::Value::Object(m))
                        .map_err(serde::de::Error::custom)
                })
                .collect()
        })
        .transpose()
}

/// For `Vec` fields of structs (`#[serde(deserialize_with = "objects")]`):
/// each element must be a JSON object, as for [`ApiJson`] at the top level.
pub fn objects<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize;
    Vec::<serde_json::Map<String, serde_json::Value>>::deserialize(d)?
        .into_iter()
        .map(|m| {
            serde_json::from_value(serde_json::Value::Object(m)).map_err(serde::de::Error::custom)
        })
        .collect()
}

/// Path parameters: like axum's `Path`, but a segment that cannot be decoded
/// (e.g. `%FF`, not UTF-8) is a 400 problem, not axum's plain-text rejection.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|r| ApiError::Malformed(format!("path: {}", r.body_text())))
    }
}

/// The query string as name/value pairs (names may repeat, e.g. `sku=A&sku=B`).
pub struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(q)
            .map(Params)
            .map_err(|e| ApiError::Malformed(format!("query: {e}")))
    }
}

/// Largest page a list returns.
pub const MAX_LIMIT: usize = 1000;

impl Params {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// `limit` in 1..=1000, `default` when absent.
    pub fn limit(&self, default: usize) -> ApiResult<usize> {
        match self.get("limit") {
            None => Ok(default),
            Some(v) => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| ApiError::Malformed("limit must be an integer".into()))?;
                if (1..=MAX_LIMIT as i64).contains(&n) {
                    Ok(n as usize)
                } else {
                    Err(ApiError::invalid(
                        "limit",
                        format!("must be between 1 and {MAX_LIMIT}"),
                    ))
                }
            }
        }
    }

    /// The opaque paging cursor.
    pub fn cursor(&self) -> Option<&str> {
        self.get("cursor").filter(|c| !c.is_empty())
    }

    /// A boolean parameter (`true` / `false`).
    pub fn flag(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::Malformed(format!("{name} must be true or false"))),
        }
    }

    /// An RFC 3339 timestamp parameter.
    pub fn timestamp(&self, name: &str) -> ApiResult<Option<agusto_schemas::Timestamp>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| Some(t.with_timezone(&chrono::Utc)))
                .map_err(|_| ApiError::Malformed(format!("{name} must be an RFC 3339 timestamp"))),
        }
    }
}

/// Checks a text field's length (in characters) and that it is not blank.
pub fn text(field: &str, value: &str, max: usize, errors: &mut Vec<crate::error::FieldError>) {
    if value.trim().is_empty() {
        errors.push(crate::error::FieldError::new(field, "must not be empty"));
    } else if value.chars().count() > max {
        errors.push(crate::error::FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    } else if value.chars().any(char::is_control) {
        errors.push(crate::error::FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
}

/// Checks a code (product code, SKU, external id): 1..=`max` characters,
/// no whitespace or control characters.
pub fn code(field: &str, value: &str, max: usize, errors: &mut Vec<crate::error::FieldError>) {
    if value.is_empty() || value.chars().count() > max {
        errors.push(crate::error::FieldError::new(
            field,
            format!("must be 1 to {max} characters"),
        ));
    } else if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        errors.push(crate::error::FieldError::new(
            field,
            "must not contain whitespace or control characters",
        ));
    }
}

/// The optional `Idempotency-Key` header: 1–255 visible ASCII characters
/// (`!` to `~`), else a field error (422).
pub fn idempotency_key(
    headers: &axum::http::HeaderMap,
    errors: &mut Vec<crate::error::FieldError>,
) -> Option<String> {
    let value = headers.get("idempotency-key")?;
    let bytes = value.as_bytes();
    if !bytes.is_empty() && bytes.len() <= 255 && bytes.iter().all(|b| (0x21..=0x7e).contains(b)) {
        // Visible ASCII is UTF-8.
        return Some(String::from_utf8_lossy(bytes).into_owned());
    }
    errors.push(crate::error::FieldError::new(
        "Idempotency-Key",
        "must be 1 to 255 visible ASCII characters",
    ));
    None
}

/// SHA-256 (hex) of a request's canonical JSON: what makes a retried
/// request (same key, same body) recognisable, and a reused key not.
pub fn fingerprint(canonical: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(canonical.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `Ok(())` when no field error was collected, else 422 with all of them.
pub fn valid(errors: Vec<crate::error::FieldError>) -> ApiResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Line {
        #[allow(dead_code)]
        sku: String,
    }

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(deserialize_with = "objects")]
        lines: Vec<Line>,
    }

    #[test]
    fn bodies_and_their_lines_must_be_objects_not_arrays() {
        assert!(starts_as_object(b" \r\n\t{\"a\": 1}"));
        assert!(!starts_as_object(b"[\"staff\", \"ci\"]"));
        assert!(!starts_as_object(b""));
        let ok: Body = serde_json::from_str(r#"{"lines": [{"sku": "A"}]}"#).unwrap();
        assert_eq!(ok.lines.len(), 1);
        // serde alone would fill `Line` from `["A"]`.
        assert!(serde_json::from_str::<Body>(r#"{"lines": [["A"]]}"#).is_err());
    }
}
