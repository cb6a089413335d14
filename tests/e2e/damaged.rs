//! Damaged stock over HTTP: units physically here but not sellable, moved
//! there by adjustments, shown in inventory, stock-levels, the ledger and
//! `stock.changed` webhooks, checked by `agusto ledger verify`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{ADMIN, Reply, Server, ledger_verify};
use crate::receiver::Receiver;

const FAST: [(&str, &str); 2] = [
    ("AGUSTO_WEBHOOK_BACKOFF_BASE_MS", "50"),
    ("AGUSTO_WEBHOOK_TIMEOUT_MS", "2000"),
];

async fn adjust(s: &Server, body: Value) -> Reply {
    s.post("/api/v1/stock/adjustments", ADMIN, body).await
}

/// (on_hand, reserved, available, damaged, version) as staff sees them.
async fn quantities(s: &Server, code: &str) -> (i64, i64, i64, i64, i64) {
    let r = s.get(&format!("/api/v1/inventory/{code}"), ADMIN).await;
    assert_eq!(r.status, 200, "{r:?}");
    let n = |k: &str| r.body[k].as_i64().unwrap_or_else(|| panic!("{k} in {r:?}"));
    (
        n("on_hand"),
        n("reserved"),
        n("available"),
        n("damaged"),
        n("version"),
    )
}

