//! Published availability per channel, through the real binary: what each
//! channel is shown (buffer, percentage rounded up, floor, a SKU's buffer
//! replacing both channel buffers, a SKU's maximum), staff still seeing
//! the real figures, orders reserving against the real figure, refused
//! rules changing nothing, rule changes seen by the next read.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{ADMIN, Reply, Server};

/// `available` of `sku` as `token` sees it in inventory.
pub async fn shown(s: &Server, token: &str, sku: &str) -> i64 {
    let r = s.get(&format!("/api/v1/inventory/{sku}"), token).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["available"].as_i64().expect("available")
}

/// `available` per SKU of a stock-levels answer.
fn by_sku(r: &Reply) -> Vec<(String, i64)> {
    assert_eq!(r.status, 200, "{r:?}");
    let mut items: Vec<(String, i64)> = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["sku"].as_str().expect("sku").to_owned(),
                i["available"].as_i64().expect("available"),
            )
        })
        .collect();
    items.sort();
    items
}

/// PATCH /channels/{id}.
pub async fn patch_channel(s: &Server, id: &str, body: Value) -> Reply {
    s.call(
        Method::PATCH,
        &format!("/api/v1/channels/{id}"),
        Some(ADMIN),
        Some(body),
    )
    .await
}

/// PUT /channels/{id}/skus/{sku}.
pub async fn map_sku(s: &Server, id: &str, sku: &str, body: Value) -> Reply {
    s.put(&format!("/api/v1/channels/{id}/skus/{sku}"), ADMIN, body)
        .await
}

fn pairs(items: &[(&str, i64)]) -> Vec<(String, i64)> {
    items.iter().map(|(s, n)| ((*s).to_owned(), *n)).collect()
}

