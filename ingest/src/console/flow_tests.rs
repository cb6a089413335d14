//! Whole console requests against a stand-in API router: what a browser
//! gets back (status, `Location`, page, cookies) and which API calls the
//! console made.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

/// The retries the stand-in API was asked for, in order.
type Retries = Arc<Mutex<Vec<String>>>;

fn problem(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// `retry`: deliveries named `dlv_ok…` are queued again, others are unknown.
async fn retry(State(retries): State<Retries>, Path(id): Path<String>) -> Response {
    retries.lock().unwrap().push(id.clone());
    if id.starts_with("dlv_ok") {
        Json(json!({"id": id, "status": "pending"})).into_response()
    } else {
        let detail = format!("delivery {id} not found");
        problem(
            StatusCode::NOT_FOUND,
            json!({"status": 404, "code": "not_found", "detail": detail}),
        )
    }
}

/// `adjustments`: refused, as the API refuses one below 0 (or, with
/// `expected_version` 3, as a count against an older version).
async fn adjust(Json(body): Json<Value>) -> Response {
    if body.get("expected_version") == Some(&json!(3)) {
        return problem(
            StatusCode::CONFLICT,
            json!({"status": 409, "code": "conflict", "current_version": 4,
                   "detail": "the product is at version 4, not the expected_version"}),
        );
    }
    problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"status": 422, "code": "validation_failed", "detail": "validation failed",
               "errors": [{"field": "delta",
                           "message": "adjustment would take on_hand of TEH-100 below 0 (on_hand 12)"}]}),
    )
}

fn stand_in_api(retries: Retries) -> Router {
    let empty = || async { Json(json!({"items": [], "next_cursor": null})) };
    Router::new()
        .route("/api/v1/webhooks/deliveries", get(empty))
        .route("/api/v1/orders", get(empty))
        .route("/api/v1/products", get(empty))
        .route("/api/v1/webhooks/deliveries/{id}/retry", post(retry))
        .route("/api/v1/stock/adjustments", post(adjust))
        .with_state(retries)
}

/// An answer as a browser sees it.
struct Seen {
    status: StatusCode,
    location: String,
    body: String,
}

/// A browser of the console (its cookies) in front of the stand-in API.
struct Browser {
    app: Router,
    cookies: Vec<(String, String)>,
    retries: Retries,
}

impl Browser {
    fn new() -> Self {
        let retries = Retries::default();
        Browser {
            app: super::router(stand_in_api(retries.clone())),
            cookies: Vec::new(),
            retries,
        }
    }

    fn cookie(&self, name: &str) -> Option<String> {
        let found = self.cookies.iter().find(|(k, _)| k == name);
        found.map(|(_, v)| v.clone())
    }

    async fn send(&mut self, req: axum::http::request::Builder, body: Body) -> Seen {
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let req = req
            .header(header::HOST, "console.test")
            .header(header::COOKIE, jar.join("; "))
            .body(body)
            .unwrap();
        let resp = tower::ServiceExt::oneshot(self.app.clone(), req)
            .await
            .unwrap();
        for c in resp.headers().get_all(header::SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (name, value) = c.split(';').next().unwrap().split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !c.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        let status = resp.status();
        let location = resp
            .headers()
            .get(header::LOCATION)
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = String::from_utf8(bytes.to_vec()).unwrap();
        Seen {
            status,
            location,
            body,
        }
    }

    async fn get(&mut self, uri: &str) -> Seen {
        self.send(Request::get(uri), Body::empty()).await
    }

    async fn post(&mut self, uri: &str, form: &[(&str, &str)]) -> Seen {
        let body = serde_urlencoded::to_string(form).unwrap();
        let req = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, "http://console.test");
        self.send(req, Body::from(body)).await
    }
}

impl Browser {
    /// Signs in with `token` through the sign-in form; the session id.
    async fn sign_in(&mut self, token: &str) -> String {
        let form = self.get("/console/sign-in").await;
        assert_eq!(form.status, StatusCode::OK);
        let pre = self
            .cookie("agusto_console_pre")
            .expect("the form's cookie");
        let seen = self
            .post("/console/sign-in", &[("csrf", &pre), ("token", token)])
            .await;
        assert_eq!(seen.status, StatusCode::SEE_OTHER, "{}", seen.body);
        assert_eq!(seen.location, "/console/pick-list");
        self.cookie("agusto_console").expect("a session")
    }

    /// The session's CSRF token, read from a page's sign-out form.
    async fn csrf(&mut self) -> String {
        let page = self.get("/console/webhooks").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let field = r#"name="csrf" value=""#;
        let at = page.body.find(field).expect("a form") + field.len();
        page.body[at..].split('"').next().unwrap().to_owned()
    }
}

#[tokio::test]
async fn a_control_character_in_the_way_back_is_refused_not_a_server_error() {
    let mut b = Browser::new();
    for back in [
        "/console%0Ax",
        "/console%0D%0ASet-Cookie:%20x=1",
        "%2F%2Fevil.example",
    ] {
        let seen = b.get(&format!("/console/lang/id?back={back}")).await;
        assert_eq!(seen.status, StatusCode::SEE_OTHER, "{back}");
        assert_eq!(seen.location, "/console", "{back}");
        assert_eq!(b.cookie("agusto_console_lang").as_deref(), Some("id"));
    }
    let seen = b
        .get("/console/lang/en?back=%2Fconsole%2Fstock%3Fq%3Dteh")
        .await;
    assert_eq!(seen.location, "/console/stock?q=teh");
    assert_eq!(b.cookie("agusto_console_lang").as_deref(), Some("en"));
}

