//! The document is made for SDK generators: unique descriptive operation ids,
//! tags, texts, the error answers that apply (as the shared `Problem`), and
//! examples everywhere. (`scripts/sdk-check.sh` checks the served document
//! with openapi-spec-validator, jsonschema and openapi-python-client.)

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::document;
use super::problems::{EVERY, MORE};

const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];
const TAGS: [&str; 8] = [
    "catalogue",
    "stock",
    "orders",
    "returns",
    "channels",
    "tokens",
    "webhooks",
    "operations",
];

fn doc() -> Value {
    serde_json::to_value(document()).unwrap()
}

/// Operation id → (method and path, operation).
fn operations(doc: &Value) -> BTreeMap<String, (String, Value)> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                let id = op["operationId"].as_str().unwrap_or_default().to_owned();
                let at = format!("{} {path}", method.to_uppercase());
                assert!(
                    out.insert(id.clone(), (at, op.clone())).is_none(),
                    "{id} twice"
                );
            }
        }
    }
    out
}

fn statuses(op: &Value) -> BTreeSet<u16> {
    op["responses"]
        .as_object()
        .unwrap()
        .keys()
        .map(|s| s.parse().unwrap())
        .collect()
}

#[test]
fn operation_ids_are_unique_descriptive_and_tagged() {
    let doc = doc();
    let ops = operations(&doc);
    for want in [
        "createOrder",
        "getOrderStatus",
        "requestReturn",
        "receiveReturn",
        "listOrderReturns",
        "listReturns",
        "listOrders",
        "markOrderPaid",
        "cancelOrder",
        "pickOrder",
        "packOrder",
        "completeOrder",
        "putProduct",
        "listProducts",
        "putSkuMapping",
        "getInventory",
        "getStockLevels",
        "createReceipt",
        "createAdjustment",
        "listMovements",
        "createChannel",
        "updateChannel",
        "createToken",
        "revokeToken",
        "listWebhookDeliveries",
        "retryWebhookDelivery",
        "getHealth",
        "getReadiness",
    ] {
        assert!(ops.contains_key(want), "no operation {want}");
    }
    let declared: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(declared, TAGS);
    for (id, (at, op)) in &ops {
        let first = id.chars().next().unwrap_or('_');
        assert!(
            first.is_ascii_lowercase() && id.chars().all(|c| c.is_ascii_alphanumeric()),
            "{at}: operationId {id:?} is not camelCase"
        );
        let tags = op["tags"].as_array().unwrap();
        assert!(
            tags.len() == 1 && TAGS.contains(&tags[0].as_str().unwrap()),
            "{at}: {tags:?}"
        );
        for text in ["summary", "description"] {
            let t = op[text].as_str().unwrap_or_default();
            assert!(t.len() >= 20, "{at}: {text} {t:?}");
        }
        let public = tags[0] == "operations";
        assert_eq!(op["security"].is_null(), public, "{at}: security");
        assert_eq!(
            MORE.iter().any(|(name, _)| name == id),
            !public,
            "{at}: every authenticated operation has its error statuses in problems::MORE"
        );
    }
}

#[test]
fn each_operation_documents_the_errors_it_can_give_as_the_shared_problem() {
    let doc = doc();
    let ops = operations(&doc);
    for (id, more) in MORE {
        let (at, op) = &ops[*id];
        let errors: BTreeSet<u16> = statuses(op).into_iter().filter(|s| *s >= 400).collect();
        let want: BTreeSet<u16> = EVERY.iter().chain(more.iter()).copied().collect();
        assert_eq!(errors, want, "{at}");
        for status in errors {
            let content = &op["responses"][status.to_string()]["content"];
            let problem = &content["application/problem+json"];
            assert_eq!(
                problem["schema"]["$ref"], "#/components/schemas/Problem",
                "{at} {status}"
            );
            let examples = problem["examples"].as_object().unwrap();
            assert!(!examples.is_empty(), "{at} {status}");
            for (code, example) in examples {
                assert_eq!(example["value"]["code"], code.as_str(), "{at} {status}");
                assert_eq!(example["value"]["status"], status, "{at} {status}");
            }
        }
    }
    // Reads change nothing: no conflict, no body to be too large.
    let get_order = statuses(&ops["getOrder"].1);
    assert!(!get_order.contains(&409) && !get_order.contains(&413) && get_order.contains(&404));
    let codes = |id: &str, status: &str| -> Vec<String> {
        let examples =
            &ops[id].1["responses"][status]["content"]["application/problem+json"]["examples"];
        examples.as_object().unwrap().keys().cloned().collect()
    };
    assert_eq!(
        codes("createOrder", "422"),
        ["insufficient_stock", "unknown_sku", "validation_failed"]
    );
    assert_eq!(codes("pickOrder", "409"), ["invalid_transition"]);
    assert_eq!(codes("createOrder", "409"), ["conflict"]);
    assert!(
        ops["getReadiness"].1["responses"]["503"]["content"]["application/problem+json"]
            .is_object()
    );
}

#[test]
fn the_problem_schema_is_shared_and_may_carry_a_request_id() {
    let doc = doc();
    let problem = &doc["components"]["schemas"]["Problem"];
    let kind = &problem["properties"]["request_id"]["type"];
    assert!(
        kind == "string"
            || kind
                .as_array()
                .is_some_and(|k| k.contains(&"string".into())),
        "{kind}"
    );
    let required: Vec<&str> = problem["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(!required.contains(&"request_id"));
    for field in ["type", "title", "status", "detail", "code"] {
        assert!(required.contains(&field), "{field}");
    }
    // No problem schema is inlined anywhere: one error model for SDKs.
    let text = serde_json::to_string(&doc["paths"]).unwrap();
    assert!(
        !text.contains("Machine-readable code"),
        "an inlined Problem"
    );
}

#[test]
fn every_schema_and_every_body_has_a_description_and_an_example() {
    let doc = doc();
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        assert!(
            schema["examples"].as_array().is_some_and(|e| !e.is_empty()),
            "schema {name} has no example (add one to openapi/examples.rs)"
        );
        assert!(schema["description"].is_string(), "schema {name}");
    }
    for (id, (at, op)) in operations(&doc) {
        let mut bodies = vec![("request".to_owned(), &op["requestBody"]["content"])];
        for (status, response) in op["responses"].as_object().unwrap() {
            assert!(response["description"].is_string(), "{at} {status}");
            bodies.push((status.clone(), &response["content"]));
        }
        for (at_status, content) in bodies {
            let Some(content) = content.as_object() else {
                continue;
            };
            for (media, body) in content {
                let has = !body["example"].is_null()
                    || body["examples"].as_object().is_some_and(|e| !e.is_empty());
                assert!(has, "{id} ({at}) {at_status} {media}: no example");
            }
        }
    }
}

#[test]
fn pages_refer_to_their_item_schema() {
    let doc = doc();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let pages: Vec<_> = schemas
        .keys()
        .filter(|k| k.starts_with("PageOf_"))
        .collect();
    assert_eq!(pages.len(), 6, "{pages:?}");
    for name in pages {
        let item = name.trim_start_matches("PageOf_");
        assert_eq!(
            schemas[name]["properties"]["items"]["items"]["$ref"],
            format!("#/components/schemas/{item}"),
            "{name}"
        );
    }
}
