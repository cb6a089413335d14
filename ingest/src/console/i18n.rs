//! Bahasa Indonesia and English: the page language (a cookie set by the
//! language switch, else the browser's `Accept-Language`) and every text.

mod en;
mod id;

use axum::http::{HeaderMap, header};

use super::api::Problem;

/// A console language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    /// English.
    En,
    /// Bahasa Indonesia.
    Id,
}

impl Lang {
    /// The language of a code (`en`, `id`), if it is one of ours.
    pub(crate) fn from_code(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "id" | "in" => Some(Lang::Id),
            _ => None,
        }
    }

    /// The best of ours by `Accept-Language` (highest `q`, first on a tie);
    /// English when the header names neither.
    pub(crate) fn from_accept_language(headers: &HeaderMap) -> Lang {
        let Some(value) = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
        else {
            return Lang::En;
        };
        let mut best: Option<(f32, Lang)> = None;
        for item in value.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let primary = tag.split('-').next().unwrap_or("");
            let Some(lang) = Lang::from_code(primary) else {
                continue;
            };
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }

    /// The language's code, for `<html lang>` and the cookie.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Id => "id",
        }
    }

    /// Every text in this language.
    pub(crate) fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &en::EN,
            Lang::Id => &id::ID,
        }
    }
}

impl Texts {
    /// An order status in words.
    pub(crate) fn status(&self, status: &str) -> String {
        match status {
            "reserved" => self.status_reserved,
            "pending_approval" => self.status_pending_approval,
            "picking" => self.status_picking,
            "packed" => self.status_packed,
            "dispatched" => self.status_dispatched,
            "cancelled" => self.status_cancelled,
            "expired" => self.status_expired,
            other => return other.to_owned(),
        }
        .to_owned()
    }

    /// A ledger movement kind in words.
    pub(crate) fn kind(&self, kind: &str) -> String {
        match kind {
            "receipt" => self.kind_receipt,
            "adjustment" => self.kind_adjustment,
            "reserve" => self.kind_reserve,
            "release" => self.kind_release,
            "stock_out" => self.kind_stock_out,
            "return" => self.kind_return,
            "return_damaged" => self.kind_return_damaged,
            other => return other.to_owned(),
        }
        .to_owned()
    }

    /// An API problem in words: what it means, then what the API named —
    /// each field that breaks a rule and why, each short line (requested and
    /// available units), the unknown SKUs, or else its own detail. An
    /// adjustment counted against an older version names the version now.
    pub(crate) fn problem(&self, p: &Problem) -> String {
        if let (Some(v), "conflict") = (p.current_version, p.code.as_str()) {
            return self.p_version_changed.replace("{version}", &v.to_string());
        }
        let words = match p.code.as_str() {
            "malformed_request" => self.p_malformed_request,
            "unauthorized" => self.p_unauthorized,
            "forbidden" | "ip_not_allowed" => self.p_forbidden,
            "not_found" => self.p_not_found,
            "invalid_transition" => self.p_invalid_transition,
            "conflict" => self.p_conflict,
            "payload_too_large" => self.p_payload_too_large,
            "insufficient_stock" => self.p_insufficient_stock,
            "unknown_sku" => self.p_unknown_sku,
            "validation_failed" => self.p_validation_failed,
            "rate_limited" => self.p_rate_limited,
            "unavailable" => return self.p_unavailable.to_owned(),
            _ => self.p_other,
        };
        let named: Vec<String> = if !p.errors.is_empty() {
            let field = |(f, m): &(String, String)| match (f.is_empty(), m.is_empty()) {
                (true, _) => m.clone(),
                (false, true) => f.clone(),
                (false, false) => format!("{f}: {m}"),
            };
            p.errors.iter().map(field).collect()
        } else if !p.shortages.is_empty() {
            let short = |(sku, requested, available): &(String, i64, i64)| {
                self.p_shortage
                    .replace("{requested}", &requested.to_string())
                    .replace("{available}", &available.to_string())
                    .replace("{sku}", sku)
            };
            p.shortages.iter().map(short).collect()
        } else if !p.skus.is_empty() {
            vec![p.skus.join(", ")]
        } else if !p.detail.is_empty() {
            return format!("{words} ({})", p.detail);
        } else {
            return words.to_owned();
        };
        let named = named.join("; ");
        let stop = if named.ends_with(['.', '!', '?']) {
            ""
        } else {
            "."
        };
        format!("{words} {named}{stop}")
    }
}

