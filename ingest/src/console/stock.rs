//! Stock lookup: search by SKU, product code, name or barcode; a product's
//! levels, receipt and adjustment forms, and its movement ledger.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::Value;

use super::Shared;
use super::api::{Call, Problem, enc, i, items, s, when};
use super::frame::{Frame, html, read_failed};
use super::session::{Staff, field};
use crate::extract::ApiPath;

/// How long the console reuses a catalogue listing.
const CATALOGUE_TTL: Duration = Duration::from_secs(10);
/// At most this many pages of 1000 products are read per listing.
const CATALOGUE_PAGES: usize = 20;
/// At most this many search results are shown.
const MAX_RESULTS: usize = 50;

/// A product's catalogue entry, as the API lists it to staff.
#[derive(Debug, Clone)]
pub(crate) struct ProductInfo {
    /// Product code.
    pub(crate) code: String,
    /// Name.
    pub(crate) name: String,
    /// Barcode; empty when none.
    pub(crate) barcode: String,
    /// Orderable.
    pub(crate) active: bool,
}

/// The catalogue by product code.
pub(crate) type Catalogue = HashMap<String, ProductInfo>;

/// The catalogue as last listed, shared by all sessions for a few seconds.
#[derive(Default)]
pub(crate) struct CatalogueCache {
    last: Mutex<Option<(Instant, Arc<Catalogue>)>>,
}

/// The whole catalogue (active and inactive products), at most
/// [`CATALOGUE_TTL`] old, listed through the API with `staff`'s token.
pub(crate) async fn catalogue(console: &Shared, staff: &Staff) -> Result<Arc<Catalogue>, Problem> {
    if let Some((at, c)) = console
        .catalogue
        .last
        .lock()
        .expect("catalogue lock")
        .as_ref()
        && at.elapsed() < CATALOGUE_TTL
    {
        return Ok(c.clone());
    }
    let mut all = Catalogue::new();
    for active in ["true", "false"] {
        let mut cursor = String::new();
        for _ in 0..CATALOGUE_PAGES {
            let mut uri = format!("/api/v1/products?limit=1000&active={active}");
            if !cursor.is_empty() {
                uri.push_str(&format!("&cursor={}", enc(&cursor)));
            }
            let (_, page) = console
                .api
                .call(&staff.token, staff.peer, Call::get(uri))
                .await?;
            for p in items(&page) {
                let info = ProductInfo {
                    code: s(p, "product_code"),
                    name: s(p, "name"),
                    barcode: s(p, "barcode"),
                    active: p.get("active").and_then(Value::as_bool).unwrap_or(true),
                };
                all.insert(info.code.clone(), info);
            }
            cursor = s(&page, "next_cursor");
            if cursor.is_empty() {
                break;
            }
        }
    }
    let all = Arc::new(all);
    *console.catalogue.last.lock().expect("catalogue lock") = Some((Instant::now(), all.clone()));
    Ok(all)
}

/// One product with its levels.
pub(crate) struct StockRow {
    /// The warehouse's product code.
    pub(crate) product_code: String,
    /// The code percent-encoded, for a console path.
    pub(crate) code_enc: String,
    /// The product's name; empty when the catalogue does not know it.
    pub(crate) name: String,
    /// The product's barcode; empty when none.
    pub(crate) barcode: String,
    /// Orderable (an inactive product is marked as such).
    pub(crate) active: bool,
    /// Units physically here and sellable (0 when the API reported no level).
    pub(crate) on_hand: i64,
    /// Units held by open orders.
    pub(crate) reserved: i64,
    /// Units that can still be ordered (`on_hand − reserved`, never below 0).
    pub(crate) available: i64,
    /// Units physically here, not sellable (0 while the API does not report it).
    pub(crate) damaged: i64,
}

impl StockRow {
    fn new(p: &ProductInfo, level: Option<&Value>) -> Self {
        let n = |k| level.and_then(|l| i(l, k)).unwrap_or(0);
        StockRow {
            product_code: p.code.clone(),
            code_enc: enc(&p.code),
            name: p.name.clone(),
            barcode: p.barcode.clone(),
            active: p.active,
            on_hand: n("on_hand"),
            reserved: n("reserved"),
            available: n("available"),
            damaged: n("damaged"),
        }
    }
}

#[derive(Template)]
#[template(path = "console/stock.html")]
struct SearchPage {
    f: Frame,
    t: &'static super::i18n::Texts,
    q: String,
    rows: Vec<StockRow>,
    truncated: bool,
    show_damaged: bool,
}

/// The products matching `q`: exact code or barcode matches first, then
/// codes and names containing it (case-insensitive); with an empty `q`,
/// the first products by code.
fn matching<'a>(cat: &'a Catalogue, q: &str) -> Vec<&'a ProductInfo> {
    let q = q.to_lowercase();
    let mut exact: Vec<&ProductInfo> = Vec::new();
    let mut near: Vec<&ProductInfo> = Vec::new();
    for p in cat.values() {
        let code = p.code.to_lowercase();
        if !q.is_empty() && (code == q || p.barcode.to_lowercase() == q) {
            exact.push(p);
        } else if q.is_empty() || code.contains(&q) || p.name.to_lowercase().contains(&q) {
            near.push(p);
        }
    }
    exact.sort_by(|a, b| a.code.cmp(&b.code));
    near.sort_by(|a, b| a.code.cmp(&b.code));
    exact.extend(near);
    exact
}

