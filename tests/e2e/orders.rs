//! Order idempotency, channel isolation, expiry, cancellation.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::common::{ADMIN, Server, ledger_verify};

#[tokio::test]
async fn the_same_external_id_or_idempotency_key_gives_the_same_order() {
    let s = Server::start("idem", &[]);
    s.product("TEH-1", 10).await;
    s.product("TEH-2", 10).await;
    let (_, token) = s.channel("Idem", json!({})).await;
    let first = s
        .order(&token, "EXT-1", &[("TEH-1", 2), ("TEH-2", 1)])
        .await;
    assert_eq!(first.status, 201, "{first:?}");
    // Same lines in another order of lines: the original order, nothing reserved twice.
    let again = s
        .order(&token, "EXT-1", &[("TEH-2", 1), ("TEH-1", 2)])
        .await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(s.levels("TEH-1").await, (10, 2));
    let different = s.order(&token, "EXT-1", &[("TEH-1", 3)]).await;
    different.assert_problem(409, "conflict");
    assert_eq!(s.levels("TEH-1").await, (10, 2));

    // Idempotency-Key: a replay returns the first order.
    let body = json!({"external_id": "EXT-2", "lines": [{"sku": "TEH-1", "quantity": 1}]});
    let send = |body: serde_json::Value| {
        s.raw(Method::POST, "/api/v1/orders")
            .bearer_auth(&token)
            .header("Idempotency-Key", "key-abc")
            .json(&body)
            .send()
    };
    let r1 = send(body.clone()).await.unwrap();
    assert_eq!(r1.status(), 201);
    let id: serde_json::Value = r1.json().await.unwrap();
    let r2 = send(body).await.unwrap();
    assert_eq!(r2.status(), 200);
    let id2: serde_json::Value = r2.json().await.unwrap();
    assert_eq!(id["id"], id2["id"]);
    // The key reused for another order is a conflict, and reserves nothing.
    let r3 = send(json!({"external_id": "EXT-3", "lines": [{"sku": "TEH-1", "quantity": 1}]}))
        .await
        .unwrap();
    assert_eq!(r3.status(), 409);
    assert_eq!(s.levels("TEH-1").await, (10, 3));
}

#[tokio::test]
async fn a_channel_cannot_see_or_change_another_channels_order() {
    let s = Server::start("isolation", &[]);
    s.product("GULA-1", 5).await;
    let (_, a) = s.channel("Toko A", json!({})).await;
    let (_, b) = s.channel("Toko B", json!({})).await;
    let order = s.order(&a, "A-1", &[("GULA-1", 1)]).await;
    let id = order.body["id"].as_str().unwrap();
    s.get(&format!("/api/v1/orders/{id}"), &b)
        .await
        .assert_problem(404, "not_found");
    s.get(&format!("/api/v1/orders/{id}/status"), &b)
        .await
        .assert_problem(404, "not_found");
    s.call(
        Method::PATCH,
        &format!("/api/v1/orders/{id}/paid"),
        Some(&b),
        None,
    )
    .await
    .assert_problem(404, "not_found");
    s.post(&format!("/api/v1/orders/{id}/cancel"), &b, json!({}))
        .await
        .assert_problem(404, "not_found");
    let list = s.get("/api/v1/orders", &b).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 0);
    let mine = s.get("/api/v1/orders", &a).await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);
    // Staff sees it; the owner can still cancel it, which releases the stock.
    assert_eq!(
        s.get(&format!("/api/v1/orders/{id}"), ADMIN).await.status,
        200
    );
    let c = s
        .post(&format!("/api/v1/orders/{id}/cancel"), &a, json!({}))
        .await;
    assert_eq!(
        (c.status.as_u16(), c.body["status"].as_str()),
        (200, Some("cancelled"))
    );
    assert_eq!(s.levels("GULA-1").await, (5, 0));
    // Same external id from another channel is another order.
    let other = s.order(&b, "A-1", &[("GULA-1", 1)]).await;
    assert_eq!(other.status, 201);
    assert_ne!(other.body["id"], order.body["id"]);
}

