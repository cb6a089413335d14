//! Published availability in `stock.changed` webhooks, to real receivers:
//! each channel gets its own published `available`, only when it (or
//! `on_hand`) changed for that channel, and a rule change sends the new
//! values to the channel whose rule changed.

use std::time::Duration;

use serde_json::{Value, json};

use crate::channel_rules::{map_sku, patch_channel};
use crate::common::{ADMIN, Server};
use crate::receiver::{Received, Receiver};
use crate::webhooks::verify;

const FAST: [(&str, &str); 2] = [
    ("AGUSTO_WEBHOOK_BACKOFF_BASE_MS", "50"),
    ("AGUSTO_WEBHOOK_TIMEOUT_MS", "2000"),
];
const WAIT: Duration = Duration::from_secs(20);

/// The `data` of every `stock.changed` about `code`, in arrival order
/// (deliveries of one product reach a channel in order).
fn stock_of(got: &[Received], code: &str) -> Vec<Value> {
    got.iter()
        .filter(|r| r.json["type"] == "stock.changed" && r.json["data"]["product_code"] == code)
        .map(|r| r.json["data"].clone())
        .collect()
}

/// (on_hand, available, reason) of webhook data.
fn figures(data: &[Value]) -> Vec<(i64, i64, String)> {
    data.iter()
        .map(|d| {
            (
                d["on_hand"].as_i64().expect("on_hand"),
                d["available"].as_i64().expect("available"),
                d["reason"].as_str().expect("reason").to_owned(),
            )
        })
        .collect()
}

fn f(on_hand: i64, available: i64, reason: &str) -> (i64, i64, String) {
    (on_hand, available, reason.to_owned())
}

/// Creates a channel with a webhook to `rx`; returns (id, token, secret).
async fn hooked(s: &Server, rx: &Receiver, name: &str, rule: Value) -> (String, String, String) {
    let mut body = json!({"name": name, "webhook_url": rx.url, "rate_limit_per_second": 100000});
    if let (Some(b), Some(r)) = (body.as_object_mut(), rule.as_object()) {
        b.extend(r.clone());
    }
    let r = s.post("/api/v1/channels", ADMIN, body).await;
    assert_eq!(r.status, 201, "{r:?}");
    let field = |k: &str| r.body[k].as_str().expect(k).to_owned();
    (field("id"), field("api_token"), field("webhook_secret"))
}

