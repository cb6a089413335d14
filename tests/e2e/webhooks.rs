//! Webhooks to a real receiver on 127.0.0.1: signed, retried, dead-lettered,
//! replayable, ordered per product, durable across kill -9.

use std::time::Duration;

use base64::Engine;
use hmac::{KeyInit, Mac};
use reqwest::Method;
use serde_json::json;

use crate::common::{ADMIN, Server};
use crate::receiver::{Received, Receiver};

const FAST: [(&str, &str); 2] = [
    ("AGUSTO_WEBHOOK_BACKOFF_BASE_MS", "50"),
    ("AGUSTO_WEBHOOK_TIMEOUT_MS", "2000"),
];
const WAIT: Duration = Duration::from_secs(20);

/// The Standard Webhooks check, written from the spec with the hmac crate.
pub(crate) fn verify(secret: &str, r: &Received) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", r.id, r.timestamp).as_bytes());
    mac.update(&r.body);
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    r.signature
        .split(' ')
        .any(|s| s == format!("v1,{expected}"))
}

async fn channel_with_hook(s: &Server, rx: &Receiver) -> (String, String, String) {
    let r = s
        .post(
            "/api/v1/channels",
            ADMIN,
            json!({"name": "Hooked", "webhook_url": rx.url, "rate_limit_per_second": 100000}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let s = |k: &str| r.body[k].as_str().unwrap().to_owned();
    (s("id"), s("api_token"), s("webhook_secret"))
}

fn of_type<'a>(got: &'a [Received], t: &str) -> Vec<&'a Received> {
    got.iter().filter(|r| r.json["type"] == t).collect()
}

