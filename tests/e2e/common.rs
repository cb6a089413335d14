//! Test harness: runs the real `agusto` binary on 127.0.0.1:0 with its own
//! data directory, and talks to it over HTTP.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The admin token every test server starts with.
pub const ADMIN: &str = "test-admin-token-0123456789abcdef0123456789";

/// A fresh, unique, empty directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "agusto-e2e-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The `agusto` binary built for these tests.
pub fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_agusto"))
}

/// A running `agusto serve`.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its data directory.
    pub dir: PathBuf,
    /// Lines it printed on stdout before the listening line.
    pub stdout: Vec<String>,
    http: reqwest::Client,
}

impl Server {
    /// Starts a server on a new data directory.
    pub fn start(name: &str, env: &[(&str, &str)]) -> Server {
        Server::start_in(&temp_dir(name), env, true)
    }

    /// Starts a server on `dir` (which may hold earlier data).
    pub fn start_in(dir: &Path, env: &[(&str, &str)], with_admin: bool) -> Server {
        let mut args: Vec<String> = vec!["serve".into(), "--data-dir".into()];
        args.push(dir.to_string_lossy().into_owned());
        Server::launch(&args, dir, env, with_admin)
    }

    /// Runs `agusto <args> --listen 127.0.0.1:0` and waits for it to print
    /// the address it listens on (any role: serve, ingest, worker).
    /// Webhooks may reach 127.0.0.0/8 unless `env` says otherwise.
    pub fn launch(args: &[String], dir: &Path, env: &[(&str, &str)], with_admin: bool) -> Server {
        let mut cmd = binary();
        cmd.args(args)
            .args(["--listen", "127.0.0.1:0"])
            .env_remove("AGUSTO_ADMIN_TOKEN")
            .env("RUST_LOG", "warn")
            // Test receivers listen on 127.0.0.1, which webhooks may not
            // reach by default; a test's `env` can set it back to empty.
            .env("AGUSTO_WEBHOOK_ALLOW_CIDRS", "127.0.0.0/8")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if with_admin {
            cmd.env("AGUSTO_ADMIN_TOKEN", ADMIN);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("agusto starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut stdout = Vec::new();
        let base = loop {
            let line = lines
                .next()
                .expect("agusto printed its address")
                .expect("stdout line");
            if let Some((_, rest)) = line.split_once(" listening on ") {
                break rest.split_whitespace().next().expect("address").to_owned();
            }
            stdout.push(line);
        };
        std::thread::spawn(move || for _ in lines {});
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Server {
            child,
            base,
            dir: dir.to_owned(),
            stdout,
            http,
        }
    }

    /// Sends a request with a token; returns status, headers and JSON body (Null when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        Reply::read(resp).await
    }

    /// POST with a JSON body and extra headers (e.g. `Idempotency-Key`).
    pub async fn post_with(
        &self,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: Value,
    ) -> Reply {
        let mut req = self.raw(Method::POST, path).bearer_auth(token).json(&body);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        Reply::read(req.send().await.expect("request sent")).await
    }

    /// GET.
    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// PUT with a JSON body.
    pub async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let resp = self
            .raw(Method::GET, "/metrics")
            .send()
            .await
            .expect("metrics answered");
        resp.text().await.expect("metrics body")
    }

    /// A raw request builder for unusual requests.
    pub fn raw(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    /// Creates an active product with `on_hand` units received.
    pub async fn product(&self, code: &str, on_hand: i64) {
        let r = self
            .put(
                &format!("/api/v1/products/{code}"),
                ADMIN,
                json!({"name": format!("Product {code}"), "active": true}),
            )
            .await;
        assert!(r.status.is_success(), "{r:?}");
        if on_hand > 0 {
            let r = self
                .post("/api/v1/stock/receipts", ADMIN, json!({"reference": "PO-test", "lines": [{"product_code": code, "quantity": on_hand}]}))
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        }
    }

    /// Creates a channel; returns (id, token).
    pub async fn channel(&self, name: &str, extra: Value) -> (String, String) {
        let mut body = json!({"name": name, "rate_limit_per_second": 100000});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let r = self.post("/api/v1/channels", ADMIN, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        (
            r.body["id"].as_str().unwrap().to_owned(),
            r.body["api_token"].as_str().unwrap().to_owned(),
        )
    }

    /// Places an order for `lines` of (sku, qty).
    pub async fn order(&self, token: &str, external_id: &str, lines: &[(&str, i64)]) -> Reply {
        let lines: Vec<Value> = lines
            .iter()
            .map(|(s, q)| json!({"sku": s, "quantity": q}))
            .collect();
        self.post(
            "/api/v1/orders",
            token,
            json!({"external_id": external_id, "lines": lines}),
        )
        .await
    }

    /// (on_hand, reserved) of a product as staff sees it.
    pub async fn levels(&self, code: &str) -> (i64, i64) {
        let r = self.get(&format!("/api/v1/inventory/{code}"), ADMIN).await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        (
            r.body["on_hand"].as_i64().unwrap(),
            r.body["reserved"].as_i64().unwrap(),
        )
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True once the process has exited (crashed or stopped).
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill9(mut self) -> PathBuf {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.dir.clone()
    }

    /// Sends SIGTERM and waits for the exit code.
    pub fn terminate(mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// JSON body, or Null.
    pub body: Value,
}

impl Reply {
    async fn read(resp: reqwest::Response) -> Reply {
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Asserts a problem+json error with this status and code.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "{self:?}"
        );
        assert_eq!(self.body["code"], code, "{self:?}");
        assert_eq!(self.body["status"], status, "{self:?}");
        assert!(
            self.body["title"].is_string()
                && self.body["type"].is_string()
                && self.body["detail"].is_string()
        );
    }
}

/// Runs `agusto ledger verify` on a data directory; returns (exit code, stdout).
pub fn ledger_verify(dir: &Path) -> (i32, String) {
    let out = binary()
        .args(["ledger", "verify", "--data-dir"])
        .arg(dir)
        .output()
        .expect("agusto runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Every order in the store, via the staff list (all pages).
pub async fn all_orders(s: &Server) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/orders?limit=200&cursor={c}"),
            None => "/api/v1/orders?limit=200".to_owned(),
        };
        let r = s.get(&path, ADMIN).await;
        assert_eq!(r.status, 200, "{r:?}");
        out.extend(r.body["items"].as_array().unwrap().iter().cloned());
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}
