//! Bundles (kits) over HTTP: components on `PUT /products`, figures derived
//! from them, order lines on a bundle reserving every component atomically
//! (one hop, or a saga when the components span stock partitions),
//! stock-out and cancel on the components, shortages by the bundle's SKU,
//! `stock.changed` for the bundle when a component changes, and 200 racing
//! orders that mix a bundle and its components without overselling.

use std::time::Duration;

use agusto_schemas::partition_for;
use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{ADMIN, Reply, Server, ledger_verify};
use crate::receiver::Receiver;

/// Stock partitions of `agusto serve` by default.
const PARTITIONS: u32 = 4;

const FAST: [(&str, &str); 2] = [
    ("AGUSTO_WEBHOOK_BACKOFF_BASE_MS", "50"),
    ("AGUSTO_WEBHOOK_TIMEOUT_MS", "2000"),
];

/// Two codes with `prefix` in different stock partitions.
fn apart(prefix: &str) -> (String, String) {
    let codes: Vec<String> = (0..100).map(|i| format!("{prefix}-{i}")).collect();
    let a = codes[0].clone();
    let b = codes
        .iter()
        .find(|c| partition_for(c, PARTITIONS) != partition_for(&a, PARTITIONS))
        .expect("a code in another partition")
        .clone();
    (a, b)
}

async fn bundle(s: &Server, code: &str, parts: &[(&str, i64)]) -> Reply {
    let parts: Vec<Value> = parts
        .iter()
        .map(|(p, q)| json!({"product_code": p, "quantity": q}))
        .collect();
    s.put(
        &format!("/api/v1/products/{code}"),
        ADMIN,
        json!({"name": format!("Bundle {code}"), "active": true, "components": parts}),
    )
    .await
}

/// (on_hand, reserved, available) as `token` is shown them.
async fn figures(s: &Server, token: &str, sku: &str) -> (i64, i64, i64) {
    let r = s.get(&format!("/api/v1/inventory/{sku}"), token).await;
    assert_eq!(r.status, 200, "{r:?}");
    let n = |k: &str| r.body[k].as_i64().unwrap();
    (n("on_hand"), n("reserved"), n("available"))
}

async fn step(s: &Server, token: &str, id: &str, what: &str) {
    let r = match what {
        "paid" => {
            let path = format!("/api/v1/orders/{id}/paid");
            s.call(Method::PATCH, &path, Some(token), None).await
        }
        "complete" => {
            let path = format!("/api/v1/orders/{id}/complete");
            s.post(&path, ADMIN, json!({"tracking_number": "JNE-B"}))
                .await
        }
        other => {
            let path = format!("/api/v1/orders/{id}/{other}");
            s.post(&path, ADMIN, json!({})).await
        }
    };
    assert_eq!(r.status, 200, "{what}: {r:?}");
}