#[tokio::test]
async fn damaged_units_leave_available_and_are_kept_apart_in_every_read() {
    let rx = Receiver::start(200).await;
    let s = Server::start("damaged-reads", &FAST);
    // The channel first: events are fanned out to the channels there are.
    let (_, token) = s
        .channel("Toko", json!({"webhook_url": rx.url.clone()}))
        .await;
    s.product("DMG-1", 10).await;
    let order = s.order(&token, "dmg-order", &[("DMG-1", 3)]).await;
    assert_eq!(order.status, 201, "{order:?}");
    assert_eq!(quantities(&s, "DMG-1").await, (10, 3, 7, 0, 2));

    // 8 units to damaged would leave on_hand 2 below the 3 reserved: 422,
    // nothing changes.
    let r = adjust(
        &s,
        json!({"product_code": "DMG-1", "move_to_damaged": 8, "reason": "crushed pallet"}),
    )
    .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "move_to_damaged", "{r:?}");
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("below reserved"),
        "{r:?}"
    );
    assert_eq!(quantities(&s, "DMG-1").await, (10, 3, 7, 0, 2));

    // 5 units move in one step.
    let r = adjust(
        &s,
        json!({"product_code": "DMG-1", "move_to_damaged": 5, "reason": "water damage"}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(
        (
            &r.body["on_hand"],
            &r.body["reserved"],
            &r.body["available"],
            &r.body["damaged"],
            &r.body["version"]
        ),
        (&json!(5), &json!(3), &json!(2), &json!(5), &json!(3))
    );
    // Damaged units written off (state damaged, negative delta); on_hand
    // is untouched.
    let r = adjust(
        &s,
        json!({"product_code": "DMG-1", "delta": -2, "state": "damaged", "reason": "disposed"}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(quantities(&s, "DMG-1").await, (5, 3, 2, 3, 4));
    // A damaged unit found: state damaged, positive delta.
    let r = adjust(
        &s,
        json!({"product_code": "DMG-1", "delta": 1, "state": "damaged", "reason": "found in returns bay"}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    // Explicit sellable is the default state.
    let r = adjust(
        &s,
        json!({"product_code": "DMG-1", "delta": 1, "state": "sellable", "reason": "recount"}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(quantities(&s, "DMG-1").await, (6, 3, 3, 4, 6));

    // Stock-levels and the channel's view carry damaged too.
    let r = s.get("/api/v1/stock-levels?sku=DMG-1", &token).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["items"][0]["damaged"], 4, "{r:?}");
    assert_eq!(r.body["items"][0]["available"], 3, "{r:?}");
    let r = s
        .get(
            "/api/v1/stock-levels?updated_since=2000-01-01T00:00:00Z",
            ADMIN,
        )
        .await;
    let item = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["product_code"] == "DMG-1")
        .cloned()
        .unwrap_or_else(|| panic!("DMG-1 in {r:?}"));
    assert_eq!(item["damaged"], 4);

    // The ledger keeps each state's delta.
    let r = s.get("/api/v1/inventory/DMG-1/movements", ADMIN).await;
    assert_eq!(r.status, 200, "{r:?}");
    let rows: Vec<(String, i64, i64, i64)> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["kind"].as_str().unwrap().to_owned(),
                m["delta_on_hand"].as_i64().unwrap(),
                m["delta_reserved"].as_i64().unwrap(),
                m["delta_damaged"].as_i64().unwrap(),
            )
        })
        .collect();
    let row = |k: &str, on: i64, res: i64, dmg: i64| (k.to_owned(), on, res, dmg);
    assert_eq!(
        rows,
        vec![
            row("receipt", 10, 0, 0),
            row("reserve", 0, 3, 0),
            row("adjustment", -5, 0, 5),
            row("adjustment", 0, 0, -2),
            row("adjustment", 0, 0, 1),
            row("adjustment", 1, 0, 0),
        ]
    );

    // Every adjustment reached the channel with its damaged figure.
    let got = rx
        .wait_for(Duration::from_secs(20), |g| {
            g.iter()
                .filter(|r| r.json["type"] == "stock.changed")
                .count()
                == 5
        })
        .await;
    let damaged: Vec<(i64, i64, i64)> = got
        .iter()
        .filter(|r| r.json["type"] == "stock.changed")
        .map(|r| {
            let d = &r.json["data"];
            (
                d["on_hand"].as_i64().unwrap(),
                d["available"].as_i64().unwrap(),
                d["damaged"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        damaged,
        vec![(10, 10, 0), (5, 2, 5), (5, 2, 3), (5, 2, 4), (6, 3, 4)]
    );

    let dir = s.dir.clone();
    s.terminate();
    let (code, out) = ledger_verify(&dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ledger ok"), "{out}");
}

#[tokio::test]
async fn bad_damaged_adjustments_are_refused_and_change_nothing() {
    let s = Server::start("damaged-refused", &[]);
    s.product("DMG-2", 4).await;
    let before = quantities(&s, "DMG-2").await;
    let refused = [
        (
            json!({"product_code": "DMG-2", "delta": -1, "state": "damaged", "reason": "x"}),
            "delta",
        ),
        (
            json!({"product_code": "DMG-2", "delta": 1, "state": "broken", "reason": "x"}),
            "state",
        ),
        (
            json!({"product_code": "DMG-2", "set_on_hand": 1, "state": "damaged", "reason": "x"}),
            "state",
        ),
        (
            json!({"product_code": "DMG-2", "move_to_damaged": 0, "reason": "x"}),
            "move_to_damaged",
        ),
        (
            json!({"product_code": "DMG-2", "move_to_damaged": 5, "reason": "x"}),
            "move_to_damaged",
        ),
        (
            json!({"product_code": "DMG-2", "move_to_damaged": 1, "delta": 1, "reason": "x"}),
            "delta",
        ),
    ];
    for (body, field) in refused {
        let r = adjust(&s, body.clone()).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], field, "{body} → {r:?}");
    }
    let r = adjust(
        &s,
        json!({"product_code": "DMG-2", "move_to_damaged": "two", "reason": "x"}),
    )
    .await;
    r.assert_problem(400, "malformed_request");
    assert_eq!(quantities(&s, "DMG-2").await, before);

    // The same Idempotency-Key with another state is another request: 409.
    let key = [("Idempotency-Key", "dmg-key-1")];
    let body = json!({"product_code": "DMG-2", "delta": 2, "state": "damaged", "reason": "found"});
    let first = s
        .post_with("/api/v1/stock/adjustments", ADMIN, &key, body)
        .await;
    assert_eq!(first.status, 201, "{first:?}");
    let other = json!({"product_code": "DMG-2", "delta": 2, "reason": "found"});
    let r = s
        .post_with("/api/v1/stock/adjustments", ADMIN, &key, other)
        .await;
    r.assert_problem(409, "conflict");
    assert_eq!(quantities(&s, "DMG-2").await.3, 2);
}