#[tokio::test]
async fn each_channel_is_shown_its_published_availability() {
    let s = Server::start("rules-reads", &[]);
    s.product("R-10", 10).await;
    s.product("R-1", 1).await;
    s.product("R-20", 20).await;
    let (buf, buf_t) = s.channel("Buffer", json!({"stock_buffer": 3})).await;
    let (pct, pct_t) = s
        .channel("Percent", json!({"stock_buffer_percent": 25}))
        .await;
    let (_, floor_t) = s
        .channel("Floor", json!({"stock_buffer": 3, "stock_floor": 7}))
        .await;
    let (_, plain_t) = s.channel("Plain", json!({})).await;

    // Channel answers carry the rule.
    let r = s.get(&format!("/api/v1/channels/{pct}"), ADMIN).await;
    assert_eq!(
        (
            &r.body["stock_buffer"],
            &r.body["stock_buffer_percent"],
            &r.body["stock_floor"]
        ),
        (&json!(0), &json!(25), &json!(0)),
        "{r:?}"
    );

    // Buffer: 10 - 3. Percentage rounded up: ceil(10 × 25 %) = 3 and
    // ceil(1 × 25 %) = 1. Floor: 10 - 3 = 7 is at the floor, so 0.
    assert_eq!(shown(&s, &buf_t, "R-10").await, 7);
    assert_eq!(shown(&s, &pct_t, "R-10").await, 7);
    assert_eq!(shown(&s, &pct_t, "R-1").await, 0);
    assert_eq!(shown(&s, &pct_t, "R-20").await, 15);
    assert_eq!(shown(&s, &floor_t, "R-10").await, 0);
    assert_eq!(shown(&s, &floor_t, "R-20").await, 17);
    assert_eq!(shown(&s, &plain_t, "R-10").await, 10);
    // Staff and admin see the real figure.
    assert_eq!(shown(&s, ADMIN, "R-10").await, 10);

    // A SKU's buffer replaces both channel buffers (even when smaller); a
    // SKU's maximum caps what is shown.
    let r = map_sku(
        &s,
        &buf,
        "B-10",
        json!({"product_code": "R-10", "stock_buffer": 1}),
    )
    .await;
    assert_eq!(
        r.body,
        json!({"channel_id": buf, "sku": "B-10", "product_code": "R-10", "stock_buffer": 1, "stock_max": null}),
    );
    let r = map_sku(
        &s,
        &pct,
        "P-10",
        json!({"product_code": "R-10", "stock_buffer": 0}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = map_sku(
        &s,
        &pct,
        "P-20",
        json!({"product_code": "R-20", "stock_max": 4}),
    )
    .await;
    assert_eq!(r.body["stock_max"], 4, "{r:?}");
    assert_eq!(shown(&s, &buf_t, "B-10").await, 9);
    assert_eq!(shown(&s, &pct_t, "P-10").await, 10);
    assert_eq!(shown(&s, &pct_t, "P-20").await, 4);

    // Stock levels, by SKU and by time, show the same.
    let r = s
        .get("/api/v1/stock-levels?sku=P-10&sku=R-1&sku=P-20", &pct_t)
        .await;
    assert_eq!(by_sku(&r), pairs(&[("P-10", 10), ("P-20", 4), ("R-1", 0)]));
    let since = "/api/v1/stock-levels?updated_since=2000-01-01T00:00:00Z";
    let r = s.get(since, &pct_t).await;
    assert_eq!(by_sku(&r), pairs(&[("P-10", 10), ("P-20", 4), ("R-1", 0)]));
    let r = s.get(since, &floor_t).await;
    assert_eq!(by_sku(&r), pairs(&[("R-1", 0), ("R-10", 0), ("R-20", 17)]));
    let r = s.get(since, ADMIN).await;
    assert_eq!(by_sku(&r), pairs(&[("R-1", 1), ("R-10", 10), ("R-20", 20)]));

    // A rule change is seen by the very next read.
    let r = patch_channel(&s, &buf, json!({"stock_buffer": 5})).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["stock_buffer"]),
        (200, &json!(5)),
        "{r:?}"
    );
    assert_eq!(shown(&s, &buf_t, "R-20").await, 15);
    let r = map_sku(
        &s,
        &buf,
        "B-10",
        json!({"product_code": "R-10", "stock_max": 2}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        shown(&s, &buf_t, "B-10").await,
        2,
        "override replaced: buffer 5, max 2"
    );

    // Orders reserve against the real figure: the floor channel is shown
    // 0 for R-10, yet may order all 10.
    let r = s.order(&floor_t, "rules-all-10", &[("R-10", 10)]).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(shown(&s, ADMIN, "R-10").await, 0);
    let r = s.order(&floor_t, "rules-one-more", &[("R-10", 1)]).await;
    r.assert_problem(422, "insufficient_stock");
}

/// The `errors` fields of a 422 `validation_failed`.
fn failed_fields(r: &Reply) -> Vec<String> {
    r.assert_problem(422, "validation_failed");
    r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field").to_owned())
        .collect()
}

#[tokio::test]
async fn refused_rules_change_nothing() {
    let s = Server::start("rules-refused", &[]);
    s.product("V-10", 10).await;
    let (ch, token) = s.channel("Rules", json!({"stock_buffer": 2})).await;
    let r = map_sku(
        &s,
        &ch,
        "V-SKU",
        json!({"product_code": "V-10", "stock_max": 6}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(shown(&s, &token, "V-SKU").await, 6);

    // Negative values and a percentage over 100: 422 naming each field.
    let r = s
        .post(
            "/api/v1/channels",
            ADMIN,
            json!({"name": "Bad", "stock_buffer": -1, "stock_buffer_percent": 101, "stock_floor": -5}),
        )
        .await;
    assert_eq!(
        failed_fields(&r),
        ["stock_buffer", "stock_buffer_percent", "stock_floor"]
    );
    let r = patch_channel(
        &s,
        &ch,
        json!({"stock_buffer": 9, "stock_buffer_percent": -1}),
    )
    .await;
    assert_eq!(failed_fields(&r), ["stock_buffer_percent"]);
    let r = map_sku(
        &s,
        &ch,
        "V-SKU",
        json!({"product_code": "V-10", "stock_buffer": -2, "stock_max": -1}),
    )
    .await;
    assert_eq!(failed_fields(&r), ["stock_buffer", "stock_max"]);
    // Wrong types: 400.
    for body in [
        json!({"stock_buffer": "3"}),
        json!({"stock_buffer_percent": 12.5}),
        json!({"stock_floor": true}),
        json!({"stock_buffer": 1e30}),
    ] {
        patch_channel(&s, &ch, body)
            .await
            .assert_problem(400, "malformed_request");
    }
    map_sku(
        &s,
        &ch,
        "V-SKU",
        json!({"product_code": "V-10", "stock_max": "6"}),
    )
    .await
    .assert_problem(400, "malformed_request");

    // Nothing changed: the rule, the override, what the channel is shown.
    let r = s.get(&format!("/api/v1/channels/{ch}"), ADMIN).await;
    assert_eq!(
        (
            &r.body["stock_buffer"],
            &r.body["stock_buffer_percent"],
            &r.body["stock_floor"]
        ),
        (&json!(2), &json!(0), &json!(0)),
        "{r:?}"
    );
    assert_eq!(shown(&s, &token, "V-SKU").await, 6);
    assert_eq!(shown(&s, ADMIN, "V-10").await, 10);
}