#[tokio::test]
async fn a_bundle_holds_ships_and_gives_back_exactly_its_components() {
    let rx = Receiver::start(200).await;
    let s = Server::start("bundles-flow", &FAST);
    let (_, token) = s
        .channel("Toko", json!({"webhook_url": rx.url.clone()}))
        .await;
    let (cup, tea) = apart("BCUP");
    s.product(&cup, 10).await;
    s.product(&tea, 9).await;
    let r = bundle(&s, "GIFT", &[(&cup, 2), (&tea, 3)]).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(
        r.body["components"],
        json!([{"product_code": cup, "quantity": 2}, {"product_code": tea, "quantity": 3}])
    );
    // Derived: min(10 / 2, 9 / 3) = 3 sets; no stock of its own.
    assert_eq!(figures(&s, &token, "GIFT").await, (3, 0, 3));
    let inv = s.get("/api/v1/inventory/GIFT", ADMIN).await;
    assert_eq!(inv.body["components"][0]["product_code"], cup.as_str());
    let listed = s.get("/api/v1/products?limit=1000", &token).await;
    let gift = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["product_code"] == "GIFT")
        .cloned()
        .unwrap();
    assert_eq!(gift["components"][1]["quantity"], 3);

    // 2 sets and 1 loose cup, the components in two partitions: a saga.
    let order = s.order(&token, "b-1", &[("GIFT", 2), (&cup, 1)]).await;
    assert_eq!(order.status, 201, "{order:?}");
    let id = order.body["id"].as_str().unwrap().to_owned();
    assert_eq!(order.body["lines"][0]["sku"], "GIFT");
    assert_eq!(s.levels(&cup).await, (10, 5));
    assert_eq!(s.levels(&tea).await, (9, 6));
    assert_eq!(figures(&s, &token, "GIFT").await, (3, 0, 1));

    // Short: 2 more sets need 6 tea, 3 are left. Named by the bundle's SKU.
    let short = s.order(&token, "b-2", &[("GIFT", 2)]).await;
    short.assert_problem(422, "insufficient_stock");
    assert_eq!(
        short.body["shortages"],
        json!([{"sku": "GIFT", "requested": 2, "available": 1}])
    );
    assert_eq!(s.levels(&cup).await, (10, 5));

    // Cancel gives back exactly what was held.
    let other = s.order(&token, "b-3", &[("GIFT", 1)]).await;
    assert_eq!(other.status, 201, "{other:?}");
    let other_id = other.body["id"].as_str().unwrap().to_owned();
    assert_eq!(s.levels(&tea).await, (9, 9));
    let r = s
        .post(
            &format!("/api/v1/orders/{other_id}/cancel"),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(s.levels(&cup).await, (10, 5));
    assert_eq!(s.levels(&tea).await, (9, 6));

    // Stock-out deducts the components.
    for what in ["paid", "pick", "pack", "complete"] {
        step(&s, &token, &id, what).await;
    }
    assert_eq!(s.levels(&cup).await, (5, 0));
    assert_eq!(s.levels(&tea).await, (3, 0));
    assert_eq!(figures(&s, &token, "GIFT").await, (1, 0, 1));

    // A component's change reaches the channel for the bundle too.
    let got = rx
        .wait_for(Duration::from_secs(20), |g| {
            g.iter().any(|r| {
                r.json["data"]["sku"] == "GIFT"
                    && r.json["data"]["reason"] == "component"
                    && r.json["data"]["available"] == 1
            })
        })
        .await;
    let gift: Vec<&Value> = got
        .iter()
        .filter(|r| r.json["data"]["sku"] == "GIFT")
        .map(|r| &r.json["data"])
        .collect();
    assert!(
        gift.iter()
            .all(|d| d["reason"] == "component" && d["reserved"] == 0)
    );
    let versions: Vec<i64> = gift
        .iter()
        .map(|d| d["version"].as_i64().unwrap())
        .collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");

    // A returned set puts its components back: one restocked, one damaged.
    let r = s
        .post(
            &format!("/api/v1/orders/{id}/returns"),
            &token,
            json!({"lines": [{"sku": "GIFT", "quantity": 2}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let rt = r.body["id"].as_str().unwrap().to_owned();
    let r = s
        .post(
            &format!("/api/v1/returns/{rt}/receive"),
            ADMIN,
            json!({"lines": [{"product_code": "GIFT", "restock": 1, "damaged": 1}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(s.levels(&cup).await, (7, 0));
    assert_eq!(s.levels(&tea).await, (6, 0));
    let damaged = s.get(&format!("/api/v1/inventory/{tea}"), ADMIN).await;
    assert_eq!(damaged.body["damaged"], 3);

    let dir = s.dir.clone();
    s.terminate();
    let (code, out) = ledger_verify(&dir);
    assert_eq!(code, 0, "{out}");
}

#[tokio::test]
async fn bundles_are_checked_and_have_no_stock_of_their_own() {
    let s = Server::start("bundles-rules", &[]);
    s.product("BR-A", 5).await;
    s.product("BR-B", 0).await;
    assert_eq!(
        bundle(&s, "BR-SET", &[("BR-A", 1), ("BR-B", 2)])
            .await
            .status,
        201
    );
    type Refusal<'a> = (&'a str, &'a [(&'a str, i64)], &'a str);
    let refused: [Refusal; 6] = [
        ("BR-X", &[("BR-NONE", 1)], "components[0].product_code"),
        ("BR-X", &[("BR-A", 0)], "components[0].quantity"),
        (
            "BR-X",
            &[("BR-A", 1), ("BR-A", 1)],
            "components[1].product_code",
        ),
        ("BR-X", &[("BR-X", 1)], "components[0].product_code"),
        // No bundle of bundles, either way round.
        ("BR-X", &[("BR-SET", 1)], "components[0].product_code"),
        ("BR-A", &[("BR-B", 1)], "components"),
    ];
    for (code, parts, field) in refused {
        let r = bundle(&s, code, parts).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(
            r.body["errors"][0]["field"], field,
            "{code} {parts:?} → {r:?}"
        );
    }
    // A product with stock of its own cannot become a bundle.
    s.product("BR-C", 1).await;
    let r = bundle(&s, "BR-C", &[("BR-B", 1)]).await;
    r.assert_problem(422, "validation_failed");
    // No receipts or adjustments of a bundle.
    let r = s
        .post(
            "/api/v1/stock/receipts",
            ADMIN,
            json!({"reference": "PO", "lines": [{"product_code": "BR-SET", "quantity": 1}]}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "lines[0].product_code");
    let r = s
        .post(
            "/api/v1/stock/adjustments",
            ADMIN,
            json!({"product_code": "BR-SET", "delta": 1, "reason": "x"}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    // A PUT without components keeps them; [] makes the product plain.
    let r = s
        .put(
            "/api/v1/products/BR-SET",
            ADMIN,
            json!({"name": "Renamed set", "active": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["components"][0]["product_code"], "BR-A");
    assert_eq!(bundle(&s, "BR-SET", &[]).await.status, 200);
    let r = s.get("/api/v1/inventory/BR-SET", ADMIN).await;
    assert!(r.body.get("components").is_none(), "{r:?}");
}

#[tokio::test]
async fn racing_orders_of_a_bundle_and_its_components_never_oversell() {
    let s = Server::start("bundles-race", &[]);
    let (_, token) = s.channel("Toko", json!({})).await;
    let (cup, tea) = apart("BRC");
    s.product(&cup, 150).await;
    s.product(&tea, 100).await;
    assert_eq!(
        bundle(&s, "RSET", &[(&cup, 2), (&tea, 1)]).await.status,
        201
    );
    // 200 orders: sets, loose cups, loose tea and mixes, all at once.
    let orders = (0..200).map(|i| {
        let lines: Vec<(&str, i64)> = match i % 4 {
            0 => vec![("RSET", 1)],
            1 => vec![(cup.as_str(), 2)],
            2 => vec![(tea.as_str(), 1), ("RSET", 1)],
            _ => vec![("RSET", 2)],
        };
        let s = &s;
        let token = token.clone();
        async move { s.order(&token, &format!("race-{i}"), &lines).await }
    });
    let replies = join_all(orders).await;
    let mut held = (0i64, 0i64);
    for (i, r) in replies.iter().enumerate() {
        match r.status.as_u16() {
            201 => {
                let (c, t) = match i % 4 {
                    0 => (2, 1),
                    1 => (2, 0),
                    2 => (2, 2),
                    _ => (4, 2),
                };
                held = (held.0 + c, held.1 + t);
            }
            422 => r.assert_problem(422, "insufficient_stock"),
            other => panic!("order {i}: {other} {r:?}"),
        }
    }
    assert!(held.0 <= 150 && held.1 <= 100, "{held:?}");
    assert_eq!(s.levels(&cup).await, (150, held.0));
    assert_eq!(s.levels(&tea).await, (100, held.1));
    let (_, reserved, available) = figures(&s, ADMIN, "RSET").await;
    assert_eq!(reserved, 0);
    assert_eq!(available, ((150 - held.0) / 2).min(100 - held.1));
    let dir = s.dir.clone();
    s.terminate();
    let (code, out) = ledger_verify(&dir);
    assert_eq!(code, 0, "{out}");
}
