//! The receipt and adjustment forms. Each rendered form carries its own
//! `Idempotency-Key`, so a double click (or a resent form) is applied once:
//! the API answers the repeat with the first answer (200 instead of 201).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::Shared;
use super::api::{Call, Problem, enc};
use super::frame::after_change;
use super::session::Posted;
use crate::extract::ApiPath;

/// A problem the console finds before asking the API (a field that is not a number).
fn local_problem(text: &str) -> Problem {
    Problem::new(422, "validation_failed", text)
}

/// The form's idempotency key, if it looks like one (1–255 visible ASCII).
fn key(form: &Posted) -> Option<&str> {
    let k = form.get("key");
    (!k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic())).then_some(k)
}

async fn post(
    console: &Shared,
    form: &Posted,
    uri: &str,
    body: Value,
) -> Result<StatusCode, Problem> {
    let mut call = Call::post(uri, body);
    call.idempotency_key = key(form);
    let (status, _) = console
        .api
        .call(&form.staff.token, form.staff.peer, call)
        .await?;
    Ok(status)
}

/// `POST /console/stock/{code}/receipt`: `POST /api/v1/stock/receipts`.
pub(crate) async fn receipt(
    State(console): State<Shared>,
    ApiPath(code): ApiPath<String>,
    form: Posted,
) -> Response {
    let t = form.staff.lang.texts();
    let back = format!("/console/stock/{}", enc(&code));
    let outcome = match form.get("quantity").parse::<i64>() {
        Err(_) => Err(local_problem(t.bad_number)),
        Ok(quantity) => {
            let body = json!({
                "reference": form.get("reference"),
                "lines": [{"product_code": code, "quantity": quantity}],
            });
            post(&console, &form, "/api/v1/stock/receipts", body)
                .await
                .map(|status| {
                    if status == StatusCode::CREATED {
                        t.done_receipt.to_owned()
                    } else {
                        t.done_receipt_again.to_owned()
                    }
                })
        }
    };
    after_change(&console, &form.staff, outcome, &back)
}

/// `POST /console/stock/{code}/adjustment`: `POST /api/v1/stock/adjustments`
/// with `delta` or `set_on_hand`, compare-and-set on the version shown.
pub(crate) async fn adjustment(
    State(console): State<Shared>,
    ApiPath(code): ApiPath<String>,
    form: Posted,
) -> Response {
    let t = form.staff.lang.texts();
    let back = format!("/console/stock/{}", enc(&code));
    let amount = form.get("amount").replace('−', "-");
    let outcome = match amount.parse::<i64>() {
        Err(_) => Err(local_problem(t.bad_number)),
        Ok(amount) => {
            let mut body = json!({"product_code": code, "reason": form.get("reason")});
            if form.get("mode") == "set" {
                body["set_on_hand"] = json!(amount);
            } else {
                body["delta"] = json!(amount);
            }
            if let Ok(v) = form.get("expected_version").parse::<i64>() {
                body["expected_version"] = json!(v);
            }
            post(&console, &form, "/api/v1/stock/adjustments", body)
                .await
                .map(|status| {
                    if status == StatusCode::CREATED {
                        t.done_adjustment.to_owned()
                    } else {
                        t.done_adjustment_again.to_owned()
                    }
                })
        }
    };
    after_change(&console, &form.staff, outcome, &back)
}
