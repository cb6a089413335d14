//! What the HTTP layer refuses before any route runs is problem+json too:
//! 400 (unparsable head), 405, 408, 414, 431; and the 1000-SKU stock-levels
//! request still fits in a URI.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{ADMIN, Server};

/// Sends raw bytes on a new connection; returns what came back until the
/// server closed the connection (or `wait` passed).
async fn exchange(s: &Server, bytes: &[u8], wait: Duration) -> Vec<u8> {
    let addr = s.base.trim_start_matches("http://");
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(bytes).await.expect("send");
    let mut out = Vec::new();
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 8192];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match tokio::time::timeout(left, tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// Splits a raw answer into (status, lower-case head, JSON body).
fn parse(answer: &[u8]) -> (u16, String, Value) {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head[9..12].parse().expect("status");
    (
        status,
        head.to_lowercase(),
        serde_json::from_str(body).expect("JSON body"),
    )
}

/// Asserts a raw answer is a problem+json with this status and code, whose
/// `request_id` is the `x-request-id` header's.
fn assert_raw_problem(answer: &[u8], status: u16, code: &str) {
    let (got, head, body) = parse(answer);
    assert_eq!(got, status, "{head}");
    assert!(
        head.contains("\r\ncontent-type: application/problem+json\r\n"),
        "{head}"
    );
    assert_eq!(
        (body["status"].as_u64(), body["code"].as_str()),
        (Some(status.into()), Some(code))
    );
    assert!(body["title"].is_string() && body["detail"].is_string() && body["type"].is_string());
    let id = body["request_id"].as_str().expect("request_id");
    assert!(
        head.contains(&format!("\r\nx-request-id: {}\r\n", id.to_lowercase())),
        "{head}"
    );
}

fn sku_query(n: usize) -> String {
    (0..n)
        .map(|i| format!("sku=HTTP-LIMIT-{i:04}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn the_http_layer_answers_its_refusals_with_problems() {
    let s = Server::start("http-limits", &[]);

    // 414: a URI over 65,534 bytes (4,000 SKUs; no HTTP client library
    // builds such a URI, so the request is written by hand).
    let path = format!("/api/v1/stock-levels?{}", sku_query(4000));
    assert!(path.len() > 65_534, "{}", path.len());
    let line = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    let answer = exchange(&s, line.as_bytes(), Duration::from_secs(10)).await;
    assert_raw_problem(&answer, 414, "uri_too_long");

    // 431: more than 100 header fields.
    let mut req = s.raw(Method::GET, "/api/v1/products").bearer_auth(ADMIN);
    for i in 0..150 {
        req = req.header(format!("x-filler-{i}"), "v");
    }
    let resp = req.send().await.expect("sent");
    assert_eq!(resp.status(), 431);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(body["code"], "headers_too_large");
    // ... or one header value over the head's 400 KiB.
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(500_000)
    );
    let answer = exchange(&s, big.as_bytes(), Duration::from_secs(10)).await;
    assert_raw_problem(&answer, 431, "headers_too_large");

    // 400: a request line that is not HTTP.
    let answer = exchange(
        &s,
        b"GET /he\x01lthz HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(10),
    )
    .await;
    assert_raw_problem(&answer, 400, "malformed_request");

    // A good request before a refused one on the same connection is answered as usual.
    let two = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n{line}");
    let answer = exchange(&s, two.as_bytes(), Duration::from_secs(10)).await;
    let text = String::from_utf8_lossy(&answer);
    let (first, second) = text.split_once("ok").expect("the health answer");
    assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{first}");
    assert_raw_problem(second.as_bytes(), 414, "uri_too_long");

    // 405: a known path, another method; Allow lists the served ones.
    let r = s
        .call(Method::DELETE, "/api/v1/products", Some(ADMIN), None)
        .await;
    r.assert_problem(405, "method_not_allowed");
    let allow = r.headers["allow"].to_str().unwrap();
    assert!(
        allow.contains("GET") && !allow.contains("DELETE"),
        "{allow}"
    );
}

#[tokio::test]
async fn a_thousand_skus_fit_and_more_are_refused_by_the_api_not_the_uri_limit() {
    let s = Server::start("http-skus", &[]);
    s.product("HTTP-LIMIT-0007", 3).await;
    let path = format!("/api/v1/stock-levels?{}", sku_query(1000));
    assert!(path.len() > 16_000, "{}", path.len());
    let r = s.get(&path, ADMIN).await;
    assert_eq!(r.status, 200, "{r:?}");
    let items = r.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "unknown SKUs are left out: {items:?}");
    assert_eq!(items[0]["on_hand"], 3);
    let r = s
        .get(&format!("/api/v1/stock-levels?{}", sku_query(1001)), ADMIN)
        .await;
    assert!(
        matches!(r.status.as_u16(), 400 | 422),
        "over 1000 SKUs is the API's refusal: {r:?}"
    );
    assert_eq!(r.headers["content-type"], "application/problem+json");
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_408_and_a_stalled_head_is_closed() {
    let s = Server::start("http-slow", &[("AGUSTO_HTTP_READ_TIMEOUT_MS", "500")]);
    s.product("SLOW-1", 0).await;

    // The head arrives, 10 of the 100 body bytes promised do not.
    let head = format!(
        "POST /api/v1/stock/receipts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"referen"
    );
    let started = Instant::now();
    let answer = exchange(&s, head.as_bytes(), Duration::from_secs(10)).await;
    assert_raw_problem(&answer, 408, "request_timeout");
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(s.levels("SLOW-1").await, (0, 0), "nothing received");

    // Half a head: the connection is closed after the timeout, without an answer.
    let started = Instant::now();
    let answer = exchange(
        &s,
        b"GET /api/v1/products HTTP/1.1\r\nHost:",
        Duration::from_secs(10),
    )
    .await;
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(450) && waited < Duration::from_secs(5),
        "closed after {waited:?}"
    );
}
