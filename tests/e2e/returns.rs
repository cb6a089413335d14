//! Returns over HTTP: requested by the channel (only for dispatched orders,
//! never more than was dispatched, also when requests race), received by
//! staff line by line, restocked units back on hand and damaged ones kept
//! apart, `order.returned` and `stock.changed` at a real receiver.

use std::time::Duration;

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{ADMIN, Reply, Server, ledger_verify};
use crate::receiver::Receiver;

const FAST: [(&str, &str); 2] = [
    ("AGUSTO_WEBHOOK_BACKOFF_BASE_MS", "50"),
    ("AGUSTO_WEBHOOK_TIMEOUT_MS", "2000"),
];

/// Places, pays, picks and packs an order; returns its id.
async fn packed(s: &Server, token: &str, external_id: &str, lines: &[(&str, i64)]) -> String {
    let r = s.order(token, external_id, lines).await;
    assert_eq!(r.status, 201, "{r:?}");
    let id = r.body["id"].as_str().unwrap().to_owned();
    let paid = s
        .call(
            Method::PATCH,
            &format!("/api/v1/orders/{id}/paid"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(paid.status, 200, "{paid:?}");
    for step in ["pick", "pack"] {
        let r = s
            .post(&format!("/api/v1/orders/{id}/{step}"), ADMIN, json!({}))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
    }
    id
}

async fn complete(s: &Server, id: &str) {
    let r = s
        .post(
            &format!("/api/v1/orders/{id}/complete"),
            ADMIN,
            json!({"tracking_number": "JNE-RT", "carrier": "JNE"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

async fn request(s: &Server, token: &str, order: &str, lines: &[(&str, i64)]) -> Reply {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(sku, q)| json!({"sku": sku, "quantity": q}))
        .collect();
    s.post(
        &format!("/api/v1/orders/{order}/returns"),
        token,
        json!({"lines": lines, "reason": "wrong roast"}),
    )
    .await
}

async fn receive(s: &Server, token: &str, id: &str, lines: &[(&str, i64, i64)]) -> Reply {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(p, r, d)| json!({"product_code": p, "restock": r, "damaged": d}))
        .collect();
    s.post(
        &format!("/api/v1/returns/{id}/receive"),
        token,
        json!({"lines": lines}),
    )
    .await
}

/// (on_hand, reserved, damaged) as staff sees them.
async fn levels(s: &Server, code: &str) -> (i64, i64, i64) {
    let r = s.get(&format!("/api/v1/inventory/{code}"), ADMIN).await;
    let n = |k: &str| r.body[k].as_i64().unwrap();
    (n("on_hand"), n("reserved"), n("damaged"))
}

#[tokio::test]
async fn a_return_restocks_sellable_units_and_keeps_damaged_ones_apart() {
    let rx = Receiver::start(200).await;
    let s = Server::start("returns-flow", &FAST);
    let (ch, token) = s
        .channel("Toko", json!({"webhook_url": rx.url.clone()}))
        .await;
    let (_, other) = s.channel("Other", json!({})).await;
    s.product("RT-1", 10).await;
    s.product("RT-2", 5).await;
    let id = packed(&s, &token, "rt-order", &[("RT-1", 3), ("RT-2", 2)]).await;

    // Only dispatched orders take returns.
    request(&s, &token, &id, &[("RT-1", 1)])
        .await
        .assert_problem(409, "invalid_transition");
    complete(&s, &id).await;
    assert_eq!(levels(&s, "RT-1").await, (7, 0, 0));

    // Refused requests change nothing.
    let refused: [(&[(&str, i64)], &str); 4] = [
        (&[("NOPE", 1)], "lines[0].sku"),
        (&[("RT-1", 0)], "lines[0].quantity"),
        (&[("RT-1", 1), ("RT-1", 1)], "lines[1].sku"),
        (&[("RT-2", 1), ("RT-1", 4)], "lines[1].quantity"),
    ];
    for (lines, field) in refused {
        let r = request(&s, &token, &id, lines).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], field, "{lines:?} → {r:?}");
    }
    request(&s, &other, &id, &[("RT-1", 1)])
        .await
        .assert_problem(404, "not_found");

    let first = request(&s, &token, &id, &[("RT-1", 2), ("RT-2", 2)]).await;
    assert_eq!(first.status, 201, "{first:?}");
    assert_eq!(first.body["status"], "requested");
    assert_eq!(first.body["order_id"], id.as_str());
    assert_eq!(
        first.body["lines"],
        json!([{"sku": "RT-1", "product_code": "RT-1", "quantity": 2},
               {"sku": "RT-2", "product_code": "RT-2", "quantity": 2}])
    );
    let first_id = first.body["id"].as_str().unwrap().to_owned();
    // 3 dispatched, 2 returned: one more of RT-1, none of RT-2.
    let r = request(&s, &token, &id, &[("RT-1", 2)]).await;
    r.assert_problem(422, "validation_failed");
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 1 more"),
        "{r:?}"
    );
    let second = request(&s, ADMIN, &id, &[("RT-1", 1)]).await;
    assert_eq!(second.status, 201, "{second:?}");

    // The receiving list (staff only).
    let list = s.get("/api/v1/returns?status=requested", ADMIN).await;
    assert_eq!(list.status, 200, "{list:?}");
    let ids: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [first_id.as_str(), second.body["id"].as_str().unwrap()]
    );
    s.get("/api/v1/returns", &token)
        .await
        .assert_problem(403, "forbidden");
    s.get("/api/v1/returns?status=lost", ADMIN)
        .await
        .assert_problem(422, "validation_failed");

    // Receiving: every line once, restock + damaged = returned.
    receive(&s, &token, &first_id, &[("RT-1", 2, 0), ("RT-2", 2, 0)])
        .await
        .assert_problem(403, "forbidden");
    for bad in [
        vec![("RT-1", 1, 0), ("RT-2", 2, 0)],
        vec![("RT-1", 2, 0)],
        vec![("RT-1", 3, -1), ("RT-2", 2, 0)],
    ] {
        receive(&s, ADMIN, &first_id, &bad)
            .await
            .assert_problem(422, "validation_failed");
    }
    assert_eq!(levels(&s, "RT-1").await, (7, 0, 0));
    let split = [("RT-1", 1, 1), ("RT-2", 2, 0)];
    let got = receive(&s, ADMIN, &first_id, &split).await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.body["status"], "received");
    assert_eq!(got.body["lines"][0]["restock"], 1);
    assert_eq!(got.body["lines"][0]["damaged"], 1);
    assert_eq!(levels(&s, "RT-1").await, (8, 0, 1));
    assert_eq!(levels(&s, "RT-2").await, (5, 0, 0));
    // The same split again changes nothing; another one is a conflict.
    let again = receive(&s, ADMIN, &first_id, &split).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.body, got.body);
    receive(&s, ADMIN, &first_id, &[("RT-1", 2, 0), ("RT-2", 2, 0)])
        .await
        .assert_problem(409, "conflict");
    assert_eq!(levels(&s, "RT-1").await, (8, 0, 1));

    let ledger = s.get("/api/v1/inventory/RT-1/movements", ADMIN).await;
    let tail: Vec<(String, i64, i64, String)> = ledger.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .take(2)
        .map(|m| {
            (
                m["kind"].as_str().unwrap().to_owned(),
                m["delta_on_hand"].as_i64().unwrap(),
                m["delta_damaged"].as_i64().unwrap(),
                m["reference"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        tail,
        [
            ("return_damaged".to_owned(), 0, 1, first_id.clone()),
            ("return".to_owned(), 1, 0, first_id.clone()),
        ]
    );

    let of_order = s.get(&format!("/api/v1/orders/{id}/returns"), &token).await;
    assert_eq!(of_order.status, 200, "{of_order:?}");
    let statuses: Vec<&str> = of_order.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["received", "requested"]);
    s.get(&format!("/api/v1/orders/{id}/returns"), &other)
        .await
        .assert_problem(404, "not_found");
    let received = s.get("/api/v1/returns?status=received", ADMIN).await;
    assert_eq!(received.body["items"].as_array().unwrap().len(), 1);

    // order.returned once, to the order's channel; stock.changed "return".
    let got = rx
        .wait_for(Duration::from_secs(20), |g| {
            g.iter().any(|r| r.json["type"] == "order.returned")
                && g.iter()
                    .filter(|r| r.json["data"]["reason"] == "return")
                    .count()
                    == 3
        })
        .await;
    let returned: Vec<&Value> = got
        .iter()
        .filter(|r| r.json["type"] == "order.returned")
        .map(|r| &r.json["data"])
        .collect();
    assert_eq!(returned.len(), 1, "{returned:?}");
    assert_eq!(returned[0]["order_id"], id.as_str());
    assert_eq!(returned[0]["external_id"], "rt-order");
    assert_eq!(returned[0]["return_id"], first_id.as_str());
    assert_eq!(
        returned[0]["lines"],
        json!([{"sku": "RT-1", "product_code": "RT-1", "quantity": 2, "restock": 1, "damaged": 1},
               {"sku": "RT-2", "product_code": "RT-2", "quantity": 2, "restock": 2, "damaged": 0}])
    );
    let last_rt1 = got
        .iter()
        .filter(|r| {
            r.json["data"]["reason"] == "return" && r.json["data"]["product_code"] == "RT-1"
        })
        .map(|r| &r.json["data"])
        .next_back()
        .cloned()
        .unwrap();
    assert_eq!(
        (&last_rt1["on_hand"], &last_rt1["damaged"]),
        (&json!(8), &json!(1))
    );
    assert!(ch.starts_with("ch_"), "{ch}");

    let dir = s.dir.clone();
    s.terminate();
    let (code, out) = ledger_verify(&dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 returns match the ledger"), "{out}");
    // A received return whose split the ledger does not show is caught.
    let db = rusqlite::Connection::open(dir.join("agusto.db")).unwrap();
    let changed = db
        .execute(
            "UPDATE returns SET body = replace(body, '\"restock\":1,', '\"restock\":2,')
             WHERE id = ?1",
            [&first_id],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    let (code, out) = ledger_verify(&dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("MISMATCH return RT-1"), "{out}");
}

#[tokio::test]
async fn racing_return_requests_never_exceed_what_was_dispatched() {
    let s = Server::start("returns-race", &[]);
    let (_, token) = s.channel("Toko", json!({})).await;
    s.product("RT-9", 10).await;
    let id = packed(&s, &token, "rt-race", &[("RT-9", 3)]).await;
    complete(&s, &id).await;
    let replies = join_all((0..12).map(|_| request(&s, &token, &id, &[("RT-9", 1)]))).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    for r in replies.iter().filter(|r| r.status != 201) {
        r.assert_problem(422, "validation_failed");
    }
    assert_eq!(created, 3);
    let all = s.get(&format!("/api/v1/orders/{id}/returns"), ADMIN).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 3);
}