#[tokio::test]
async fn each_channel_gets_its_published_stock_by_webhook() {
    let rx_a = Receiver::start(200).await;
    let rx_b = Receiver::start(200).await;
    let s = Server::start("rules-hooks", &FAST);
    s.product("H-1", 0).await;
    s.product("H-2", 0).await;
    // A shows at most 5 of H-1; B has no rules.
    let (a, _, secret_a) = hooked(&s, &rx_a, "Rules", json!({})).await;
    let (_, token_b, secret_b) = hooked(&s, &rx_b, "Plain", json!({})).await;
    let r = map_sku(
        &s,
        &a,
        "A-H1",
        json!({"product_code": "H-1", "stock_max": 5}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");

    s.post(
        "/api/v1/stock/receipts",
        ADMIN,
        json!({"reference": "PO-H", "lines": [{"product_code": "H-1", "quantity": 10},
                                              {"product_code": "H-2", "quantity": 4}]}),
    )
    .await;
    // B reserves 1 of H-1 (no event): real available 9, A still shown 5.
    let r = s.order(&token_b, "hooks-b-1", &[("H-1", 1)]).await;
    assert_eq!(r.status, 201, "{r:?}");
    // A count that finds the same on_hand: a stock.changed whose on_hand
    // and published value are unchanged for A (so A gets nothing), while
    // B's available went from 10 to 9.
    let r = s
        .post(
            "/api/v1/stock/adjustments",
            ADMIN,
            json!({"product_code": "H-1", "set_on_hand": 10, "reason": "count"}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    // Then a change both see: on_hand 4, real available 3.
    let r = s
        .post(
            "/api/v1/stock/adjustments",
            ADMIN,
            json!({"product_code": "H-1", "delta": -6, "reason": "lost"}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");

    let got_b = rx_b
        .wait_for(WAIT, |g| {
            stock_of(g, "H-1").len() >= 3 && !stock_of(g, "H-2").is_empty()
        })
        .await;
    assert_eq!(
        figures(&stock_of(&got_b, "H-1")),
        [
            f(10, 10, "receipt"),
            f(10, 9, "adjustment"),
            f(4, 3, "adjustment")
        ]
    );
    // Deliveries of one product reach a channel in order: once A has the
    // last change, it would have had the middle one before it.
    let got_a = rx_a
        .wait_for(WAIT, |g| {
            stock_of(g, "H-1").len() >= 2 && !stock_of(g, "H-2").is_empty()
        })
        .await;
    let a_h1 = stock_of(&got_a, "H-1");
    assert_eq!(
        figures(&a_h1),
        [f(10, 5, "receipt"), f(4, 3, "adjustment")],
        "A is sent nothing when neither its published value nor on_hand changed"
    );
    assert_eq!(a_h1[0]["sku"], "A-H1");
    assert_eq!(a_h1[1]["version"], 4);
    assert_eq!(figures(&stock_of(&got_a, "H-2")), [f(4, 4, "receipt")]);

    // A channel-level rule change: A is sent the new published value of
    // every product it changes (H-1: held max(1, 0) = 1, so 2; H-2: 3).
    let r = patch_channel(&s, &a, json!({"stock_buffer": 1})).await;
    assert_eq!(r.status, 200, "{r:?}");
    let got_a = rx_a
        .wait_for(WAIT, |g| {
            stock_of(g, "H-1").len() >= 3 && stock_of(g, "H-2").len() >= 2
        })
        .await;
    assert_eq!(figures(&stock_of(&got_a, "H-1"))[2], f(4, 2, "adjustment"));
    assert_eq!(stock_of(&got_a, "H-1")[2]["version"], 4);
    assert_eq!(figures(&stock_of(&got_a, "H-2"))[1], f(4, 3, "adjustment"));
    // A SKU override change: its buffer 0 replaces the channel's: 3.
    let r = map_sku(
        &s,
        &a,
        "A-H1",
        json!({"product_code": "H-1", "stock_buffer": 0}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let got_a = rx_a.wait_for(WAIT, |g| stock_of(g, "H-1").len() >= 4).await;
    assert_eq!(figures(&stock_of(&got_a, "H-1"))[3], f(4, 3, "adjustment"));
    for r in &got_a {
        assert!(verify(&secret_a, r), "bad signature on {:?}", r.json);
    }

    // B's rules did not change: it was sent nothing more. A last change
    // both see proves B's queue is drained up to it.
    s.post(
        "/api/v1/stock/receipts",
        ADMIN,
        json!({"reference": "PO-H2", "lines": [{"product_code": "H-2", "quantity": 1}]}),
    )
    .await;
    let got_b = rx_b.wait_for(WAIT, |g| stock_of(g, "H-2").len() >= 2).await;
    assert_eq!(stock_of(&got_b, "H-1").len(), 3, "{got_b:#?}");
    assert_eq!(
        figures(&stock_of(&got_b, "H-2")),
        [f(4, 4, "receipt"), f(5, 5, "receipt")]
    );
    for r in &got_b {
        assert!(verify(&secret_b, r), "bad signature on {:?}", r.json);
    }
    let got_a = rx_a.wait_for(WAIT, |g| stock_of(g, "H-2").len() >= 3).await;
    assert_eq!(figures(&stock_of(&got_a, "H-2"))[2], f(5, 4, "receipt"));
    assert_eq!(stock_of(&got_a, "H-1").len(), 4, "nothing more about H-1");
}