#[tokio::test]
async fn unpaid_orders_expire_and_release_their_stock() {
    let s = Server::start(
        "expiry",
        &[
            ("AGUSTO_RESERVATION_TTL_SECS", "1"),
            ("AGUSTO_EXPIRY_INTERVAL_MS", "100"),
        ],
    );
    s.product("ES-1", 4).await;
    let (_, token) = s.channel("Expiry", json!({})).await;
    let r = s.order(&token, "exp-1", &[("ES-1", 3)]).await;
    assert_eq!(r.status, 201);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let paid_one = s.order(&token, "exp-2", &[("ES-1", 1)]).await;
    let paid_id = paid_one.body["id"].as_str().unwrap().to_owned();
    let p = s
        .call(
            Method::PATCH,
            &format!("/api/v1/orders/{paid_id}/paid"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(p.status, 200);
    assert_eq!(s.levels("ES-1").await, (4, 4));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let st = s.get(&format!("/api/v1/orders/{id}/status"), &token).await;
        if st.body["status"] == "expired" {
            let h: Vec<&str> = st.body["history"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["status"].as_str().unwrap())
                .collect();
            assert_eq!(h, ["reserved", "expired"]);
            break;
        }
        assert!(Instant::now() < deadline, "order did not expire: {st:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The paid order keeps its unit; the expired one gave its three back.
    assert_eq!(s.levels("ES-1").await, (4, 1));
    let late = s
        .call(
            Method::PATCH,
            &format!("/api/v1/orders/{id}/paid"),
            Some(&token),
            None,
        )
        .await;
    late.assert_problem(409, "invalid_transition");
    let m = s.get("/api/v1/inventory/ES-1/movements", ADMIN).await;
    assert!(
        m.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["kind"] == "release" && x["delta_reserved"] == -3)
    );
    let (code, out) = ledger_verify(&s.dir);
    assert_eq!(code, 0, "{out}");
}

#[tokio::test]
async fn orders_use_the_channels_sku_mapping() {
    let s = Server::start("skumap", &[]);
    s.product("BERAS-5KG", 8).await;
    let (ch, token) = s.channel("Marketplace", json!({})).await;
    let m = s
        .put(
            &format!("/api/v1/channels/{ch}/skus/MP-BRS-05"),
            ADMIN,
            json!({"product_code": "BERAS-5KG"}),
        )
        .await;
    assert_eq!(m.status, 200, "{m:?}");
    assert_eq!(m.body["product_code"], "BERAS-5KG");
    let inv = s.get("/api/v1/inventory/MP-BRS-05", &token).await;
    assert_eq!(
        (inv.body["sku"].as_str(), inv.body["available"].as_i64()),
        (Some("MP-BRS-05"), Some(8))
    );
    let products = s.get("/api/v1/products", &token).await;
    assert_eq!(products.body["items"][0]["sku"], "MP-BRS-05");
    let o = s.order(&token, "mp-1", &[("MP-BRS-05", 2)]).await;
    assert_eq!(o.status, 201, "{o:?}");
    assert_eq!(o.body["lines"][0]["product_code"], "BERAS-5KG");
    assert_eq!(o.body["lines"][0]["sku"], "MP-BRS-05");
    // The mapped product is no longer reachable under its code for this channel.
    s.order(&token, "mp-2", &[("BERAS-5KG", 1)])
        .await
        .assert_problem(422, "unknown_sku");
    let levels = s
        .get("/api/v1/stock-levels?sku=MP-BRS-05&sku=NOPE", &token)
        .await;
    let items = levels.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0]["sku"].as_str(), items[0]["reserved"].as_i64()),
        (Some("MP-BRS-05"), Some(2))
    );
}

/// Two placements of one external id at once, with lines in different stock
/// partitions (so they would be decided by different writers): one order,
/// the other answer 409, never two holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_placements_of_one_external_id_with_different_lines_place_one_order() {
    let s = Server::start("dup-race", &[]);
    let codes: Vec<String> = (0..64).map(|i| format!("DR-{i}")).collect();
    let a = codes[0].clone();
    let b = codes
        .iter()
        .find(|c| agusto_schemas::partition_for(c, 4) != agusto_schemas::partition_for(&a, 4))
        .expect("a product of another partition")
        .clone();
    s.product(&a, 100).await;
    s.product(&b, 100).await;
    let (_, token) = s.channel("DupRace", json!({})).await;
    for i in 0..30 {
        let id = format!("dup-{i}");
        let (lines_a, lines_b) = ([(a.as_str(), 1)], [(b.as_str(), 1)]);
        let (x, y) = tokio::join!(
            s.order(&token, &id, &lines_a),
            s.order(&token, &id, &lines_b)
        );
        let mut statuses = [x.status.as_u16(), y.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "placement {i}");
    }
    let (_, held_a) = s.levels(&a).await;
    let (_, held_b) = s.levels(&b).await;
    assert_eq!(held_a + held_b, 30, "one hold per order");
    drop(s);
}
