//! A thin client for the Agusto REST API (API.md v1): the calls the scenarios
//! make, plus the set-up (channel, products, Stock In) and the read-back of
//! stock levels used by the invariant checks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::{Client, Method, RequestBuilder};
use serde::Deserialize;

/// An answer: status (0 when the request failed in transport) and body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status, or 0 for a transport error.
    pub status: u16,
    /// Response body (empty on transport errors).
    pub body: Vec<u8>,
}

impl Answer {
    /// The body parsed as `T`.
    pub fn json<T: for<'de> Deserialize<'de>>(&self) -> anyhow::Result<T> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "status {}: unexpected body {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Whether the outcome of a write is unknown (and must be asked again):
    /// transport errors, `202 processing`, 5xx.
    pub fn unknown(&self) -> bool {
        self.status == 0 || self.status == 202 || self.status >= 500
    }
}

/// A connection pool to one Agusto, with the admin token.
#[derive(Clone)]
pub struct Api {
    client: Client,
    base: Arc<str>,
    admin: Arc<str>,
}

/// Stock levels of one product as the API reports them.
#[derive(Debug, Clone, Deserialize)]
pub struct Level {
    /// Product code.
    pub product_code: String,
    /// Units in the warehouse.
    pub on_hand: i64,
    /// Units held by open orders.
    pub reserved: i64,
    /// `on_hand - reserved`, never below 0.
    pub available: i64,
}

#[derive(Deserialize)]
struct Levels {
    items: Vec<Level>,
}

