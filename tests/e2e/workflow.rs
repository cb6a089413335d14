//! The seed workflow and the no-oversell race.

use futures::future::join_all;
use serde_json::json;

use crate::common::{ADMIN, Server, ledger_verify};

#[tokio::test]
async fn seed_workflow_stock_in_order_paid_pick_pack_complete() {
    let s = Server::start("seed", &[]);
    s.product("KOPI-1", 0).await;
    let r = s
        .post(
            "/api/v1/stock/receipts",
            ADMIN,
            json!({"reference": "PO-77", "lines": [{"product_code": "KOPI-1", "quantity": 10}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert!(r.body["id"].as_str().unwrap().starts_with("rcpt_"));
    assert_eq!(r.body["lines"][0]["on_hand"], 10);
    assert_eq!(r.body["lines"][0]["available"], 10);
    let (_, token) = s.channel("Toko Kopi", json!({})).await;

    let r = s.order(&token, "INV-1001", &[("KOPI-1", 3)]).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["status"], "reserved");
    assert!(r.body["expires_at"].is_string());
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(s.levels("KOPI-1").await, (10, 3));

    let r = s
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/orders/{id}/paid"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["status"].as_str()),
        (200, Some("pending_approval")),
        "{r:?}"
    );
    let picklist = s.get("/api/v1/orders?status=pending_approval", ADMIN).await;
    assert!(
        picklist.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == id.as_str())
    );

    for (step, status) in [("pick", "picking"), ("pack", "packed")] {
        let r = s
            .post(&format!("/api/v1/orders/{id}/{step}"), ADMIN, json!({}))
            .await;
        assert_eq!(
            (r.status.as_u16(), r.body["status"].as_str()),
            (200, Some(status)),
            "{r:?}"
        );
    }
    let r = s
        .post(
            &format!("/api/v1/orders/{id}/complete"),
            ADMIN,
            json!({"tracking_number": "JNE-555", "carrier": "JNE"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["status"], "dispatched");
    assert_eq!(r.body["tracking_number"], "JNE-555");
    assert_eq!(s.levels("KOPI-1").await, (7, 0));

    let st = s.get(&format!("/api/v1/orders/{id}/status"), &token).await;
    assert_eq!(st.status, 200);
    let history: Vec<&str> = st.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        [
            "reserved",
            "pending_approval",
            "picking",
            "packed",
            "dispatched"
        ]
    );
    assert_eq!(st.body["carrier"], "JNE");

    let m = s.get("/api/v1/inventory/KOPI-1/movements", ADMIN).await;
    let rows: Vec<(String, i64, i64, i64)> = m.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["kind"].as_str().unwrap().to_owned(),
                x["delta_on_hand"].as_i64().unwrap(),
                x["delta_reserved"].as_i64().unwrap(),
                x["version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("receipt".into(), 10, 0, 1),
            ("reserve".into(), 0, 3, 2),
            ("stock_out".into(), -3, -3, 3)
        ]
    );
    assert_eq!(m.body["items"][2]["reference"], "JNE-555");

    let r = s
        .post(&format!("/api/v1/orders/{id}/cancel"), &token, json!({}))
        .await;
    r.assert_problem(409, "invalid_transition");
    let (code, out) = ledger_verify(&s.dir);
    assert_eq!(code, 0, "{out}");
}

#[tokio::test]
async fn two_hundred_concurrent_orders_for_five_units_sell_exactly_five() {
    let s = Server::start("race", &[]);
    s.product("HOT-1", 5).await;
    let (_, token) = s.channel("Flash", json!({})).await;
    let replies = join_all((0..200).map(|i| {
        let (s, token) = (&s, &token);
        async move { s.order(token, &format!("flash-{i}"), &[("HOT-1", 1)]).await }
    }))
    .await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let short: Vec<_> = replies.iter().filter(|r| r.status == 422).collect();
    assert_eq!(
        created,
        5,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(short.len(), 195);
    for r in short {
        r.assert_problem(422, "insufficient_stock");
        assert_eq!(r.body["shortages"][0]["sku"], "HOT-1");
        assert_eq!(r.body["shortages"][0]["requested"], 1);
        assert_eq!(r.body["shortages"][0]["available"], 0);
    }
    assert_eq!(s.levels("HOT-1").await, (5, 5));
    let (code, out) = ledger_verify(&s.dir);
    assert_eq!(code, 0, "{out}");
}

#[tokio::test]
async fn an_order_with_one_short_line_reserves_nothing_across_partitions() {
    let s = Server::start("multiline", &[]);
    // Pick two products owned by different stock writers, so the saga runs.
    let codes: Vec<String> = (0..64).map(|i| format!("ML-{i}")).collect();
    let a = codes[0].clone();
    let b = codes
        .iter()
        .find(|c| agusto_schemas::partition_for(c, 4) != agusto_schemas::partition_for(&a, 4))
        .unwrap()
        .clone();
    s.product(&a, 10).await;
    s.product(&b, 1).await;
    let (_, token) = s.channel("Multi", json!({})).await;
    let r = s.order(&token, "ml-1", &[(&a, 2), (&b, 5)]).await;
    r.assert_problem(422, "insufficient_stock");
    let shortages = r.body["shortages"].as_array().unwrap();
    assert_eq!(shortages.len(), 1);
    assert_eq!(shortages[0]["sku"], b.as_str());
    assert_eq!(
        (
            shortages[0]["requested"].as_i64(),
            shortages[0]["available"].as_i64()
        ),
        (Some(5), Some(1))
    );
    assert_eq!(s.levels(&a).await, (10, 0));
    assert_eq!(s.levels(&b).await, (1, 0));
    let list = s.get("/api/v1/orders", &token).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 0);
    // The same order that fits is placed whole.
    let r = s.order(&token, "ml-2", &[(&a, 2), (&b, 1)]).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(s.levels(&a).await, (10, 2));
    assert_eq!(s.levels(&b).await, (1, 1));
    let (code, out) = ledger_verify(&s.dir);
    assert_eq!(code, 0, "{out}");
}
