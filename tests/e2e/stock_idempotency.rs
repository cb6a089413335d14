//! Receipts and adjustments with an `Idempotency-Key` are applied once:
//! retries (also racing the original, also after kill -9) get the first
//! answer with 200; another body under the same key is 409. And
//! `expected_version` makes an adjustment a compare-and-set.

use agusto_schemas::partition_for;
use futures::future::join_all;
use serde_json::{Value, json};

use crate::common::{ADMIN, Reply, Server};

const KEY: &str = "Idempotency-Key";

/// `n` product codes with `prefix` that fall in every one of 4 stock
/// partitions, so a receipt of all of them spans partitions.
fn spread(prefix: &str, n: usize) -> Vec<String> {
    let codes: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    let mut partitions: Vec<u32> = codes.iter().map(|c| partition_for(c, 4)).collect();
    partitions.sort_unstable();
    partitions.dedup();
    assert_eq!(partitions.len(), 4, "{codes:?} cover every partition");
    codes
}

fn receipt(reference: &str, lines: &[(&str, i64)]) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(p, q)| json!({"product_code": p, "quantity": q}))
        .collect();
    json!({"reference": reference, "lines": lines})
}

async fn receive(s: &Server, token: &str, key: &str, body: &Value) -> Reply {
    s.post_with("/api/v1/stock/receipts", token, &[(KEY, key)], body.clone())
        .await
}

async fn adjust(s: &Server, key: Option<&str>, body: Value) -> Reply {
    let headers: Vec<(&str, &str)> = key.map(|k| (KEY, k)).into_iter().collect();
    s.post_with("/api/v1/stock/adjustments", ADMIN, &headers, body)
        .await
}

async fn on_hand(s: &Server, codes: &[&str]) -> Vec<i64> {
    let mut out = Vec::new();
    for c in codes {
        out.push(s.levels(c).await.0);
    }
    out
}

#[tokio::test]
async fn a_receipt_across_partitions_is_received_once_per_key_and_principal() {
    let s = Server::start("idem-receipts", &[]);
    let codes = spread("IDR", 8);
    for c in &codes {
        s.product(c, 0).await;
    }
    let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
    let lines: Vec<(&str, i64)> = refs.iter().zip(1..).map(|(c, q)| (*c, q)).collect();
    let body = receipt("PO-IDEM-1", &lines);
    let once: Vec<i64> = (1..=8).collect();

    let first = receive(&s, ADMIN, "po-idem-1", &body).await;
    assert_eq!(first.status, 201, "{first:?}");
    let again = receive(&s, ADMIN, "po-idem-1", &body).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.body, first.body, "the first answer, same id");
    assert_eq!(on_hand(&s, &refs).await, once, "received once");

    // Another body under the same key: 409, nothing received.
    let mut changed = lines.clone();
    changed[0].1 = 99;
    receive(&s, ADMIN, "po-idem-1", &receipt("PO-IDEM-1", &changed))
        .await
        .assert_problem(409, "conflict");
    receive(&s, ADMIN, "po-idem-1", &receipt("PO-IDEM-1", &lines[..1]))
        .await
        .assert_problem(409, "conflict");
    assert_eq!(on_hand(&s, &refs).await, once);

    // The same key from another principal is another receipt.
    let staff = s
        .post(
            "/api/v1/tokens",
            ADMIN,
            json!({"role": "staff", "name": "idem"}),
        )
        .await;
    let staff = staff.body["token"]
        .as_str()
        .expect("staff token")
        .to_owned();
    let theirs = receive(&s, &staff, "po-idem-1", &body).await;
    assert_eq!(theirs.status, 201, "{theirs:?}");
    assert_ne!(theirs.body["id"], first.body["id"]);
    let twice: Vec<i64> = once.iter().map(|q| q * 2).collect();
    assert_eq!(on_hand(&s, &refs).await, twice);

    // Retries racing each other: one is the receipt, the others its answer.
    let racing = join_all((0..6).map(|_| receive(&s, ADMIN, "po-idem-2", &body))).await;
    let created = racing.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 1, "{racing:?}");
    assert!(
        racing
            .iter()
            .all(|r| r.status.is_success() && r.body["id"] == racing[0].body["id"])
    );
    let thrice: Vec<i64> = once.iter().map(|q| q * 3).collect();
    assert_eq!(on_hand(&s, &refs).await, thrice);

    // Without a key every request is a receipt; a bad key is refused.
    let plain = receipt("PO-PLAIN", &[(refs[0], 1)]);
    for _ in 0..2 {
        let r = s.post("/api/v1/stock/receipts", ADMIN, plain.clone()).await;
        assert_eq!(r.status, 201, "{r:?}");
    }
    let long = "k".repeat(256);
    for bad in ["", "has space", long.as_str()] {
        let r = receive(&s, ADMIN, bad, &plain).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], KEY, "{r:?}");
    }
    assert_eq!(s.levels(refs[0]).await.0, 3 + 2);
    let ledger = s
        .get(&format!("/api/v1/inventory/{}/movements", refs[0]), ADMIN)
        .await;
    assert_eq!(
        ledger.body["items"].as_array().map(Vec::len),
        Some(5),
        "{ledger:?}"
    );
}

