//! The OpenAPI document served at `/api/v1/openapi.json`, generated from the
//! handlers' annotations.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi};

use crate::error::Problem;
use crate::routes::{
    access, catalogue, order_reads, orders, stock, stock_changes, views, webhooks,
};

/// The error responses every `/api/v1` operation may give (problem+json).
/// 405, 408, 414 and 431 come from the HTTP layer, before the operation
/// runs: another method on a known path (with `Allow`), a request body that
/// does not arrive within the read timeout, a URI over 65,534 bytes, more
/// than 100 header fields or a request head over 400 KiB.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum Problems {
    /// Not JSON, wrong types.
    #[response(
        status = 400,
        description = "malformed_request",
        content_type = "application/problem+json"
    )]
    Malformed(#[to_schema] Problem),
    /// Token missing or unknown.
    #[response(
        status = 401,
        description = "unauthorized",
        content_type = "application/problem+json"
    )]
    Unauthorized(#[to_schema] Problem),
    /// Role may not call this, or IP outside the channel's allow-list.
    #[response(
        status = 403,
        description = "forbidden / ip_not_allowed",
        content_type = "application/problem+json"
    )]
    Forbidden(#[to_schema] Problem),
    /// Unknown order, product, SKU, channel or token.
    #[response(
        status = 404,
        description = "not_found",
        content_type = "application/problem+json"
    )]
    NotFound(#[to_schema] Problem),
    /// The path exists, the method does not: see `Allow`.
    #[response(status = 405, description = "method_not_allowed", content_type = "application/problem+json",
        headers(("Allow" = String, description = "The methods the path serves, comma-separated")))]
    MethodNotAllowed(#[to_schema] Problem),
    /// The request body did not arrive within the read timeout
    /// (`AGUSTO_HTTP_READ_TIMEOUT_MS`, 75 s by default).
    #[response(
        status = 408,
        description = "request_timeout",
        content_type = "application/problem+json"
    )]
    RequestTimeout(#[to_schema] Problem),
    /// Order status does not allow this; duplicate with different content.
    #[response(
        status = 409,
        description = "invalid_transition / conflict",
        content_type = "application/problem+json"
    )]
    Conflict(#[to_schema] Problem),
    /// Body over the configured limit.
    #[response(
        status = 413,
        description = "payload_too_large",
        content_type = "application/problem+json"
    )]
    TooLarge(#[to_schema] Problem),
    /// The request URI is longer than 65,534 bytes (e.g. far more than the
    /// 1,000 `sku` parameters stock-levels takes).
    #[response(
        status = 414,
        description = "uri_too_long",
        content_type = "application/problem+json"
    )]
    UriTooLong(#[to_schema] Problem),
    /// insufficient_stock (with shortages), unknown_sku (with skus), validation_failed (with errors).
    #[response(
        status = 422,
        description = "insufficient_stock / unknown_sku / validation_failed",
        content_type = "application/problem+json"
    )]
    Unprocessable(#[to_schema] Problem),
    /// Over the channel's rate; see Retry-After.
    #[response(status = 429, description = "rate_limited", content_type = "application/problem+json",
        headers(("Retry-After" = RetryAfter, description = "Whole seconds to wait before trying again")))]
    RateLimited(#[to_schema] Problem),
    /// More than 100 header fields, or a request line and headers over 400 KiB.
    #[response(
        status = 431,
        description = "headers_too_large",
        content_type = "application/problem+json"
    )]
    HeadersTooLarge(#[to_schema] Problem),
    /// Bus or store unreachable; see Retry-After.
    #[response(status = 503, description = "unavailable", content_type = "application/problem+json",
        headers(("Retry-After" = RetryAfter, description = "Whole seconds to wait before trying again")))]
    Unavailable(#[to_schema] Problem),
}

/// The `Retry-After` header of 429 and 503: delay in whole seconds (≥ 1).
#[derive(utoipa::ToSchema)]
#[schema(value_type = u64, minimum = 1)]
#[allow(dead_code)]
pub struct RetryAfter(u64);

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Agusto WMS", description = "Stock and order fulfilment for online stores (API contract v1)"),
    paths(
        catalogue::put_product, catalogue::list_products, catalogue::put_sku,
        stock::inventory, stock::stock_levels, stock_changes::receipt, stock_changes::adjustment, stock::movements,
        orders::place, order_reads::list, order_reads::get_order, order_reads::status, orders::paid, orders::cancel,
        orders::pick, orders::pack, orders::complete,
        access::create_channel, access::update_channel, access::create_token, access::revoke_token,
        webhooks::list, webhooks::retry, webhooks::channel,
    ),
    components(schemas(Problem, RetryAfter, views::ProductView, views::StockView, views::OrderView)),
    modifiers(&Security),
)]
struct ApiDoc;

/// The OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
