//! Catalogue, stock reads, adjustments, tokens, start-up and operations endpoints.

use reqwest::Method;
use serde_json::json;

use crate::common::{ADMIN, Server, binary, temp_dir};

#[tokio::test]
async fn products_and_stock_levels_page_through_everything_once() {
    let s = Server::start("paging", &[]);
    for i in 0..7 {
        s.product(&format!("PG-{i}"), i + 1).await;
    }
    let r = s
        .put(
            "/api/v1/products/PG-OFF",
            ADMIN,
            json!({"name": "Old", "active": false, "barcode": "899000"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = s
        .put(
            "/api/v1/products/PG-OFF",
            ADMIN,
            json!({"name": "Old stock", "active": false}),
        )
        .await;
    assert_eq!(r.status, 200);
    let mut seen = Vec::new();
    let mut path = "/api/v1/products?limit=3".to_owned();
    loop {
        let r = s.get(&path, ADMIN).await;
        seen.extend(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["product_code"].as_str().unwrap().to_owned()),
        );
        match r.body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/products?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, (0..7).map(|i| format!("PG-{i}")).collect::<Vec<_>>());
    let inactive = s.get("/api/v1/products?active=false", ADMIN).await;
    assert_eq!(inactive.body["items"][0]["product_code"], "PG-OFF");
    let (_, token) = s.channel("Pager", json!({})).await;
    let hidden = s
        .get("/api/v1/products?active=false&limit=100", &token)
        .await;
    assert!(
        hidden.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["active"] == true)
    );
    s.order(&token, "off-1", &[("PG-OFF", 1)])
        .await
        .assert_problem(422, "unknown_sku");

    let mut since = Vec::new();
    let mut path = "/api/v1/stock-levels?updated_since=2000-01-01T00:00:00Z&limit=2".to_owned();
    loop {
        let r = s.get(&path, &token).await;
        assert_eq!(r.status, 200, "{r:?}");
        since.extend(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["sku"].as_str().unwrap().to_owned()),
        );
        match r.body["next_cursor"].as_str() {
            Some(c) => {
                path = format!(
                    "/api/v1/stock-levels?updated_since=2000-01-01T00:00:00Z&limit=2&cursor={c}"
                )
            }
            None => break,
        }
    }
    since.sort();
    assert_eq!(since, (0..7).map(|i| format!("PG-{i}")).collect::<Vec<_>>());
    let none = s
        .get(
            "/api/v1/stock-levels?updated_since=2999-01-01T00:00:00Z",
            &token,
        )
        .await;
    assert_eq!(none.body["items"], json!([]));
    s.get("/api/v1/stock-levels", &token)
        .await
        .assert_problem(422, "validation_failed");
    s.get("/api/v1/products?cursor=garbage", ADMIN)
        .await
        .assert_problem(422, "validation_failed");
    let batch = s
        .get("/api/v1/stock-levels?sku=PG-2&sku=PG-5", &token)
        .await;
    let on_hand: Vec<i64> = batch.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["on_hand"].as_i64().unwrap())
        .collect();
    assert_eq!(on_hand, [3, 6]);
}

