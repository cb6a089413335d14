//! SSRF protection through real deliveries: a target on a loopback address,
//! given as an IP literal or as a name, is never called unless
//! `AGUSTO_WEBHOOK_ALLOW_CIDRS` allows it; the refusal is recorded on the
//! delivery, which is dead-lettered at once.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{ADMIN, Server};
use crate::receiver::Receiver;

const WAIT: Duration = Duration::from_secs(20);

/// The failed deliveries of `channel`, once there are `n` (polls with a deadline).
async fn failed(s: &Server, channel: &str, n: usize) -> Vec<Value> {
    let path = format!("/api/v1/webhooks/deliveries?status=failed&channel_id={channel}");
    let deadline = Instant::now() + WAIT;
    loop {
        let r = s.get(&path, ADMIN).await;
        let items = r.body["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= n {
            return items;
        }
        assert!(Instant::now() < deadline, "no failed delivery: {r:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn hooked(s: &Server, name: &str, url: &str) -> String {
    let (id, _) = s.channel(name, json!({"webhook_url": url})).await;
    id
}

#[tokio::test]
async fn loopback_targets_are_refused_without_an_allow_list() {
    let rx = Receiver::start(200).await;
    let s = Server::start(
        "targets-refused",
        &[
            ("AGUSTO_WEBHOOK_ALLOW_CIDRS", ""),
            ("AGUSTO_WEBHOOK_BACKOFF_BASE_MS", "50"),
        ],
    );
    let literal = hooked(&s, "Literal", &rx.url).await;
    let port = rx.url.rsplit(':').next().unwrap();
    let by_name = hooked(&s, "Named", &format!("http://localhost:{port}")).await;
    s.product("SSRF-1", 3).await;

    let d = &failed(&s, &literal, 1).await[0];
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "refused once, not retried: {d}");
    let error = attempts[0]["error"].as_str().unwrap();
    assert!(
        error.contains("127.0.0.1 is loopback (127.0.0.0/8)"),
        "the reason names the address: {error}"
    );
    assert!(attempts[0]["status_code"].is_null(), "{d}");

    let d = &failed(&s, &by_name, 1).await[0];
    let error = d["attempts"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("localhost resolves only to refused addresses")
            && error.contains("is loopback"),
        "{error}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.received().is_empty(), "nothing reached the receiver");
}

#[tokio::test]
async fn an_allowed_range_is_delivered_to_even_through_a_name() {
    let rx = Receiver::start(200).await;
    let s = Server::start(
        "targets-allowed",
        &[("AGUSTO_WEBHOOK_ALLOW_CIDRS", "127.0.0.0/8")],
    );
    let port = rx.url.rsplit(':').next().unwrap();
    // localhost resolves to ::1 too, which stays refused: the client
    // connects to 127.0.0.1 only.
    hooked(&s, "Named", &format!("http://localhost:{port}")).await;
    s.product("SSRF-2", 2).await;
    let got = rx.wait_for(WAIT, |g| !g.is_empty()).await;
    assert_eq!(got[0].json["data"]["product_code"], "SSRF-2");
    assert_eq!(got[0].answered, 200);
}
