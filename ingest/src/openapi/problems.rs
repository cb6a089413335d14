//! Error answers in the document: each operation keeps the problem+json
//! responses that apply to it, each one referencing the shared `Problem`
//! schema (so an SDK has one error model, not one per operation and status)
//! with an example per problem `code`.

use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa::Modify;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, Type};
use utoipa::openapi::{OpenApi, Ref, RefOr};

/// Completes the problem responses and the `Problem` schema.
pub(super) struct ProblemResponses;

/// The media type of every error body.
pub(super) const PROBLEM_JSON: &str = "application/problem+json";

/// Statuses every authenticated operation can answer with: an unreadable
/// path, query or body (400), the token (401), role or allow-list (403), the
/// channel's rate (429), an unreachable bus or store (503), and what the
/// HTTP layer answers before any operation runs: another method on the path
/// (405), a body that does not arrive in time (408), a URI over 65,534
/// bytes (414), too many or too large headers (431).
pub(super) const EVERY: [u16; 9] = [400, 401, 403, 405, 408, 414, 429, 431, 503];

/// Statuses whose presence [`MORE`] decides; any other status an annotation
/// lists is kept as it is.
const DECIDED: [u16; 13] = [
    400, 401, 403, 404, 405, 408, 409, 413, 414, 422, 429, 431, 503,
];

/// Per operation, the statuses it can answer with besides [`EVERY`]: 404 for
/// a resource named in the path, 409 for lifecycle and repeat conflicts, 413
/// for a body, 422 for rules on input (bodies, `limit`, `cursor`, filters).
pub(super) const MORE: &[(&str, &[u16])] = &[
    ("putProduct", &[413, 422]),
    ("listProducts", &[422]),
    ("putSkuMapping", &[404, 413, 422]),
    ("getInventory", &[404]),
    ("getStockLevels", &[422]),
    ("createReceipt", &[409, 413, 422]),
    ("createAdjustment", &[409, 413, 422]),
    ("listMovements", &[404, 422]),
    ("createOrder", &[409, 413, 422]),
    ("listOrders", &[422]),
    ("getOrder", &[404]),
    ("getOrderStatus", &[404]),
    ("markOrderPaid", &[404, 409]),
    ("cancelOrder", &[404, 409]),
    ("pickOrder", &[404, 409]),
    ("packOrder", &[404, 409]),
    ("completeOrder", &[404, 409, 413, 422]),
    ("requestReturn", &[404, 409, 413, 422]),
    ("receiveReturn", &[404, 409, 413, 422]),
    ("listOrderReturns", &[404]),
    ("listReturns", &[422]),
    ("createChannel", &[413, 422]),
    ("updateChannel", &[404, 413, 422]),
    ("getChannel", &[404]),
    ("createToken", &[413, 422]),
    ("revokeToken", &[404]),
    ("listWebhookDeliveries", &[422]),
    ("retryWebhookDelivery", &[404, 409]),
];

/// Operations whose 409 is `invalid_transition` (an order's lifecycle), with their action.
const TRANSITIONS: [(&str, &str); 6] = [
    ("markOrderPaid", "paid"),
    ("cancelOrder", "cancel"),
    ("pickOrder", "pick"),
    ("packOrder", "pack"),
    ("completeOrder", "complete"),
    ("requestReturn", "return"),
];

/// Every operation of a path.
pub(super) fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
}

impl Modify for ProblemResponses {
    fn modify(&self, doc: &mut OpenApi) {
        for item in doc.paths.paths.values_mut() {
            for op in operations_mut(item) {
                complete(op);
            }
        }
        let schemas = &mut doc.components.get_or_insert_with(Default::default).schemas;
        if let Some(RefOr::T(Schema::Object(problem))) = schemas.get_mut("Problem") {
            describe_problem(problem);
        }
    }
}

/// Keeps the problem responses that apply to `op`, pointing at `Problem`, with examples.
fn complete(op: &mut Operation) {
    let id = op.operation_id.clone().unwrap_or_default();
    if let Some((_, more)) = MORE.iter().find(|(name, _)| *name == id) {
        op.responses
            .responses
            .retain(|status, _| match status.parse::<u16>() {
                Ok(s) if DECIDED.contains(&s) => EVERY.contains(&s) || more.contains(&s),
                _ => true,
            });
    }
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let Some(RefOr::T(content)) = response.content.get_mut(PROBLEM_JSON) else {
            continue;
        };
        content.schema = Some(RefOr::Ref(Ref::from_schema_name("Problem")));
        let status: u16 = status.parse().unwrap_or(500);
        for (code, body) in examples(&id, status, &response.description) {
            let example = ExampleBuilder::new()
                .summary(format!("{status} {code}"))
                .value(Some(body))
                .build();
            content.examples.insert(code, RefOr::T(example));
        }
    }
}