/// `GET /console/stock?q=`: the search; a scan that names exactly one
/// product (code or barcode) goes straight to it.
pub(crate) async fn search(
    State(console): State<Shared>,
    staff: Staff,
    RawQuery(raw): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let q = field(&pairs, "q").to_owned();
    let cat = match catalogue(&console, &staff).await {
        Ok(c) => c,
        Err(p) => return read_failed(&console, staff, &p),
    };
    let found = matching(&cat, &q);
    let q_lower = q.to_lowercase();
    let exact: Vec<_> = found
        .iter()
        .filter(|p| p.code.to_lowercase() == q_lower || p.barcode.to_lowercase() == q_lower)
        .collect();
    if !q.is_empty() && exact.len() == 1 {
        return Redirect::to(&format!("/console/stock/{}", enc(&exact[0].code))).into_response();
    }
    let truncated = found.len() > MAX_RESULTS;
    let shown = &found[..found.len().min(MAX_RESULTS)];
    let mut levels: HashMap<String, Value> = HashMap::new();
    if !shown.is_empty() {
        let query: Vec<String> = shown
            .iter()
            .map(|p| format!("sku={}", enc(&p.code)))
            .collect();
        let uri = format!("/api/v1/stock-levels?{}", query.join("&"));
        match console
            .api
            .call(&staff.token, staff.peer, Call::get(uri))
            .await
        {
            Ok((_, page)) => {
                for l in items(&page) {
                    levels.insert(s(l, "product_code"), l.clone());
                }
            }
            Err(p) => return read_failed(&console, staff, &p),
        }
    }
    let show_damaged = levels.values().any(|l| l.get("damaged").is_some());
    let rows = shown
        .iter()
        .map(|p| StockRow::new(p, levels.get(&p.code)))
        .collect();
    let t = staff.lang.texts();
    let page = SearchPage {
        f: Frame::staff(
            &console,
            &staff,
            t.stock_title.to_owned(),
            "stock",
            "/console/stock",
        ),
        t,
        q,
        rows,
        truncated: !q_lower.is_empty() && truncated,
        show_damaged,
    };
    html(StatusCode::OK, &page)
}

/// One ledger entry, in words.
struct MovementRow {
    at: String,
    kind: String,
    on_hand: String,
    reserved: String,
    damaged: String,
    reference: String,
    version: String,
}

fn signed(n: Option<i64>) -> String {
    match n {
        Some(n) if n > 0 => format!("+{n}"),
        Some(n) => n.to_string(),
        None => String::new(),
    }
}

#[derive(Template)]
#[template(path = "console/product.html")]
struct ProductPage {
    f: Frame,
    t: &'static super::i18n::Texts,
    r: StockRow,
    show_damaged: bool,
    version: i64,
    updated: String,
    receipt_key: String,
    adjustment_key: String,
    movements: Vec<MovementRow>,
    next_cursor: Option<String>,
}

/// `GET /console/stock/{code}?cursor=`: levels, forms and ledger.
pub(crate) async fn product(
    State(console): State<Shared>,
    staff: Staff,
    ApiPath(code): ApiPath<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let cursor = field(&pairs, "cursor");
    let code_enc = enc(&code);
    let level = match console
        .api
        .call(
            &staff.token,
            staff.peer,
            Call::get(format!("/api/v1/inventory/{code_enc}")),
        )
        .await
    {
        Ok((_, v)) => v,
        Err(p) => return read_failed(&console, staff, &p),
    };
    let mut uri = format!("/api/v1/inventory/{code_enc}/movements?limit=100");
    if !cursor.is_empty() {
        uri.push_str(&format!("&cursor={}", enc(cursor)));
    }
    let ledger = match console
        .api
        .call(&staff.token, staff.peer, Call::get(uri))
        .await
    {
        Ok((_, v)) => v,
        Err(p) => return read_failed(&console, staff, &p),
    };
    let info = match catalogue(&console, &staff).await {
        Ok(cat) => cat.get(&code).cloned(),
        Err(p) => return read_failed(&console, staff, &p),
    }
    .unwrap_or_else(|| ProductInfo {
        code: code.clone(),
        name: String::new(),
        barcode: String::new(),
        active: true,
    });
    let t = staff.lang.texts();
    let movements = items(&ledger)
        .iter()
        .map(|m| MovementRow {
            at: when(m, "at"),
            kind: t.kind(&s(m, "kind")),
            on_hand: signed(i(m, "delta_on_hand")),
            reserved: signed(i(m, "delta_reserved")),
            damaged: signed(i(m, "delta_damaged")),
            reference: s(m, "reference"),
            version: s(m, "version"),
        })
        .collect();
    let next = s(&ledger, "next_cursor");
    let title = if info.name.is_empty() {
        code.clone()
    } else {
        info.name.clone()
    };
    let here = format!("/console/stock/{code_enc}");
    let page = ProductPage {
        f: Frame::staff(&console, &staff, title, "stock", &here),
        t,
        r: StockRow::new(&info, Some(&level)),
        show_damaged: level.get("damaged").is_some(),
        version: i(&level, "version").unwrap_or(0),
        updated: when(&level, "updated_at"),
        receipt_key: crate::auth::new_id("console-receipt"),
        adjustment_key: crate::auth::new_id("console-adjustment"),
        movements,
        next_cursor: (!next.is_empty()).then(|| enc(&next)),
    };
    html(StatusCode::OK, &page)
}