/// Every text of the console, one field per phrase.
#[allow(missing_docs)]
pub(crate) struct Texts {
    pub(crate) adjust: &'static str,
    pub(crate) adjust_delta: &'static str,
    pub(crate) adjust_how: &'static str,
    pub(crate) adjust_set: &'static str,
    pub(crate) adjust_stock: &'static str,
    pub(crate) amount: &'static str,
    pub(crate) attempts: &'static str,
    pub(crate) attempts_lower: &'static str,
    pub(crate) available: &'static str,
    pub(crate) back: &'static str,
    pub(crate) back_to_pick_list: &'static str,
    pub(crate) bad_number: &'static str,
    pub(crate) barcode: &'static str,
    pub(crate) by_order: &'static str,
    pub(crate) cancel_confirm: &'static str,
    pub(crate) cancel_order: &'static str,
    pub(crate) carrier: &'static str,
    pub(crate) channel: &'static str,
    pub(crate) confirmed: &'static str,
    pub(crate) created: &'static str,
    pub(crate) damaged: &'static str,
    pub(crate) dead_letters_empty: &'static str,
    pub(crate) dead_letters_intro: &'static str,
    pub(crate) dead_letters_title: &'static str,
    pub(crate) delta_damaged: &'static str,
    pub(crate) delta_on_hand: &'static str,
    pub(crate) delta_reserved: &'static str,
    pub(crate) dispatch: &'static str,
    pub(crate) done_adjustment: &'static str,
    pub(crate) done_adjustment_again: &'static str,
    pub(crate) done_cancel: &'static str,
    pub(crate) done_complete: &'static str,
    pub(crate) done_pack: &'static str,
    pub(crate) done_pick: &'static str,
    pub(crate) done_receipt: &'static str,
    pub(crate) done_receipt_again: &'static str,
    pub(crate) done_replay: &'static str,
    pub(crate) error_title: &'static str,
    pub(crate) event: &'static str,
    pub(crate) forbidden_text: &'static str,
    pub(crate) history: &'static str,
    pub(crate) inactive: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) kind_adjustment: &'static str,
    pub(crate) kind_receipt: &'static str,
    pub(crate) kind_release: &'static str,
    pub(crate) kind_reserve: &'static str,
    pub(crate) kind_return: &'static str,
    pub(crate) kind_return_damaged: &'static str,
    pub(crate) kind_stock_out: &'static str,
    pub(crate) language: &'static str,
    pub(crate) lines: &'static str,
    pub(crate) mark_packed: &'static str,
    pub(crate) movements: &'static str,
    pub(crate) name: &'static str,
    pub(crate) nav_label: &'static str,
    pub(crate) nav_pick_list: &'static str,
    pub(crate) nav_stock: &'static str,
    pub(crate) nav_webhooks: &'static str,
    pub(crate) no_movements: &'static str,
    pub(crate) not_staff_token: &'static str,
    pub(crate) nothing_selected: &'static str,
    pub(crate) older_movements: &'static str,
    pub(crate) on_hand: &'static str,
    pub(crate) order: &'static str,
    pub(crate) order_id: &'static str,
    pub(crate) orders: &'static str,
    pub(crate) orders_waiting: &'static str,
    pub(crate) p_conflict: &'static str,
    pub(crate) p_forbidden: &'static str,
    pub(crate) p_insufficient_stock: &'static str,
    pub(crate) p_invalid_transition: &'static str,
    pub(crate) p_malformed_request: &'static str,
    pub(crate) p_not_found: &'static str,
    pub(crate) p_other: &'static str,
    pub(crate) p_payload_too_large: &'static str,
    pub(crate) p_rate_limited: &'static str,
    /// One short line: `{sku}`, `{requested}` and `{available}` are filled in.
    pub(crate) p_shortage: &'static str,
    pub(crate) p_unauthorized: &'static str,
    pub(crate) p_unavailable: &'static str,
    pub(crate) p_unknown_sku: &'static str,
    pub(crate) p_validation_failed: &'static str,
    /// A count against an older version: `{version}` is the product's version now.
    pub(crate) p_version_changed: &'static str,
    pub(crate) packed: &'static str,
    pub(crate) packed_by: &'static str,
    pub(crate) packing_slip: &'static str,
    pub(crate) pick_list_empty: &'static str,
    pub(crate) pick_list_intro: &'static str,
    pub(crate) pick_list_title: &'static str,
    pub(crate) picked: &'static str,
    pub(crate) placed: &'static str,
    pub(crate) print: &'static str,
    pub(crate) print_pick_list: &'static str,
    pub(crate) print_pick_list_hint: &'static str,
    pub(crate) product_code: &'static str,
    pub(crate) quantity: &'static str,
    pub(crate) reason: &'static str,
    pub(crate) receive: &'static str,
    pub(crate) receive_stock: &'static str,
    pub(crate) reference: &'static str,
    pub(crate) replay: &'static str,
    pub(crate) replay_failed: &'static str,
    pub(crate) replay_selected: &'static str,
    pub(crate) reserved: &'static str,
    pub(crate) results: &'static str,
    pub(crate) results_truncated: &'static str,
    pub(crate) scan_all_done: &'static str,
    pub(crate) scan_confirm: &'static str,
    pub(crate) scan_label: &'static str,
    pub(crate) scan_more: &'static str,
    pub(crate) scan_unknown: &'static str,
    pub(crate) search: &'static str,
    pub(crate) select: &'static str,
    pub(crate) select_delivery: &'static str,
    pub(crate) select_order: &'static str,
    pub(crate) session_ended: &'static str,
    pub(crate) ship_to: &'static str,
    pub(crate) sign_in: &'static str,
    pub(crate) sign_in_intro: &'static str,
    pub(crate) sign_in_title: &'static str,
    pub(crate) sign_out: &'static str,
    pub(crate) skip_to_content: &'static str,
    pub(crate) sku: &'static str,
    pub(crate) start_picking: &'static str,
    pub(crate) status: &'static str,
    pub(crate) status_cancelled: &'static str,
    pub(crate) status_dispatched: &'static str,
    pub(crate) status_expired: &'static str,
    pub(crate) status_packed: &'static str,
    pub(crate) status_pending_approval: &'static str,
    pub(crate) status_picking: &'static str,
    pub(crate) status_reserved: &'static str,
    pub(crate) stock_search_label: &'static str,
    pub(crate) stock_title: &'static str,
    pub(crate) token_label: &'static str,
    pub(crate) total_units: &'static str,
    pub(crate) totals_by_product: &'static str,
    pub(crate) tracking_number: &'static str,
    pub(crate) units: &'static str,
    pub(crate) updated: &'static str,
    pub(crate) version: &'static str,
    pub(crate) when: &'static str,
    pub(crate) wrong_token: &'static str,
}