/// A problem body as the server writes it.
fn problem(status: u16, code: &str, detail: &str) -> Value {
    let title = match code {
        "invalid_transition" => "Invalid order transition",
        "ip_not_allowed" => "IP address not allowed",
        "insufficient_stock" => "Insufficient stock",
        "unknown_sku" => "Unknown SKU",
        "validation_failed" => "Validation failed",
        "rate_limited" => "Rate limited",
        _ => StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error"),
    };
    json!({
        "type": format!("https://agusto.dev/problems/{code}"),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    })
}

/// Examples of the problems `op` answers with `status`, by code.
fn examples(op: &str, status: u16, description: &str) -> Vec<(String, Value)> {
    let one = |code: &str, detail: &str| vec![(code.to_owned(), problem(status, code, detail))];
    match status {
        400 => one(
            "malformed_request",
            "malformed request: expected `,` or `}` at line 1 column 12",
        ),
        401 => one("unauthorized", "missing or unknown token"),
        403 => {
            let mut out = one("forbidden", "forbidden: staff endpoint");
            out.extend(one(
                "ip_not_allowed",
                "ip 203.0.113.9 not allowed for this channel",
            ));
            out
        }
        404 => one("not_found", "order ord_3f9c2a7b1e0d4c5a6b7c not found"),
        409 => match TRANSITIONS.iter().find(|(t, _)| *t == op) {
            Some((_, action)) => one(
                "invalid_transition",
                &match *action {
                    "return" => "order is packed; cannot return".to_owned(),
                    _ => format!("order is dispatched; cannot {action}"),
                },
            ),
            None => one(
                "conflict",
                "conflict: the same key was used with another body",
            ),
        },
        413 => one("payload_too_large", "body larger than 1048576 bytes"),
        422 => {
            let mut invalid = problem(status, "validation_failed", "validation failed");
            invalid["errors"] = json!([{"field": "lines[0].quantity", "message": "must be > 0"}]);
            let mut out = vec![("validation_failed".to_owned(), invalid)];
            if op == "createOrder" {
                let mut short = problem(status, "insufficient_stock", "insufficient stock");
                short["shortages"] = json!([{"sku": "KOPI-250", "requested": 5, "available": 2}]);
                let mut unknown = problem(status, "unknown_sku", "unknown sku");
                unknown["skus"] = json!(["TEH-100"]);
                out.insert(0, ("insufficient_stock".to_owned(), short));
                out.insert(1, ("unknown_sku".to_owned(), unknown));
            }
            out
        }
        429 => one("rate_limited", "rate limited"),
        503 => {
            let mut body = problem(
                status,
                "unavailable",
                "the service is unavailable; retry later",
            );
            body["request_id"] = json!("req_7b1e0d4c5a6b7c3f9c2a");
            vec![("unavailable".to_owned(), body)]
        }
        // A status annotated elsewhere: its code leads its description, `like_this`.
        _ => {
            let code = description
                .split('`')
                .nth(1)
                .filter(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'))
                .unwrap_or("error");
            one(code, description.split(':').next().unwrap_or(description))
        }
    }
}

/// The `Problem` schema as API readers need it: what it is, the optional
/// `request_id` every error may carry, an example.
fn describe_problem(problem: &mut Object) {
    problem.description = Some(
        "An error, as RFC 9457 problem details (`application/problem+json`). `code` says \
         which error it is (see each operation's responses); `shortages`, `skus` and \
         `errors` come with `insufficient_stock`, `unknown_sku` and `validation_failed`. \
         More members may be added."
            .into(),
    );
    if !problem.properties.contains_key("request_id") {
        let request_id = ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "The request's id (also its `x-request-id` header), to quote when \
                 reporting a server error.",
            ))
            .build();
        problem
            .properties
            .insert("request_id".into(), RefOr::T(Schema::Object(request_id)));
    }
    problem.examples = vec![problem_example()];
}

/// The example of the `Problem` schema: an order that cannot be reserved.
pub(super) fn problem_example() -> Value {
    let mut short = problem(422, "insufficient_stock", "insufficient stock");
    short["shortages"] = json!([{"sku": "KOPI-250", "requested": 5, "available": 2}]);
    short
}
