//! The pick list: paid orders (`pending_approval`), oldest first, with
//! their lines; its rows alone (what the page polls to stay fresh); and a
//! printable pick list for a batch of orders.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::Shared;
use super::api::{Call, Problem, enc, i, items, s, when};
use super::frame::{Frame, html, read_failed};
use super::i18n::Texts;
use super::session::Staff;
use super::stock::{Catalogue, catalogue};

/// At most this many pages of 1000 orders are shown.
const MAX_PAGES: usize = 5;

/// One order line, with the product's name and barcode.
pub(crate) struct LineRow {
    /// The channel's SKU of the line.
    pub(crate) sku: String,
    /// The warehouse's product code the SKU maps to.
    pub(crate) product_code: String,
    /// The product's name from the catalogue; empty when unknown.
    pub(crate) name: String,
    /// The product's barcode from the catalogue; empty when none or unknown.
    pub(crate) barcode: String,
    /// Units ordered.
    pub(crate) quantity: i64,
}

/// One order as the console shows it.
pub(crate) struct OrderRow {
    /// The order's id, as the API gives it.
    pub(crate) id: String,
    /// The id percent-encoded, for a console path.
    pub(crate) id_enc: String,
    /// The channel's own order number.
    pub(crate) external_id: String,
    /// The channel that placed the order.
    pub(crate) channel_id: String,
    /// The status code (`pending_approval`, `picking`, …), not in words.
    pub(crate) status: String,
    /// When the order was placed, as `YYYY-MM-DD HH:MM:SS UTC`.
    pub(crate) created: String,
    /// When the order was placed, as the API gives it (RFC 3339), for sorting.
    pub(crate) created_raw: String,
    /// Its lines, in the API's order.
    pub(crate) lines: Vec<LineRow>,
    /// Units over all lines.
    pub(crate) units: i64,
}

impl OrderRow {
    /// An order from the API's JSON, named from the catalogue.
    pub(crate) fn new(o: &Value, cat: &Catalogue) -> Self {
        let lines: Vec<LineRow> = o
            .get("lines")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|l| {
                let product_code = s(l, "product_code");
                let info = cat.get(&product_code);
                LineRow {
                    sku: s(l, "sku"),
                    name: info.map(|p| p.name.clone()).unwrap_or_default(),
                    barcode: info.map(|p| p.barcode.clone()).unwrap_or_default(),
                    product_code,
                    quantity: i(l, "quantity").unwrap_or(0),
                }
            })
            .collect();
        let id = s(o, "id");
        OrderRow {
            id_enc: enc(&id),
            id,
            external_id: s(o, "external_id"),
            channel_id: s(o, "channel_id"),
            status: s(o, "status"),
            created: when(o, "created_at"),
            created_raw: s(o, "created_at"),
            units: lines.iter().map(|l| l.quantity).sum(),
            lines,
        }
    }
}

/// Every order waiting to be picked, oldest first.
async fn waiting(console: &Shared, staff: &Staff) -> Result<Vec<OrderRow>, Problem> {
    let cat = catalogue(console, staff).await?;
    let mut rows = Vec::new();
    let mut cursor = String::new();
    for _ in 0..MAX_PAGES {
        let mut uri = "/api/v1/orders?status=pending_approval&limit=1000".to_owned();
        if !cursor.is_empty() {
            uri.push_str(&format!("&cursor={}", enc(&cursor)));
        }
        let (_, page) = console
            .api
            .call(&staff.token, staff.peer, Call::get(uri))
            .await?;
        rows.extend(items(&page).iter().map(|o| OrderRow::new(o, &cat)));
        cursor = s(&page, "next_cursor");
        if cursor.is_empty() {
            break;
        }
    }
    rows.sort_by(|a, b| (&a.created_raw, &a.id).cmp(&(&b.created_raw, &b.id)));
    Ok(rows)
}

#[derive(Template)]
#[template(path = "console/pick_list.html")]
struct PickListPage {
    f: Frame,
    t: &'static Texts,
    orders: Vec<OrderRow>,
}

#[derive(Template)]
#[template(path = "console/pick_rows.html")]
struct PickRows {
    t: &'static Texts,
    orders: Vec<OrderRow>,
}

/// `GET /console/pick-list`.
pub(crate) async fn page(State(console): State<Shared>, staff: Staff) -> Response {
    let orders = match waiting(&console, &staff).await {
        Ok(o) => o,
        Err(p) => return read_failed(&console, staff, &p),
    };
    let t = staff.lang.texts();
    let page = PickListPage {
        f: Frame::staff(
            &console,
            &staff,
            t.pick_list_title.to_owned(),
            "pick",
            "/console/pick-list",
        ),
        t,
        orders,
    };
    html(StatusCode::OK, &page)
}

/// `GET /console/pick-list/rows`: the table rows alone, polled by the page;
/// 401 without a body once the session or its token has ended.
pub(crate) async fn rows(State(console): State<Shared>, v: super::session::Visitor) -> Response {
    let Some(staff) = v.staff else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match waiting(&console, &staff).await {
        Ok(orders) => html(
            StatusCode::OK,
            &PickRows {
                t: staff.lang.texts(),
                orders,
            },
        ),
        Err(p) if p.signed_out() => {
            console.sessions.end(&staff.sid);
            StatusCode::UNAUTHORIZED.into_response()
        }
        Err(p) => (
            StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_GATEWAY),
            staff.lang.texts().problem(&p),
        )
            .into_response(),
    }
}

/// Units of one product over a batch.
struct Total {
    product_code: String,
    name: String,
    barcode: String,
    quantity: i64,
}

#[derive(Template)]
#[template(path = "console/pick_print.html")]
struct PrintPage {
    f: Frame,
    t: &'static Texts,
    printed: String,
    orders: Vec<OrderRow>,
    totals: Vec<Total>,
}

/// `GET /console/pick-list/print?order=…&order=…`: the chosen orders (all
/// waiting ones when none is chosen), with totals per product in product
/// code order, for a print stylesheet.
pub(crate) async fn print(
    State(console): State<Shared>,
    staff: Staff,
    RawQuery(raw): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let chosen: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "order")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut orders = match waiting(&console, &staff).await {
        Ok(o) => o,
        Err(p) => return read_failed(&console, staff, &p),
    };
    if !chosen.is_empty() {
        orders.retain(|o| chosen.contains(&o.id.as_str()));
    }
    let mut totals: BTreeMap<&str, Total> = BTreeMap::new();
    for l in orders.iter().flat_map(|o| &o.lines) {
        totals
            .entry(&l.product_code)
            .or_insert_with(|| Total {
                product_code: l.product_code.clone(),
                name: l.name.clone(),
                barcode: l.barcode.clone(),
                quantity: 0,
            })
            .quantity += l.quantity;
    }
    let totals = totals.into_values().collect();
    let t = staff.lang.texts();
    let page = PrintPage {
        f: Frame::staff(
            &console,
            &staff,
            t.pick_list_title.to_owned(),
            "pick",
            "/console/pick-list",
        ),
        t,
        printed: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        orders,
        totals,
    };
    html(StatusCode::OK, &page)
}
