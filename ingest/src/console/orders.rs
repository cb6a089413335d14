//! One order: detail, history and the next step (pick → pack → complete
//! with tracking number and carrier, or cancel); its packing slip.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::Shared;
use super::api::{Call, enc, s, when};
use super::frame::{Frame, after_change, html, read_failed};
use super::i18n::Texts;
use super::pick_list::OrderRow;
use super::session::{Posted, Staff};
use super::stock::catalogue;
use crate::extract::ApiPath;

/// Carriers offered as suggestions (any text is accepted).
const CARRIERS: [&str; 9] = [
    "JNE",
    "J&T Express",
    "SiCepat",
    "AnterAja",
    "Pos Indonesia",
    "Ninja Xpress",
    "ID Express",
    "GoSend",
    "GrabExpress",
];

#[derive(Template)]
#[template(path = "console/order.html")]
struct OrderPage {
    f: Frame,
    t: &'static Texts,
    o: OrderRow,
    status: String,
    status_words: String,
    tracking: String,
    carrier: String,
    carriers: [&'static str; 9],
    history: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "console/slip.html")]
struct SlipPage {
    f: Frame,
    t: &'static Texts,
    o: OrderRow,
    tracking: String,
    carrier: String,
    ship_to: Vec<String>,
}

/// The order and its status history, through the API.
async fn read(
    console: &Shared,
    staff: &Staff,
    id: &str,
) -> Result<(Value, Value), super::api::Problem> {
    let id = enc(id);
    let api = &console.api;
    let (_, order) = api
        .call(
            &staff.token,
            staff.peer,
            Call::get(format!("/api/v1/orders/{id}")),
        )
        .await?;
    let (_, status) = api
        .call(
            &staff.token,
            staff.peer,
            Call::get(format!("/api/v1/orders/{id}/status")),
        )
        .await?;
    Ok((order, status))
}

/// `GET /console/orders/{id}`.
pub(crate) async fn page(
    State(console): State<Shared>,
    mut staff: Staff,
    ApiPath(id): ApiPath<String>,
) -> Response {
    let read = async {
        let (order, status) = read(&console, &staff, &id).await?;
        Ok((order, status, catalogue(&console, &staff).await?))
    };
    let (order, status, cat) = match read.await {
        Ok(r) => r,
        Err(p) => return read_failed(&console, staff, &p),
    };
    let t = staff.lang.texts();
    let o = OrderRow::new(&order, &cat);
    let history = status
        .get("history")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|h| (t.status(&s(h, "status")), when(h, "at")))
        .collect();
    let here = format!("/console/orders/{}", o.id_enc);
    let page = OrderPage {
        f: Frame::staff(
            &mut staff,
            format!("{} {}", t.order, o.external_id),
            "pick",
            &here,
        ),
        t,
        status: o.status.clone(),
        status_words: t.status(&o.status),
        tracking: s(&order, "tracking_number"),
        carrier: s(&order, "carrier"),
        carriers: CARRIERS,
        history,
        o,
    };
    html(StatusCode::OK, &page)
}

/// The lines of a shipping address (or customer) object as given.
fn address_lines(v: Option<&Value>) -> Vec<String> {
    let Some(Value::Object(map)) = v else {
        return Vec::new();
    };
    map.values()
        .filter_map(|v| match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

/// `GET /console/orders/{id}/slip`: the packing slip, for printing.
pub(crate) async fn slip(
    State(console): State<Shared>,
    mut staff: Staff,
    ApiPath(id): ApiPath<String>,
) -> Response {
    let read = async {
        let (order, _) = read(&console, &staff, &id).await?;
        Ok((order, catalogue(&console, &staff).await?))
    };
    let (order, cat) = match read.await {
        Ok(r) => r,
        Err(p) => return read_failed(&console, staff, &p),
    };
    let t = staff.lang.texts();
    let o = OrderRow::new(&order, &cat);
    let mut ship_to = address_lines(order.get("customer"));
    ship_to.extend(address_lines(order.get("shipping_address")));
    let here = format!("/console/orders/{}/slip", o.id_enc);
    let page = SlipPage {
        f: Frame::staff(
            &mut staff,
            format!("{} — {}", t.packing_slip, o.external_id),
            "pick",
            &here,
        ),
        t,
        tracking: s(&order, "tracking_number"),
        carrier: s(&order, "carrier"),
        ship_to,
        o,
    };
    html(StatusCode::OK, &page)
}

/// `POST /console/orders/{id}/{pick|pack|complete|cancel}`: the API's step
/// of the same name; back to the order with the outcome in words.
pub(crate) async fn act(
    State(console): State<Shared>,
    ApiPath((id, action)): ApiPath<(String, String)>,
    form: Posted,
) -> Response {
    let t = form.staff.lang.texts();
    let back = format!("/console/orders/{}", enc(&id));
    let (body, done) = match action.as_str() {
        "pick" => (json!({}), t.done_pick),
        "pack" => (json!({}), t.done_pack),
        "cancel" => (json!({}), t.done_cancel),
        "complete" => {
            let mut body = json!({"tracking_number": form.get("tracking_number")});
            if !form.get("carrier").is_empty() {
                body["carrier"] = json!(form.get("carrier"));
            }
            (body, t.done_complete)
        }
        _ => return read_failed(&console, form.staff, &not_found(&action)),
    };
    let uri = format!("/api/v1/orders/{}/{action}", enc(&id));
    let outcome = console
        .api
        .call(&form.staff.token, form.staff.peer, Call::post(uri, body))
        .await
        .map(|_| done.to_owned());
    after_change(&console, &form.staff, outcome, &back)
}

fn not_found(action: &str) -> super::api::Problem {
    super::api::Problem::new(404, "not_found", format!("no order action {action}"))
}
