//! A webhook receiver on 127.0.0.1 whose answers the test controls. It
//! also watches the senders: every arrival, how many requests of one
//! delivery (`webhook-id`) are in flight at once, and it can delay answers
//! or hold requests open until the test releases them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use tokio::sync::watch;

/// One request the receiver answered.
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
    /// When the request arrived.
    pub arrived: Instant,
}

/// One request as it arrived (answered or not, e.g. held and abandoned).
#[derive(Debug, Clone)]
pub struct Arrival {
    /// `webhook-id`.
    pub id: String,
    /// Parsed body.
    pub json: Value,
}

type Rule = Box<dyn Fn(&Value) -> Option<u16> + Send + Sync>;

#[derive(Default)]
struct Shared {
    script: VecDeque<u16>,
    rule: Option<Rule>,
    fallback: u16,
    got: Vec<Received>,
    arrivals: Vec<Arrival>,
    delay: Duration,
    holding: Option<watch::Receiver<Option<u16>>>,
    held: usize,
    in_flight: HashMap<String, usize>,
    overlapping: HashSet<String>,
}

/// The receiver: answers from a script first, then from a rule, else a fallback status.
#[derive(Clone)]
pub struct Receiver {
    shared: Arc<Mutex<Shared>>,
    release: Arc<Mutex<Option<watch::Sender<Option<u16>>>>>,
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
}

/// Longest a held request waits for [`Receiver::release`].
const HOLD_LIMIT: Duration = Duration::from_secs(120);

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
        Receiver {
            shared,
            release: Arc::default(),
            url,
        }
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

    /// Every answer waits this long first.
    pub fn delay(&self, delay: Duration) {
        self.shared.lock().unwrap().delay = delay;
    }

    /// Requests from now on are held open, unanswered, until [`Receiver::release`].
    pub fn hold(&self) {
        let (tx, rx) = watch::channel(None);
        *self.release.lock().unwrap() = Some(tx);
        self.shared.lock().unwrap().holding = Some(rx);
    }

    /// Answers every held request with `status` (its sender may be gone by
    /// now) and holds no more.
    pub fn release(&self, status: u16) {
        self.shared.lock().unwrap().holding = None;
        if let Some(tx) = self.release.lock().unwrap().take() {
            let _ = tx.send(Some(status));
        }
    }

    /// Requests held open right now.
    pub fn held(&self) -> usize {
        self.shared.lock().unwrap().held
    }

    /// Everything answered so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().got.clone()
    }

    /// Every request that arrived, in order.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.shared.lock().unwrap().arrivals.clone()
    }

    /// Ids of which two or more requests were in flight at the same moment.
    pub fn overlapping(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .shared
            .lock()
            .unwrap()
            .overlapping
            .iter()
            .cloned()
            .collect();
        ids.sort();
        ids
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

/// A request in flight: counted while its handler lives, which ends when
/// it answers or when its sender goes away.
struct InFlight {
    shared: Arc<Mutex<Shared>>,
    id: String,
    held: bool,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut s = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = s.in_flight.get_mut(&self.id) {
            *n = n.saturating_sub(1);
        }
        if self.held {
            s.held = s.held.saturating_sub(1);
        }
    }
}

async fn hook(
    State(shared): State<Arc<Mutex<Shared>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let arrived = Instant::now();
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let id = header("webhook-id");
    let (holding, delay) = {
        let mut s = shared.lock().unwrap();
        s.arrivals.push(Arrival {
            id: id.clone(),
            json: json.clone(),
        });
        let n = s.in_flight.entry(id.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            s.overlapping.insert(id.clone());
        }
        let holding = s.holding.clone();
        if holding.is_some() {
            s.held += 1;
        }
        (holding, s.delay)
    };
    let mut guard = InFlight {
        shared: shared.clone(),
        id: id.clone(),
        held: holding.is_some(),
    };
    let mut released = None;
    if let Some(mut rx) = holding {
        let _ = tokio::time::timeout(HOLD_LIMIT, rx.wait_for(Option::is_some)).await;
        released = *rx.borrow();
        shared.lock().unwrap().held -= 1;
        guard.held = false;
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut s = shared.lock().unwrap();
    let status = match released.or_else(|| s.script.pop_front()) {
        Some(st) => st,
        None => s.rule.as_ref().and_then(|r| r(&json)).unwrap_or(s.fallback),
    };
    s.got.push(Received {
        id,
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: body.to_vec(),
        json,
        answered: status,
        arrived,
    });
    drop(s);
    drop(guard);
    StatusCode::from_u16(status).unwrap()
}
