//! A webhook receiver on 127.0.0.1 whose answers the test controls.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: String,
    /// `webhook-signature`.
    pub signature: String,
    /// Raw body.
    pub body: Vec<u8>,
    /// Parsed body.
    pub json: Value,
    /// What the receiver answered.
    pub answered: u16,
}

type Rule = Box<dyn Fn(&Value) -> Option<u16> + Send + Sync>;

#[derive(Default)]
struct Shared {
    script: VecDeque<u16>,
    rule: Option<Rule>,
    fallback: u16,
    got: Vec<Received>,
}

/// The receiver: answers from a script first, then from a rule, else a fallback status.
#[derive(Clone)]
pub struct Receiver {
    shared: Arc<Mutex<Shared>>,
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
}

impl Receiver {
    /// Starts answering `fallback` to everything.
    pub async fn start(fallback: u16) -> Receiver {
        let shared = Arc::new(Mutex::new(Shared {
            fallback,
            ..Default::default()
        }));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { shared, url }
    }

    /// The next answers, in order, before the rule and the fallback apply.
    pub fn script(&self, statuses: &[u16]) {
        self.shared.lock().unwrap().script.extend(statuses);
    }

    /// A rule deciding the answer from the body (`None`: fall back).
    pub fn rule(&self, rule: impl Fn(&Value) -> Option<u16> + Send + Sync + 'static) {
        self.shared.lock().unwrap().rule = Some(Box::new(rule));
    }

    /// Changes the fallback answer (and drops the rule).
    pub fn answer(&self, status: u16) {
        let mut s = self.shared.lock().unwrap();
        s.fallback = status;
        s.rule = None;
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().got.clone()
    }

    /// Waits (at most `limit`) until `done` holds for what was received.
    pub async fn wait_for(
        &self,
        limit: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        loop {
            let got = self.received();
            if done(&got) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "receiver waited {limit:?}; got {} requests: {:#?}",
                got.len(),
                got.iter()
                    .map(|r| (&r.json["type"], &r.json["id"], r.answered))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn hook(
    State(shared): State<Arc<Mutex<Shared>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut s = shared.lock().unwrap();
    let status = match s.script.pop_front() {
        Some(st) => st,
        None => s.rule.as_ref().and_then(|r| r(&json)).unwrap_or(s.fallback),
    };
    s.got.push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: body.to_vec(),
        json,
        answered: status,
    });
    StatusCode::from_u16(status).unwrap()
}