#[tokio::test]
async fn adjustments_change_on_hand_and_never_below_zero() {
    let s = Server::start("adjust", &[]);
    s.product("ADJ-1", 10).await;
    let r = s
        .post(
            "/api/v1/stock/adjustments",
            ADMIN,
            json!({"product_code": "ADJ-1", "delta": -4, "reason": "damaged"}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(
        (r.body["on_hand"].as_i64(), r.body["version"].as_i64()),
        (Some(6), Some(2))
    );
    let r = s
        .post(
            "/api/v1/stock/adjustments",
            ADMIN,
            json!({"product_code": "ADJ-1", "set_on_hand": 20, "reason": "stock count"}),
        )
        .await;
    assert_eq!(r.body["on_hand"], 20);
    for bad in [
        json!({"product_code": "ADJ-1", "delta": 0, "reason": "x"}),
        json!({"product_code": "ADJ-1", "delta": 1, "set_on_hand": 1, "reason": "x"}),
        json!({"product_code": "ADJ-1", "set_on_hand": -1, "reason": "x"}),
        json!({"product_code": "ADJ-1", "delta": -21, "reason": "x"}),
        json!({"product_code": "ADJ-1", "delta": 1, "reason": ""}),
        json!({"product_code": "NOPE", "delta": 1, "reason": "x"}),
    ] {
        s.post("/api/v1/stock/adjustments", ADMIN, bad)
            .await
            .assert_problem(422, "validation_failed");
    }
    assert_eq!(s.levels("ADJ-1").await, (20, 0));
    let m = s
        .get("/api/v1/inventory/ADJ-1/movements?limit=2", ADMIN)
        .await;
    assert_eq!(m.body["items"][1]["reference"], "damaged");
    let next = m.body["next_cursor"].as_str().unwrap();
    let m2 = s
        .get(
            &format!("/api/v1/inventory/ADJ-1/movements?limit=2&cursor={next}"),
            ADMIN,
        )
        .await;
    assert_eq!(
        (
            m2.body["items"][0]["delta_on_hand"].as_i64(),
            m2.body["items"][0]["kind"].as_str()
        ),
        (Some(14), Some("adjustment"))
    );
}

#[tokio::test]
async fn staff_tokens_work_until_revoked_and_roles_are_enforced() {
    let s = Server::start("tokens", &[]);
    let r = s
        .post(
            "/api/v1/tokens",
            ADMIN,
            json!({"role": "staff", "name": "gudang"}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let (id, staff) = (
        r.body["id"].as_str().unwrap().to_owned(),
        r.body["token"].as_str().unwrap().to_owned(),
    );
    assert!(staff.len() >= 43);
    assert_eq!(
        s.put(
            "/api/v1/products/TK-1",
            &staff,
            json!({"name": "x", "active": true})
        )
        .await
        .status,
        201
    );
    s.post("/api/v1/channels", &staff, json!({"name": "no"}))
        .await
        .assert_problem(403, "forbidden");
    s.post(
        "/api/v1/tokens",
        ADMIN,
        json!({"role": "admin", "name": "x"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let d = s
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(d.status, 204);
    s.get("/api/v1/products", &staff)
        .await
        .assert_problem(401, "unauthorized");
    s.call(
        Method::DELETE,
        &format!("/api/v1/tokens/{id}"),
        Some(ADMIN),
        None,
    )
    .await
    .assert_problem(404, "not_found");
    // Channel settings can be changed; a bad URL is refused.
    let (ch, _) = s.channel("Patch me", json!({})).await;
    let p = s
        .call(
            Method::PATCH,
            &format!("/api/v1/channels/{ch}"),
            Some(ADMIN),
            Some(json!({"webhook_url": "https://toko.example/hooks"})),
        )
        .await;
    assert_eq!(
        (p.status.as_u16(), p.body["webhook_url"].as_str()),
        (200, Some("https://toko.example/hooks"))
    );
    let p = s
        .call(
            Method::PATCH,
            &format!("/api/v1/channels/{ch}"),
            Some(ADMIN),
            Some(json!({"webhook_url": "ftp://x"})),
        )
        .await;
    p.assert_problem(422, "validation_failed");
}

#[tokio::test]
async fn first_start_prints_a_generated_admin_token_once() {
    let dir = temp_dir("bootstrap");
    let s = Server::start_in(&dir, &[], false);
    let line = s
        .stdout
        .iter()
        .find(|l| l.starts_with("admin token"))
        .expect("token printed");
    let token = line.rsplit(' ').next().unwrap().to_owned();
    assert_eq!(s.get("/api/v1/products", &token).await.status, 200);
    assert_eq!(s.terminate(), Some(0));
    let s = Server::start_in(&dir, &[], false);
    assert!(
        !s.stdout.iter().any(|l| l.starts_with("admin token")),
        "{:?}",
        s.stdout
    );
    assert_eq!(s.get("/api/v1/products", &token).await.status, 200);
}

#[tokio::test]
async fn health_readiness_metrics_and_openapi_are_served() {
    let s = Server::start("ops", &[]);
    assert_eq!(
        s.raw(Method::GET, "/healthz")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        s.raw(Method::GET, "/readyz").send().await.unwrap().status(),
        200
    );
    s.product("OPS-1", 1).await;
    let metrics = s.metrics().await;
    assert!(metrics.contains("agusto_http_requests_total"), "{metrics}");
    assert!(
        metrics.contains("agusto_commands_applied_total"),
        "{metrics}"
    );
    let doc: serde_json::Value = s
        .raw(Method::GET, "/api/v1/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/orders",
        "/api/v1/orders/{id}/complete",
        "/api/v1/stock-levels",
        "/api/v1/channels/{channel_id}/skus/{sku}",
        "/api/v1/tokens/{id}",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }
}

#[test]
fn config_prints_the_effective_settings_and_rejects_bad_values() {
    let out = binary()
        .arg("config")
        .env("AGUSTO_ORDER_WAIT_MS", "250")
        .env("AGUSTO_ADMIN_TOKEN", "secret")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("order_wait_ms = 250"), "{text}");
    assert!(text.contains("listen = \"127.0.0.1:8080\""), "{text}");
    assert!(
        text.contains("worker_listen = \"127.0.0.1:9464\""),
        "workers default to their own port: {text}"
    );
    assert!(!text.contains("secret"), "{text}");
    let bad = binary()
        .arg("config")
        .env("AGUSTO_ORDER_WAIT_MS", "soon")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("AGUSTO_ORDER_WAIT_MS"));
    let short_lease = binary()
        .arg("config")
        .env("AGUSTO_WEBHOOK_LEASE_MS", "5000")
        .output()
        .unwrap();
    assert!(
        !short_lease.status.success(),
        "a lease shorter than an attempt"
    );
    assert!(String::from_utf8_lossy(&short_lease.stderr).contains("webhook_lease_ms"));
    let help = binary().args(["serve", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--listen"));
}