#[tokio::test]
async fn a_refused_adjustment_shows_what_the_api_said() {
    let mut b = Browser::new();
    b.sign_in("stf_test").await;
    let csrf = b.csrf().await;
    let form = [
        ("csrf", csrf.as_str()),
        ("mode", "delta"),
        ("amount", "-20"),
        ("reason", "count"),
    ];
    let seen = b.post("/console/stock/TEH-100/adjustment", &form).await;
    assert_eq!(seen.status, StatusCode::SEE_OTHER);
    assert_eq!(seen.location, "/console/stock/TEH-100");
    let page = b.get("/console/webhooks").await;
    assert!(
        page.body.contains(
            "Some values are not allowed. delta: adjustment would take on_hand of TEH-100 \
             below 0 (on_hand 12)."
        ),
        "{}",
        page.body
    );

    let stale = [
        ("csrf", csrf.as_str()),
        ("amount", "1"),
        ("reason", "count"),
        ("expected_version", "3"),
    ];
    b.post("/console/stock/TEH-100/adjustment", &stale).await;
    let page = b.get("/console/webhooks").await;
    assert!(
        page.body.contains("it is now at version 4"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn only_a_full_page_takes_the_message_a_change_left() {
    let mut b = Browser::new();
    b.sign_in("stf_test").await;
    let csrf = b.csrf().await;
    let form = [
        ("csrf", csrf.as_str()),
        ("amount", "-20"),
        ("reason", "count"),
    ];
    b.post("/console/stock/TEH-100/adjustment", &form).await;
    // The pick list's poll, the language switch and `/console` pass it by …
    let rows = b.get("/console/pick-list/rows").await;
    assert_eq!(rows.status, StatusCode::OK);
    assert!(!rows.body.contains("below 0"), "{}", rows.body);
    let switched = b.get("/console/lang/id?back=%2Fconsole%2Fwebhooks").await;
    assert_eq!(switched.location, "/console/webhooks");
    assert_eq!(b.get("/console").await.location, "/console/pick-list");
    // … the next page shows it, once.
    let page = b.get("/console/webhooks").await;
    // (In the words of the page that made the change.)
    let said = "Some values are not allowed. delta: adjustment would take on_hand";
    assert!(page.body.contains(said), "{}", page.body);
    assert!(page.body.contains(r#"role="alert""#));
    let again = b.get("/console/webhooks").await;
    assert!(!again.body.contains("below 0"), "{}", again.body);
}

#[tokio::test]
async fn signing_in_again_ends_the_previous_session() {
    let mut b = Browser::new();
    let first = b.sign_in("stf_one").await;
    // The form as a tab opened before shows it, sent with the session cookie.
    b.cookies.retain(|(k, _)| k != "agusto_console");
    assert_eq!(b.get("/console/sign-in").await.status, StatusCode::OK);
    b.cookies.push(("agusto_console".into(), first.clone()));
    let pre = b.cookie("agusto_console_pre").unwrap();
    let seen = b
        .post("/console/sign-in", &[("csrf", &pre), ("token", "stf_two")])
        .await;
    assert_eq!(seen.location, "/console/pick-list");
    let second = b.cookie("agusto_console").unwrap();
    assert_ne!(first, second);
    assert_eq!(b.get("/console/pick-list").await.status, StatusCode::OK);
    b.cookies.retain(|(k, _)| k != "agusto_console");
    b.cookies.push(("agusto_console".into(), first));
    let old = b.get("/console/pick-list").await;
    assert_eq!(
        old.location, "/console/sign-in",
        "the first session is over"
    );
}

#[tokio::test]
async fn replaying_selected_deliveries_tries_each_and_reports_each() {
    let mut b = Browser::new();
    b.sign_in("stf_test").await;
    let csrf = b.csrf().await;
    let ids = ["dlv_missing", "dlv_ok1", "dlv_gone", "dlv_ok2", "dlv_ok1"];
    let mut form = vec![("csrf", csrf.as_str()), ("selected", "1")];
    form.extend(ids.iter().map(|id| ("id", *id)));
    let seen = b.post("/console/webhooks/replay", &form).await;
    assert_eq!(seen.location, "/console/webhooks");
    let tried = b.retries.lock().unwrap().clone();
    assert_eq!(tried, ["dlv_missing", "dlv_ok1", "dlv_gone", "dlv_ok2"]);
    let page = b.get("/console/webhooks").await;
    assert!(
        page.body.contains(
            "Queued again: dlv_ok1, dlv_ok2. Not queued: \
             dlv_missing — Not found. (delivery dlv_missing not found); \
             dlv_gone — Not found. (delivery dlv_gone not found)"
        ),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"class="flash err" role="alert""#));

    let one = [("csrf", csrf.as_str()), ("one", "dlv_ok3")];
    b.post("/console/webhooks/replay", &one).await;
    let page = b.get("/console/webhooks").await;
    assert!(
        page.body.contains("Queued again: dlv_ok3."),
        "{}",
        page.body
    );
    let none = [("csrf", csrf.as_str()), ("selected", "1")];
    b.post("/console/webhooks/replay", &none).await;
    let page = b.get("/console/webhooks").await;
    assert!(page.body.contains("Select at least one delivery."));
}
