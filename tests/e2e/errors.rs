//! Every error code of API.md, as problem+json, and bad input changes nothing.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::common::{ADMIN, Server};

#[tokio::test]
async fn every_error_code_is_a_problem_document() {
    let s = Server::start("errors", &[("AGUSTO_MAX_BODY_BYTES", "4096")]);
    s.product("ERR-1", 2).await;
    let (ch, token) = s.channel("Errors", json!({})).await;

    // 400 malformed_request: not JSON, and wrong types.
    let r = s
        .raw(Method::POST, "/api/v1/orders")
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = s
        .post(
            "/api/v1/orders",
            &token,
            json!({"external_id": 5, "lines": "x"}),
        )
        .await;
    r.assert_problem(400, "malformed_request");
    s.get("/api/v1/orders?limit=abc", ADMIN)
        .await
        .assert_problem(400, "malformed_request");

    // 401 unauthorized: missing and unknown token; X-API-Key works too.
    s.call(Method::GET, "/api/v1/products", None, None)
        .await
        .assert_problem(401, "unauthorized");
    s.get("/api/v1/products", "nope")
        .await
        .assert_problem(401, "unauthorized");
    let k = s
        .raw(Method::GET, "/api/v1/products")
        .header("X-API-Key", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(k.status(), 200);

    // 403 forbidden: a channel calling a staff endpoint; staff placing an order.
    let r = s
        .post(
            "/api/v1/stock/receipts",
            &token,
            json!({"reference": "x", "lines": [{"product_code": "ERR-1", "quantity": 1}]}),
        )
        .await;
    r.assert_problem(403, "forbidden");
    s.order(ADMIN, "x", &[("ERR-1", 1)])
        .await
        .assert_problem(403, "forbidden");

    // 403 ip_not_allowed: a channel that may only call from 10.0.0.0/8.
    let (_, fenced) = s
        .channel("Fenced", json!({"allowed_ips": ["10.0.0.0/8"]}))
        .await;
    s.get("/api/v1/products", &fenced)
        .await
        .assert_problem(403, "ip_not_allowed");
    let (_, local) = s
        .channel("Local", json!({"allowed_ips": ["127.0.0.1"]}))
        .await;
    assert_eq!(s.get("/api/v1/products", &local).await.status, 200);

    // 404 not_found.
    s.get("/api/v1/orders/ord_missing", &token)
        .await
        .assert_problem(404, "not_found");
    s.get("/api/v1/inventory/NO-SUCH-SKU", &token)
        .await
        .assert_problem(404, "not_found");

    // 409 invalid_transition and conflict.
    let o = s.order(&token, "e-1", &[("ERR-1", 1)]).await;
    let id = o.body["id"].as_str().unwrap();
    s.post(&format!("/api/v1/orders/{id}/pick"), ADMIN, json!({}))
        .await
        .assert_problem(409, "invalid_transition");
    s.order(&token, "e-1", &[("ERR-1", 2)])
        .await
        .assert_problem(409, "conflict");

    // 413 payload_too_large.
    let big = json!({"external_id": "big", "lines": [{"sku": "ERR-1", "quantity": 1}], "customer": {"note": "x".repeat(8000)}});
    s.post("/api/v1/orders", &token, big)
        .await
        .assert_problem(413, "payload_too_large");

    // 422 insufficient_stock, unknown_sku, validation_failed.
    let r = s.order(&token, "e-2", &[("ERR-1", 5)]).await;
    r.assert_problem(422, "insufficient_stock");
    assert_eq!(
        r.body["shortages"],
        json!([{"sku": "ERR-1", "requested": 5, "available": 1}])
    );
    let r = s.order(&token, "e-3", &[("ERR-1", 1), ("GHOST", 1)]).await;
    r.assert_problem(422, "unknown_sku");
    assert_eq!(r.body["skus"], json!(["GHOST"]));
    let r = s.order(&token, "e-4", &[("ERR-1", 0)]).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "lines[0].quantity");
    s.order(&token, "e-5", &[])
        .await
        .assert_problem(422, "validation_failed");
    s.order(&token, "e-6", &[("ERR-1", 1), ("ERR-1", 1)])
        .await
        .assert_problem(422, "validation_failed");
    let r = s
        .post(
            "/api/v1/stock/adjustments",
            ADMIN,
            json!({"product_code": "ERR-1", "delta": -3, "reason": "broken"}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    // None of that changed anything.
    assert_eq!(s.levels("ERR-1").await, (2, 1));

    // 429 rate_limited with Retry-After.
    let (_, slow) = s.channel("Slow", json!({"rate_limit_per_second": 1})).await;
    let mut limited = None;
    for _ in 0..5 {
        let r = s.get("/api/v1/products", &slow).await;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("a 429 within 5 quick requests at 1/s");
    r.assert_problem(429, "rate_limited");
    assert!(r.headers.get("retry-after").is_some());
    let _ = ch;
}

#[tokio::test]
async fn a_store_that_cannot_write_gives_503_with_retry_after() {
    let s = Server::start("unavailable", &[]);
    s.product("LOCK-1", 1).await;
    // Another process holds the write lock longer than the store's busy timeout.
    let db = rusqlite::Connection::open(s.dir.join("agusto.db")).unwrap();
    db.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let r = s
        .post(
            "/api/v1/stock/receipts",
            ADMIN,
            json!({"reference": "PO", "lines": [{"product_code": "LOCK-1", "quantity": 1}]}),
        )
        .await;
    r.assert_problem(503, "unavailable");
    assert!(r.headers.get("retry-after").is_some());
    assert_opaque(&r, &s.dir);
    db.execute_batch("ROLLBACK").unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Once the lock is gone the same request succeeds, and the failed one left nothing behind.
    assert_eq!(s.levels("LOCK-1").await, (1, 0));
    let r = s
        .post(
            "/api/v1/stock/receipts",
            ADMIN,
            json!({"reference": "PO", "lines": [{"product_code": "LOCK-1", "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(s.levels("LOCK-1").await, (2, 0));
}

/// A 5xx body says nothing about its cause (that goes to the log) and
/// carries the request id of the `x-request-id` header.
fn assert_opaque(r: &crate::common::Reply, data_dir: &std::path::Path) {
    let body = r.body.to_string().to_lowercase();
    let dir = data_dir.to_string_lossy().to_lowercase();
    for leak in [
        "sqlite",
        "database",
        "locked",
        "busy",
        "store unavailable",
        "agusto.db",
        "rusqlite",
        dir.as_str(),
    ] {
        assert!(!body.contains(leak), "{leak:?} in {body}");
    }
    let id = r.headers["x-request-id"].to_str().unwrap();
    assert!(id.starts_with("req_"), "{id}");
    assert_eq!(r.body["request_id"], id, "{r:?}");
}