/// The part of an order view the scenarios use.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderView {
    /// Order id.
    pub id: String,
    /// Expiry deadline of a reserved order.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was placed.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl Api {
    /// A client for `base` (e.g. `http://127.0.0.1:8080`), keeping up to
    /// `pool` idle connections.
    pub fn new(base: &str, admin: &str, pool: usize) -> anyhow::Result<Self> {
        let client = Client::builder()
            .pool_max_idle_per_host(pool)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Api {
            client,
            base: base.trim_end_matches('/').into(),
            admin: admin.into(),
        })
    }

    /// A request to `path` (starting with `/`) with `token` as bearer.
    pub fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
    }

    /// A request with the admin token.
    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path, &self.admin)
    }

    /// Sends and reads the whole answer; never fails (status 0 on transport errors).
    pub async fn send(&self, req: RequestBuilder) -> Answer {
        match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                match resp.bytes().await {
                    Ok(b) => Answer {
                        status,
                        body: b.to_vec(),
                    },
                    Err(_) => Answer {
                        status: 0,
                        body: Vec::new(),
                    },
                }
            }
            Err(_) => Answer {
                status: 0,
                body: Vec::new(),
            },
        }
    }

    /// Sends a JSON body (already serialised) and times the call.
    pub async fn send_json(&self, req: RequestBuilder, body: String) -> (Answer, Duration) {
        let t = Instant::now();
        let a = self
            .send(req.header("content-type", "application/json").body(body))
            .await;
        (a, t.elapsed())
    }

    /// Waits until `GET /healthz` answers 200 (up to `wait`).
    pub async fn wait_healthy(&self, wait: Duration) -> anyhow::Result<()> {
        let until = Instant::now() + wait;
        loop {
            let url = format!("{}/healthz", self.base);
            if self.send(self.client.get(url)).await.status == 200 {
                return Ok(());
            }
            if Instant::now() > until {
                bail!("{} is not answering /healthz", self.base);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Creates a channel that may send `rate` requests per second; returns its token.
    pub async fn create_channel(&self, name: &str, rate: u32) -> anyhow::Result<String> {
        let body = serde_json::json!({"name": name, "rate_limit_per_second": rate});
        let a = self
            .send(self.admin(Method::POST, "/api/v1/channels").json(&body))
            .await;
        if a.status != 201 {
            bail!(
                "creating channel: {} {}",
                a.status,
                String::from_utf8_lossy(&a.body)
            );
        }
        #[derive(Deserialize)]
        struct Created {
            api_token: String,
        }
        Ok(a.json::<Created>()?.api_token)
    }

    /// Makes `code` a bundle of `parts` (product code, units per bundle).
    pub async fn put_bundle(&self, code: &str, parts: &[(&str, i64)]) -> anyhow::Result<()> {
        let parts: Vec<serde_json::Value> = parts
            .iter()
            .map(|(p, q)| serde_json::json!({"product_code": p, "quantity": q}))
            .collect();
        let body = serde_json::json!({"name": format!("bench bundle {code}"), "active": true,
            "components": parts})
        .to_string();
        let path = format!("/api/v1/products/{code}");
        let (a, _) = self.send_json(self.admin(Method::PUT, &path), body).await;
        match a.status {
            200 | 201 => Ok(()),
            s => bail!("PUT {path}: {s} {}", String::from_utf8_lossy(&a.body)),
        }
    }

    /// Creates (PUT) every product, `concurrency` calls at once.
    pub async fn put_products(&self, codes: &[String], concurrency: usize) -> anyhow::Result<()> {
        let codes: Arc<[String]> = codes.into();
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..concurrency.max(1) {
            let (api, codes, next) = (self.clone(), codes.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(code) = codes.get(i) else {
                        return Ok::<(), anyhow::Error>(());
                    };
                    let body = format!(r#"{{"name":"bench product {code}","active":true}}"#);
                    let path = format!("/api/v1/products/{code}");
                    let mut tries = 0;
                    loop {
                        let (a, _) = api
                            .send_json(api.admin(Method::PUT, &path), body.clone())
                            .await;
                        match a.status {
                            200 | 201 => break,
                            s if (s == 0 || s >= 500) && tries < 5 => tries += 1,
                            s => bail!("PUT {path}: {s} {}", String::from_utf8_lossy(&a.body)),
                        }
                    }
                }
            }));
        }
        for t in tasks {
            t.await??;
        }
        Ok(())
    }

    /// Stock In: receives `quantity` units of every product, 1000 lines per
    /// receipt (`BENCH_RECEIPT_LINES` to change: a receipt is one store batch,
    /// and a slow store may need smaller ones), `concurrency` receipts at once.
    pub async fn receive(
        &self,
        codes: &[String],
        quantity: i64,
        reference: &str,
        concurrency: usize,
    ) -> anyhow::Result<()> {
        let lines_per_receipt = std::env::var("BENCH_RECEIPT_LINES")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(1000);
        let chunks: Vec<Vec<String>> = codes
            .chunks(lines_per_receipt)
            .map(<[String]>::to_vec)
            .collect();
        let chunks: Arc<[Vec<String>]> = chunks.into();
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..concurrency.max(1) {
            let (api, chunks, next) = (self.clone(), chunks.clone(), next.clone());
            let reference = reference.to_owned();
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(chunk) = chunks.get(i) else {
                        return Ok::<(), anyhow::Error>(());
                    };
                    let lines: Vec<_> = chunk
                        .iter()
                        .map(|c| serde_json::json!({"product_code": c, "quantity": quantity}))
                        .collect();
                    let body = serde_json::json!({"reference": format!("{reference}-{i}"), "lines": lines});
                    let a = api
                        .send(api.admin(Method::POST, "/api/v1/stock/receipts").json(&body))
                        .await;
                    if a.status != 201 {
                        bail!("receipt {i}: {} {}", a.status, String::from_utf8_lossy(&a.body));
                    }
                }
            }));
        }
        for t in tasks {
            t.await??;
        }
        Ok(())
    }

    /// Current levels of `codes` (staff view: sku = product code), 1000 per call.
    pub async fn levels(&self, codes: &[String]) -> anyhow::Result<Vec<Level>> {
        let mut out = Vec::with_capacity(codes.len());
        for chunk in codes.chunks(1000) {
            // Codes of this bench are URL-safe (letters, digits, '-').
            let query: Vec<String> = chunk.iter().map(|c| format!("sku={c}")).collect();
            let path = format!("/api/v1/stock-levels?{}", query.join("&"));
            let a = self.send(self.admin(Method::GET, &path)).await;
            if a.status != 200 {
                bail!(
                    "stock-levels: {} {}",
                    a.status,
                    String::from_utf8_lossy(&a.body)
                );
            }
            out.extend(a.json::<Levels>()?.items);
        }
        Ok(out)
    }

    /// Places an order with `token`; `lines` are `(sku, quantity)`.
    pub async fn place(
        &self,
        token: &str,
        external_id: &str,
        lines: &[(&str, i64)],
    ) -> (Answer, Duration) {
        let mut body = format!(r#"{{"external_id":"{external_id}","lines":["#);
        for (i, (sku, q)) in lines.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&format!(r#"{{"sku":"{sku}","quantity":{q}}}"#));
        }
        body.push_str("]}");
        self.send_json(self.request(Method::POST, "/api/v1/orders", token), body)
            .await
    }

    /// Places an order again (same external id, same lines) until the answer
    /// is definite: 200/201 (it holds stock) or 4xx (it does not). The API's
    /// idempotency makes this safe after a timeout or a `202 processing`.
    pub async fn settle(&self, token: &str, external_id: &str, lines: &[(&str, i64)]) -> Answer {
        for attempt in 0..60 {
            let (a, _) = self.place(token, external_id, lines).await;
            if !a.unknown() && a.status != 429 {
                return a;
            }
            tokio::time::sleep(Duration::from_millis(100 * (attempt + 1).min(10))).await;
        }
        Answer {
            status: 0,
            body: Vec::new(),
        }
    }
}