#[tokio::test]
async fn the_seed_flows_reach_the_receiver_signed() {
    let rx = Receiver::start(200).await;
    let s = Server::start("hooks-seed", &FAST);
    s.product("WH-1", 0).await;
    let (ch, token, secret) = channel_with_hook(&s, &rx).await;
    s.put(
        &format!("/api/v1/channels/{ch}/skus/TOKO-WH1"),
        ADMIN,
        json!({"product_code": "WH-1"}),
    )
    .await;
    s.post(
        "/api/v1/stock/receipts",
        ADMIN,
        json!({"reference": "PO-1", "lines": [{"product_code": "WH-1", "quantity": 5}]}),
    )
    .await;
    s.post(
        "/api/v1/stock/adjustments",
        ADMIN,
        json!({"product_code": "WH-1", "delta": -1, "reason": "damaged"}),
    )
    .await;
    let id = s.order(&token, "hook-1", &[("TOKO-WH1", 2)]).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.call(
        Method::PATCH,
        &format!("/api/v1/orders/{id}/paid"),
        Some(&token),
        None,
    )
    .await;
    for step in ["pick", "pack"] {
        s.post(&format!("/api/v1/orders/{id}/{step}"), ADMIN, json!({}))
            .await;
    }
    s.post(
        &format!("/api/v1/orders/{id}/complete"),
        ADMIN,
        json!({"tracking_number": "JNE-9", "carrier": "JNE"}),
    )
    .await;

    let got = rx
        .wait_for(WAIT, |g| {
            of_type(g, "order.dispatched").len() == 1 && of_type(g, "stock.changed").len() == 3
        })
        .await;
    for r in &got {
        assert!(verify(&secret, r), "bad signature on {:?}", r.json);
        assert_eq!(r.json["id"], r.id.as_str());
        assert!(r.json["created_at"].is_string());
        let ts: i64 = r.timestamp.parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    }
    let stock: Vec<_> = of_type(&got, "stock.changed")
        .iter()
        .map(|r| r.json["data"].clone())
        .collect();
    let reasons: Vec<&str> = stock
        .iter()
        .map(|d| d["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["receipt", "adjustment", "stock_out"]);
    assert_eq!(
        stock[2],
        json!({"sku": "TOKO-WH1", "product_code": "WH-1", "on_hand": 2, "reserved": 0, "available": 2, "damaged": 0, "version": 4, "reason": "stock_out"})
    );
    let dispatched = &of_type(&got, "order.dispatched")[0].json["data"];
    assert_eq!(
        (
            dispatched["order_id"].as_str(),
            dispatched["tracking_number"].as_str()
        ),
        (Some(id.as_str()), Some("JNE-9"))
    );
    assert_eq!(dispatched["external_id"], "hook-1");
    let statuses: Vec<&str> = of_type(&got, "order.status_changed")
        .iter()
        .map(|r| r.json["data"]["status"].as_str().unwrap())
        .collect();
    for st in ["pending_approval", "picking", "packed", "dispatched"] {
        assert!(statuses.contains(&st), "{statuses:?}");
    }
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_the_event_on_the_third_attempt_with_the_same_id() {
    let rx = Receiver::start(200).await;
    rx.script(&[500, 503]);
    let s = Server::start("hooks-retry", &FAST);
    s.product("WR-1", 0).await;
    let (_, _, secret) = channel_with_hook(&s, &rx).await;
    s.post(
        "/api/v1/stock/receipts",
        ADMIN,
        json!({"reference": "PO", "lines": [{"product_code": "WR-1", "quantity": 1}]}),
    )
    .await;
    let got = rx
        .wait_for(WAIT, |g| g.iter().any(|r| r.answered == 200))
        .await;
    assert_eq!(
        got.iter().map(|r| r.answered).collect::<Vec<_>>(),
        [500, 503, 200]
    );
    assert!(got.iter().all(|r| r.id == got[0].id && verify(&secret, r)));
    let deadline = std::time::Instant::now() + WAIT;
    let d = loop {
        // The worker records the outcome just after the receiver answered.
        let d = s
            .get("/api/v1/webhooks/deliveries?status=delivered", ADMIN)
            .await;
        if !d.body["items"].as_array().unwrap().is_empty() {
            break d;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not recorded as delivered: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let attempts = d.body["items"][0]["attempts"].as_array().unwrap();
    let codes: Vec<i64> = attempts
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [500, 503, 200]);
}

#[tokio::test]
async fn a_receiver_that_always_fails_gets_four_attempts_then_a_dead_letter_that_can_be_replayed() {
    let rx = Receiver::start(500).await;
    let s = Server::start("hooks-dead", &FAST);
    s.product("WD-1", 0).await;
    let (ch, _, _) = channel_with_hook(&s, &rx).await;
    s.post(
        "/api/v1/stock/receipts",
        ADMIN,
        json!({"reference": "PO", "lines": [{"product_code": "WD-1", "quantity": 1}]}),
    )
    .await;
    let path = format!("/api/v1/webhooks/deliveries?status=failed&channel_id={ch}");
    let deadline = std::time::Instant::now() + WAIT;
    let failed = loop {
        let r = s.get(&path, ADMIN).await;
        if !r.body["items"].as_array().unwrap().is_empty() {
            break r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never dead-lettered: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let dead = &failed.body["items"][0];
    assert_eq!(dead["attempts"].as_array().unwrap().len(), 4);
    assert!(
        dead["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["status_code"] == 500 && a["duration_ms"].is_number())
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.received().len(), 4, "no attempt after the dead letter");

    rx.answer(200);
    let id = dead["id"].as_str().unwrap();
    let again = s
        .post(
            &format!("/api/v1/webhooks/deliveries/{id}/retry"),
            ADMIN,
            json!({}),
        )
        .await;
    assert_eq!(
        (again.status.as_u16(), again.body["status"].as_str()),
        (200, Some("pending")),
        "{again:?}"
    );
    let got = rx
        .wait_for(WAIT, |g| g.iter().any(|r| r.answered == 200))
        .await;
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|r| r.id == got[0].id));
    s.post(
        &format!("/api/v1/webhooks/deliveries/{id}/retry"),
        ADMIN,
        json!({}),
    )
    .await
    .assert_problem(409, "conflict");
    s.post(
        "/api/v1/webhooks/deliveries/dlv_nope/retry",
        ADMIN,
        json!({}),
    )
    .await
    .assert_problem(404, "not_found");
}

#[tokio::test]
async fn a_failing_product_holds_back_only_its_own_later_events() {
    let rx = Receiver::start(200).await;
    // Every stock.changed of ORD-A fails until the test lets it through.
    rx.rule(|b| (b["data"]["product_code"] == "ORD-A").then_some(500));
    let s = Server::start(
        "hooks-order",
        &[
            ("AGUSTO_WEBHOOK_BACKOFF_BASE_MS", "50"),
            ("AGUSTO_WEBHOOK_MAX_RETRIES", "50"),
        ],
    );
    s.product("ORD-A", 0).await;
    s.product("ORD-B", 0).await;
    channel_with_hook(&s, &rx).await;
    for i in 1..=3 {
        for p in ["ORD-A", "ORD-B"] {
            s.post("/api/v1/stock/receipts", ADMIN, json!({"reference": format!("PO-{i}"), "lines": [{"product_code": p, "quantity": i}]})).await;
        }
    }
    let got = rx
        .wait_for(WAIT, |g| {
            g.iter()
                .filter(|r| r.json["data"]["product_code"] == "ORD-B" && r.answered == 200)
                .count()
                == 3
        })
        .await;
    let a_versions: Vec<i64> = got
        .iter()
        .filter(|r| r.json["data"]["product_code"] == "ORD-A")
        .map(|r| r.json["data"]["version"].as_i64().unwrap())
        .collect();
    assert!(
        !a_versions.is_empty() && a_versions.iter().all(|v| *v == 1),
        "later ORD-A events overtook the failing one: {a_versions:?}"
    );
    rx.answer(200);
    let got = rx
        .wait_for(WAIT, |g| {
            g.iter()
                .filter(|r| r.json["data"]["product_code"] == "ORD-A" && r.answered == 200)
                .count()
                == 3
        })
        .await;
    let delivered_a: Vec<i64> = got
        .iter()
        .filter(|r| r.json["data"]["product_code"] == "ORD-A" && r.answered == 200)
        .map(|r| r.json["data"]["version"].as_i64().unwrap())
        .collect();
    assert_eq!(delivered_a, [1, 2, 3]);
}

#[tokio::test]
async fn pending_deliveries_survive_kill_9() {
    let rx = Receiver::start(503).await;
    // An attempt in flight at the kill holds its delivery until its lease
    // runs out: short ones here.
    let env = [
        ("AGUSTO_WEBHOOK_BACKOFF_BASE_MS", "50"),
        ("AGUSTO_WEBHOOK_MAX_RETRIES", "1000"),
        ("AGUSTO_WEBHOOK_TIMEOUT_MS", "1000"),
        ("AGUSTO_WEBHOOK_LEASE_MS", "2500"),
    ];
    let s = Server::start("hooks-kill", &env);
    // The channel first: events written before a channel exists are not for it.
    channel_with_hook(&s, &rx).await;
    for i in 0..5 {
        s.product(&format!("WK-{i}"), 1).await;
    }
    rx.wait_for(WAIT, |g| g.len() >= 10).await;
    let dir = s.kill9();
    rx.answer(200);
    let s = Server::start_in(&dir, &env, true);
    let got = rx
        .wait_for(WAIT, |g| {
            let mut ok: Vec<&str> = g
                .iter()
                .filter(|r| r.answered == 200)
                .map(|r| r.json["data"]["product_code"].as_str().unwrap())
                .collect();
            ok.sort();
            ok.dedup();
            ok.len() == 5
        })
        .await;
    // Every attempt of one event carried the same id.
    for r in &got {
        assert!(
            got.iter()
                .filter(|x| x.json["data"]["product_code"] == r.json["data"]["product_code"])
                .all(|x| x.id == r.id)
        );
    }
    drop(s);
}

#[tokio::test]
async fn a_410_disables_the_endpoint_visibly_and_stops_attempts() {
    let rx = Receiver::start(410).await;
    let s = Server::start("hooks-gone", &FAST);
    s.product("WG-1", 0).await;
    let (ch, _, _) = channel_with_hook(&s, &rx).await;
    s.post(
        "/api/v1/stock/receipts",
        ADMIN,
        json!({"reference": "PO", "lines": [{"product_code": "WG-1", "quantity": 1}]}),
    )
    .await;
    rx.wait_for(WAIT, |g| g.len() == 1).await;
    let deadline = std::time::Instant::now() + WAIT;
    let c = loop {
        let c = s.get(&format!("/api/v1/channels/{ch}"), ADMIN).await;
        if c.body["webhook_disabled"] == true {
            break c;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "endpoint never disabled: {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(c.status, 200);
    s.post(
        "/api/v1/stock/receipts",
        ADMIN,
        json!({"reference": "PO", "lines": [{"product_code": "WG-1", "quantity": 1}]}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.received().len(), 1, "no attempts to a disabled endpoint");
    let failed = s
        .get("/api/v1/webhooks/deliveries?status=failed", ADMIN)
        .await;
    assert_eq!(failed.body["items"].as_array().unwrap().len(), 2);
}
