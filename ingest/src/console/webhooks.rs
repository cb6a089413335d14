//! Webhook dead letters (deliveries that ran out of attempts) with their
//! attempts, and replaying one or many.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::Shared;
use super::api::{Call, Problem, enc, i, items, s, when};
use super::frame::{Frame, after_change, html, read_failed, signed_out};
use super::i18n::Texts;
use super::session::{Posted, Staff};

/// At most this many dead letters are listed (and replayed at once).
const LIMIT: usize = 200;
/// Where a replay returns to.
const BACK: &str = "/console/webhooks";

struct DeadLetter {
    id: String,
    event_type: String,
    event_id: String,
    channel_id: String,
    created: String,
    /// Each attempt: when, and its outcome in short.
    attempts: Vec<(String, String)>,
    /// The last attempt's outcome.
    last: String,
}

fn outcome(a: &Value) -> String {
    let ms = i(a, "duration_ms").unwrap_or(0);
    let what = match (i(a, "status_code"), s(a, "error")) {
        (Some(code), _) => format!("HTTP {code}"),
        (None, e) if !e.is_empty() => e,
        (None, _) => "—".to_owned(),
    };
    format!("{what} ({ms} ms)")
}

#[derive(Template)]
#[template(path = "console/webhooks.html")]
struct DeadLettersPage {
    f: Frame,
    t: &'static Texts,
    deliveries: Vec<DeadLetter>,
}

/// `GET /console/webhooks`: the dead letters, newest first.
pub(crate) async fn page(State(console): State<Shared>, staff: Staff) -> Response {
    let uri = format!("/api/v1/webhooks/deliveries?status=failed&limit={LIMIT}");
    let list = match console
        .api
        .call(&staff.token, staff.peer, Call::get(uri))
        .await
    {
        Ok((_, v)) => v,
        Err(p) => return read_failed(&console, staff, &p),
    };
    let deliveries = items(&list)
        .iter()
        .map(|d| {
            let attempts: Vec<(String, String)> = d
                .get("attempts")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .map(|a| (when(a, "at"), outcome(a)))
                .collect();
            DeadLetter {
                id: s(d, "id"),
                event_type: s(d, "type"),
                event_id: s(d, "event_id"),
                channel_id: s(d, "channel_id"),
                created: when(d, "created_at"),
                last: attempts.last().map(|a| a.1.clone()).unwrap_or_default(),
                attempts,
            }
        })
        .collect();
    let t = staff.lang.texts();
    let page = DeadLettersPage {
        f: Frame::staff(
            &console,
            &staff,
            t.dead_letters_title.to_owned(),
            "webhooks",
            "/console/webhooks",
        ),
        t,
        deliveries,
    };
    html(StatusCode::OK, &page)
}

/// `POST /console/webhooks/replay`: `one=<id>` (a row's button) or every
/// checked `id`, each through `POST /api/v1/webhooks/deliveries/{id}/retry`:
/// every id is tried, and the message names which were queued again and
/// which were not, and why. A token that no longer works ends the session.
pub(crate) async fn replay(State(console): State<Shared>, form: Posted) -> Response {
    let staff = &form.staff;
    let t = staff.lang.texts();
    let mut ids: Vec<&str> = Vec::new();
    let chosen = if form.get("one").is_empty() {
        form.all("id")
    } else {
        vec![form.get("one")]
    };
    for id in chosen.into_iter().filter(|id| !id.is_empty()).take(LIMIT) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        let p = Problem::new(422, "validation_failed", t.nothing_selected);
        return after_change(&console, staff, Err(p), BACK);
    }
    let mut queued = Vec::new();
    let mut refused = Vec::new();
    for id in ids {
        let uri = format!("/api/v1/webhooks/deliveries/{}/retry", enc(id));
        match console
            .api
            .call(&staff.token, staff.peer, Call::post(uri, json!({})))
            .await
        {
            Ok(_) => queued.push(id),
            Err(p) if p.signed_out() => return signed_out(&console, staff),
            Err(p) => refused.push(format!("{id} — {}", t.problem(&p))),
        }
    }
    let mut text = Vec::new();
    if !queued.is_empty() {
        text.push(format!("{} {}.", t.done_replay, queued.join(", ")));
    }
    if !refused.is_empty() {
        text.push(format!("{} {}", t.replay_failed, refused.join("; ")));
    }
    console
        .sessions
        .flash(&staff.sid, refused.is_empty(), text.join(" "));
    Redirect::to(BACK).into_response()
}
