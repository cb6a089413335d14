//! Orders spanning stock partitions run as a persisted saga homed at their
//! id's partition. kill -9 at each step of it (fault injection:
//! `AGUSTO_FAULT_SAGA_CRASH`), then a restart: the saga resumes from what
//! was stored — the order ends placed or given back, no hold is leaked,
//! and the ledger verifies.

use std::time::{Duration, Instant};

use agusto_schemas::partition_for;
use serde_json::{Value, json};

use crate::common::{Server, all_orders, ledger_verify};

/// Stock partitions of `agusto serve` by default.
const PARTITIONS: u32 = 4;

/// Three product codes in three different stock partitions.
fn spread(prefix: &str) -> [String; 3] {
    let mut found: Vec<String> = Vec::new();
    for i in 0.. {
        let code = format!("{prefix}-{i}");
        let p = partition_for(&code, PARTITIONS);
        if found.iter().all(|c| partition_for(c, PARTITIONS) != p) {
            found.push(code);
        }
        if found.len() == 3 {
            break;
        }
    }
    [found[0].clone(), found[1].clone(), found[2].clone()]
}

/// The stored order with `external_id`, if any.
async fn stored(s: &Server, external_id: &str) -> Option<Value> {
    all_orders(s)
        .await
        .into_iter()
        .find(|o| o["external_id"] == external_id)
}

/// Waits (bounded) until `reserved` of every product is as given.
async fn settle(s: &Server, want: &[(&str, i64)]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut now = Vec::new();
        for (code, _) in want {
            now.push((*code, s.levels(code).await.1));
        }
        if now == want {
            return;
        }
        assert!(Instant::now() < deadline, "reserved {now:?}, want {want:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Sends a request the server may die in the middle of; true if it answered.
async fn answered(req: reqwest::RequestBuilder) -> bool {
    req.send().await.is_ok()
}

/// Starts a server that dies at `point`, sets up three products (`short`
/// units of the third) and a channel.
async fn start(point: &str, short: i64) -> (Server, [String; 3], String, String) {
    let s = Server::start(
        &format!("saga-{point}"),
        &[("AGUSTO_FAULT_SAGA_CRASH", point)],
    );
    let codes = spread(&format!("SG{point}"));
    s.product(&codes[0], 10).await;
    s.product(&codes[1], 10).await;
    s.product(&codes[2], short).await;
    let (channel, token) = s.channel("Saga", json!({})).await;
    (s, codes, token, channel)
}

/// Waits for the process to die by its own fault injection.
async fn died(s: &mut Server) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !s.has_exited() {
        assert!(Instant::now() < deadline, "the fault did not fire");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn order_body(external_id: &str, lines: &[(&str, i64)]) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(s, q)| json!({"sku": s, "quantity": q}))
        .collect();
    json!({"external_id": external_id, "lines": lines})
}

/// Killed after the placement was recorded (nobody asked yet) or after a
/// participant held (its answer not on the log yet): after the restart the
/// order is placed once, its lines held exactly.
#[tokio::test]
async fn a_placement_killed_mid_saga_ends_placed_once() {
    for point in ["placing", "answer"] {
        let (mut s, [a, b, _], token, _) = start(point, 0).await;
        let body = order_body("sg-1", &[(&a, 2), (&b, 3)]);
        let post = s.raw(reqwest::Method::POST, "/api/v1/orders");
        let _ = answered(post.bearer_auth(&token).json(&body)).await;
        died(&mut s).await;
        let dir = s.kill9();
        let s = Server::start_in(&dir, &[], true);
        let deadline = Instant::now() + Duration::from_secs(30);
        let order = loop {
            if let Some(o) = stored(&s, "sg-1").await {
                break o;
            }
            assert!(
                Instant::now() < deadline,
                "{point}: the order was not placed"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        settle(&s, &[(&a, 2), (&b, 3)]).await;
        assert_eq!(order["status"], "reserved", "{point}");
        // The client's retry gets the same order.
        let again = s.post("/api/v1/orders", &token, body).await;
        assert_eq!(again.status, 200, "{point}: {again:?}");
        assert_eq!(again.body["id"], order["id"]);
        assert_eq!(all_orders(&s).await.len(), 1);
        let dir = s.kill9();
        let (code, out) = ledger_verify(&dir);
        assert_eq!(code, 0, "{point}: {out}");
    }
}

/// Killed after a cancel was recorded at the home, before the other
/// partitions released: after the restart they release.
#[tokio::test]
async fn a_cancel_killed_mid_saga_releases_every_partition() {
    let (mut s, [a, b, _], token, _) = start("applying", 0).await;
    let r = s.order(&token, "sg-2", &[(&a, 2), (&b, 3)]).await;
    assert_eq!(r.status, 201, "{r:?}");
    settle(&s, &[(&a, 2), (&b, 3)]).await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let cancel = s.raw(
        reqwest::Method::POST,
        &format!("/api/v1/orders/{id}/cancel"),
    );
    let _ = answered(cancel.bearer_auth(&token)).await;
    died(&mut s).await;
    let dir = s.kill9();
    let s = Server::start_in(&dir, &[], true);
    settle(&s, &[(&a, 0), (&b, 0)]).await;
    let order = stored(&s, "sg-2").await.expect("order kept");
    assert_eq!(order["status"], "cancelled");
    let dir = s.kill9();
    let (code, out) = ledger_verify(&dir);
    assert_eq!(code, 0, "{out}");
}

/// A placement one partition is short for, killed after the home recorded
/// giving back the other partitions' holds: after the restart they are
/// given back and no order exists.
#[tokio::test]
async fn a_failed_placement_killed_while_giving_back_leaks_no_hold() {
    let (mut s, [a, b, c], token, channel) = start("compensating", 0).await;
    // An external id whose order is not homed with the short product (the
    // home would refuse at once, with nothing to give back).
    let ext = (0..)
        .map(|i| format!("sg-3-{i}"))
        .find(|e| {
            let id = agusto_schemas::stable_id("ord", &[&channel, e]);
            partition_for(&id, PARTITIONS) != partition_for(&c, PARTITIONS)
        })
        .unwrap();
    let body = order_body(&ext, &[(&a, 2), (&b, 3), (&c, 1)]);
    let post = s.raw(reqwest::Method::POST, "/api/v1/orders");
    let _ = answered(post.bearer_auth(&token).json(&body)).await;
    died(&mut s).await;
    let dir = s.kill9();
    let s = Server::start_in(&dir, &[], true);
    settle(&s, &[(&a, 0), (&b, 0), (&c, 0)]).await;
    assert!(stored(&s, &ext).await.is_none());
    // Without the fault the same placement is a 422, nothing held.
    let r = s.order(&token, &ext, &[(&a, 2), (&b, 3), (&c, 1)]).await;
    assert_eq!(r.status, 422, "{r:?}");
    settle(&s, &[(&a, 0), (&b, 0), (&c, 0)]).await;
    let dir = s.kill9();
    let (code, out) = ledger_verify(&dir);
    assert_eq!(code, 0, "{out}");
}
