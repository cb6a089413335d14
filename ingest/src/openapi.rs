//! The OpenAPI document served at `/api/v1/openapi.json`, generated from the
//! handlers' annotations (operation ids, tags, summaries and descriptions sit
//! on each handler), then completed for SDK generators: the problem+json
//! answers that apply to each operation, all referencing the one `Problem`
//! schema (`problems`), pages that refer to their item schema (`pages`), and
//! an example on every schema, request body and response (`examples`).

mod examples;
mod pages;
mod problems;
#[cfg(test)]
mod tests;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi};

use crate::error::Problem;
use crate::routes::{
    access, catalogue, order_reads, orders, returns, stock, stock_changes, tokens, views, webhooks,
};
use examples::Examples;
use pages::Pages;
use problems::ProblemResponses;

/// The error responses an `/api/v1` operation may give (problem+json); the
/// document keeps those that apply to each operation (`problems`).
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
        description = "`malformed_request`: the body is not JSON of the expected shape, or a path or query parameter cannot be read",
        content_type = "application/problem+json"
    )]
    Malformed(#[to_schema] Problem),
    /// Token missing or unknown.
    #[response(
        status = 401,
        description = "`unauthorized`: the token is missing, unknown or revoked",
        content_type = "application/problem+json"
    )]
    Unauthorized(#[to_schema] Problem),
    /// Role may not call this, or IP outside the channel's allow-list.
    #[response(
        status = 403,
        description = "`forbidden`: the token's role may not call this; `ip_not_allowed`: the caller's address is outside the channel's allow-list",
        content_type = "application/problem+json"
    )]
    Forbidden(#[to_schema] Problem),
    /// Unknown order, product, SKU, channel or token.
    #[response(
        status = 404,
        description = "`not_found`: no such resource, or not the calling channel's",
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
        description = "`invalid_transition`: the order's status does not allow this; `conflict`: a repeated request (same external id or idempotency key) with other content",
        content_type = "application/problem+json"
    )]
    Conflict(#[to_schema] Problem),
    /// Body over the configured limit.
    #[response(
        status = 413,
        description = "`payload_too_large`: the body is over the configured limit (default 1 MiB)",
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
        description = "`insufficient_stock` (with `shortages`), `unknown_sku` (with `skus`) or `validation_failed` (with `errors`): well-formed input that breaks a rule; nothing changed",
        content_type = "application/problem+json"
    )]
    Unprocessable(#[to_schema] Problem),
    /// Over the channel's rate; see Retry-After.
    #[response(status = 429, description = "`rate_limited`: over the channel's request rate; retry after `Retry-After` seconds", content_type = "application/problem+json",
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
    #[response(status = 503, description = "`unavailable`: the bus or the store is not reachable; retry after `Retry-After` seconds (with the same `Idempotency-Key`)", content_type = "application/problem+json",
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
    info(title = "Agusto WMS", description = include_str!("openapi/about.md")),
    tags(
        (name = "catalogue", description = "Products and each channel's SKUs for them"),
        (name = "stock", description = "Quantities, Stock In (receipts), adjustments and the movement ledger"),
        (name = "orders", description = "Placing orders (reserving stock) and their lifecycle: paid, pick, pack, complete, cancel"),
        (name = "returns", description = "Returns of dispatched orders: requested by the channel or staff, received line by line (restocked or damaged)"),
        (name = "channels", description = "Storefronts: their tokens, webhook endpoints, allow-lists and rate limits"),
        (name = "tokens", description = "Staff tokens"),
        (name = "webhooks", description = "Webhook deliveries, the dead-letter list and replays"),
        (name = "operations", description = "Liveness, readiness, metrics and this document; no token needed"),
    ),
    paths(
        catalogue::put_product, catalogue::list_products, catalogue::put_sku,
        stock::inventory, stock::stock_levels, stock_changes::receipt, stock_changes::adjustment, stock::movements,
        orders::place, order_reads::list, order_reads::get_order, order_reads::status, orders::paid, orders::cancel,
        orders::pick, orders::pack, orders::complete,
        returns::request, returns::of_order, returns::list, returns::receive,
        access::create_channel, access::update_channel, tokens::create_token, tokens::revoke_token,
        webhooks::list, webhooks::retry, webhooks::channel,
        crate::ops::health, crate::ops::ready, crate::ops::metrics, crate::ops::openapi_document,
    ),
    components(schemas(Problem, RetryAfter, views::ProductView, views::StockView, views::OrderView)),
    modifiers(&Security, &Pages, &ProblemResponses, &Examples),
)]
struct ApiDoc;

/// The OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
