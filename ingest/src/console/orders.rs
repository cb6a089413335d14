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
    staff: Staff,
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
            &console,
            &staff,
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

/// The lines of the slip's address, in this order, each the first of its
/// keys present in `shipping_address`; the recipient's name and phone may
/// come from `customer` instead. Other keys are left out.
const ADDRESS: [&[&str]; 9] = [
    &["name", "recipient", "recipient_name"],
    &["phone", "phone_number"],
    &["street", "address", "address1", "address_line1", "line1"],
    &["address2", "address_line2", "line2"],
    &["district", "kecamatan"],
    &["city"],
    &["province", "state", "region"],
    &["postal_code", "postcode", "zip"],
    &["country"],
];

/// The longest address line printed, in characters.
const MAX_LINE: usize = 200;

/// A text or number at the first of `keys` in `v`; nested values, empty
/// texts and anything else do not count.
fn text_at(v: Option<&Value>, keys: &[&str]) -> Option<String> {
    let map = v?.as_object()?;
    keys.iter().find_map(|k| match map.get(*k)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().chars().take(MAX_LINE).collect()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// The slip's address: the known keys of `shipping_address` in a fixed
/// order, the name and phone from `customer` when the address has none.
/// Nothing else of `customer` is printed.
pub(crate) fn address_lines(customer: Option<&Value>, ship_to: Option<&Value>) -> Vec<String> {
    ADDRESS
        .iter()
        .filter_map(|keys| {
            let from_customer = matches!(keys[0], "name" | "phone");
            text_at(ship_to, keys)
                .or_else(|| from_customer.then(|| text_at(customer, keys)).flatten())
        })
        .collect()
}

/// `GET /console/orders/{id}/slip`: the packing slip, for printing.
pub(crate) async fn slip(
    State(console): State<Shared>,
    staff: Staff,
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
    let ship_to = address_lines(order.get("customer"), order.get("shipping_address"));
    let here = format!("/console/orders/{}/slip", o.id_enc);
    let page = SlipPage {
        f: Frame::staff(
            &console,
            &staff,
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