#[tokio::test]
async fn on_one_partition_adjustments_apply_once_and_expected_version_is_compare_and_set() {
    // One stock partition: every change lies in the partition of its id.
    let s = Server::start("idem-adjust", &[("AGUSTO_STOCK_PARTITIONS", "1")]);
    s.product("IDA-1", 10).await;
    let take_two = json!({"product_code": "IDA-1", "delta": -2, "reason": "broken"});
    let first = adjust(&s, Some("cnt-1"), take_two.clone()).await;
    assert_eq!(first.status, 201, "{first:?}");
    assert_eq!(
        (
            first.body["on_hand"].as_i64(),
            first.body["version"].as_i64()
        ),
        (Some(8), Some(2))
    );
    let again = adjust(&s, Some("cnt-1"), take_two).await;
    assert_eq!((again.status.as_u16(), &again.body), (200, &first.body));
    adjust(
        &s,
        Some("cnt-1"),
        json!({"product_code": "IDA-1", "delta": -3, "reason": "broken"}),
    )
    .await
    .assert_problem(409, "conflict");
    assert_eq!(s.levels("IDA-1").await, (8, 0));

    // expected_version: a stale count changes nothing.
    let stale = json!({"product_code": "IDA-1", "set_on_hand": 5, "reason": "count", "expected_version": 1});
    let r = adjust(&s, None, stale).await;
    r.assert_problem(409, "conflict");
    assert_eq!(r.body["current_version"], 2, "{r:?}");
    assert_eq!(s.levels("IDA-1").await, (8, 0));
    let fresh = json!({"product_code": "IDA-1", "set_on_hand": 5, "reason": "count", "expected_version": 2});
    let r = adjust(&s, None, fresh).await;
    assert_eq!(
        (
            r.status.as_u16(),
            r.body["on_hand"].as_i64(),
            r.body["version"].as_i64()
        ),
        (201, Some(5), Some(3))
    );
    // A retried compare-and-set is the first answer, not a version conflict.
    let count = json!({"product_code": "IDA-1", "set_on_hand": 4, "reason": "count", "expected_version": 3});
    let first = adjust(&s, Some("cnt-2"), count.clone()).await;
    assert_eq!(first.status, 201, "{first:?}");
    let again = adjust(&s, Some("cnt-2"), count).await;
    assert_eq!((again.status.as_u16(), &again.body), (200, &first.body));
    assert_eq!(s.levels("IDA-1").await, (4, 0));

    // A keyed receipt on one partition: its one command claims the key.
    let body = receipt("PO-ONE", &[("IDA-1", 6)]);
    assert_eq!(receive(&s, ADMIN, "po-one", &body).await.status, 201);
    assert_eq!(receive(&s, ADMIN, "po-one", &body).await.status, 200);
    receive(&s, ADMIN, "po-one", &receipt("PO-ONE", &[("IDA-1", 7)]))
        .await
        .assert_problem(409, "conflict");
    assert_eq!(s.levels("IDA-1").await, (10, 0));
}

#[tokio::test]
async fn a_change_retried_after_kill_9_is_applied_once() {
    let s = Server::start("idem-kill9", &[]);
    let codes = spread("IDK", 8);
    for c in &codes {
        s.product(c, 0).await;
    }
    let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
    let lines: Vec<(&str, i64)> = refs.iter().map(|c| (*c, 5)).collect();
    let body = receipt("PO-CRASH", &lines);
    let adjustment = json!({"product_code": refs[0], "delta": 2, "reason": "found"});
    let first = receive(&s, ADMIN, "po-crash", &body).await;
    assert_eq!(first.status, 201, "{first:?}");
    let adjusted = adjust(&s, Some("adj-crash"), adjustment.clone()).await;
    assert_eq!(adjusted.status, 201, "{adjusted:?}");
    // Crash right after the answers (the client may never have read them).
    let dir = s.kill9();

    let s = Server::start_in(&dir, &[], true);
    let again = receive(&s, ADMIN, "po-crash", &body).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.body, first.body);
    let again = adjust(&s, Some("adj-crash"), adjustment).await;
    assert_eq!((again.status.as_u16(), &again.body), (200, &adjusted.body));
    let mut want = vec![5; 8];
    want[0] = 7;
    assert_eq!(on_hand(&s, &refs).await, want, "received and adjusted once");
}
