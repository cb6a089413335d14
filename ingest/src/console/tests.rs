//! Unit tests of the console's request reading: language choice, cookies,
//! the origin check, percent-encoding, the language switch's way back; API
//! problems in words; the packing slip's address.

use axum::http::{HeaderMap, HeaderValue, header};

use serde_json::json;

use super::api::{Problem, enc};
use super::i18n::Lang;
use super::orders::address_lines;
use super::session::{cookie, same_origin, same_secret, set_cookie};
use super::sign_in::console_path;

fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(k.clone(), HeaderValue::from_str(v).unwrap());
    }
    h
}

#[test]
fn the_language_follows_accept_language_by_weight() {
    let pick = |v: &str| Lang::from_accept_language(&headers(&[(header::ACCEPT_LANGUAGE, v)]));
    assert_eq!(pick("id-ID,id;q=0.9,en;q=0.8"), Lang::Id);
    assert_eq!(pick("en-US,en;q=0.9,id;q=0.8"), Lang::En);
    assert_eq!(pick("fr-FR, id;q=0.5, en;q=0.4"), Lang::Id);
    assert_eq!(pick("in"), Lang::Id);
    assert_eq!(pick("de, id;q=0"), Lang::En);
    assert_eq!(pick("*"), Lang::En);
    assert_eq!(Lang::from_accept_language(&HeaderMap::new()), Lang::En);
}

#[test]
fn cookies_are_read_by_exact_name_and_set_strict_and_http_only() {
    let h = headers(&[(
        header::COOKIE,
        "a=1; agusto_console_lang=id; agusto_console=s3cr3t",
    )]);
    assert_eq!(cookie(&h, "agusto_console"), Some("s3cr3t"));
    assert_eq!(cookie(&h, "agusto_console_lang"), Some("id"));
    assert_eq!(cookie(&h, "agusto"), None);
    let c = set_cookie("agusto_console", Some("x"), true, false);
    assert_eq!(
        c,
        "agusto_console=x; Path=/console; SameSite=Strict; HttpOnly"
    );
    assert!(set_cookie("agusto_console", None, true, true).contains("Max-Age=0; HttpOnly; Secure"));
}

#[test]
fn only_posts_from_this_host_or_without_origin_pass() {
    let host = (header::HOST, "127.0.0.1:8080");
    assert!(same_origin(&headers(std::slice::from_ref(&host))));
    assert!(same_origin(&headers(&[
        host.clone(),
        (header::ORIGIN, "http://127.0.0.1:8080")
    ])));
    assert!(!same_origin(&headers(&[
        host.clone(),
        (header::ORIGIN, "http://evil.example")
    ])));
    assert!(!same_origin(&headers(&[
        host.clone(),
        (header::ORIGIN, "null")
    ])));
    assert!(!same_origin(&headers(&[(
        header::ORIGIN,
        "http://127.0.0.1:8080"
    )])));
}

#[test]
fn secrets_compare_whole() {
    assert!(same_secret("abc", "abc"));
    assert!(!same_secret("abc", "abd"));
    assert!(!same_secret("", "abc"));
    assert!(!same_secret("abc", "abcd"));
}

#[test]
fn path_segments_are_percent_encoded() {
    assert_eq!(enc("KOPI-250"), "KOPI-250");
    assert_eq!(enc("a/b c?&"), "a%2Fb%20c%3F%26");
    assert_eq!(enc("é"), "%C3%A9");
}

#[test]
fn the_language_switch_returns_only_to_a_plain_console_path() {
    for good in [
        "/console",
        "/console/pick-list",
        "/console/stock/KOPI%20250",
        "/console/stock?q=teh",
        "/console/orders/ord_1/slip",
    ] {
        assert_eq!(console_path(good), good);
    }
    for bad in [
        "/console\nx",
        "/console/\rSet-Cookie:x=1",
        "/console/\u{0}",
        "/console/\u{7f}",
        "/console/\tx",
        "/console/ x",
        "/console/é",
        "/consolex",
        "/console//evil.example",
        "/console/..",
        "/console/../api/v1/orders",
        "/console/%2e%2E/api",
        "/console/./x",
        "/console\\evil",
        "https://evil.example/console",
        "//evil.example",
        "",
    ] {
        assert_eq!(console_path(bad), "/console", "{bad:?}");
    }
    assert_eq!(
        console_path(&format!("/console/{}", "a".repeat(3000))),
        "/console"
    );
}

#[test]
fn a_refused_change_names_what_the_api_named_in_both_languages() {
    let (en, id) = (Lang::En.texts(), Lang::Id.texts());
    let invalid = Problem::from_body(
        422,
        &json!({"code": "validation_failed", "detail": "validation failed", "errors": [
            {"field": "delta", "message": "adjustment would take on_hand of TEH-100 below 0 (on_hand 12)"},
            {"field": "reason", "message": "must not be empty"},
            "not an object", {"nested": {"field": 1}}]}),
    );
    assert_eq!(invalid.errors.len(), 2);
    assert_eq!(
        en.problem(&invalid),
        "Some values are not allowed. delta: adjustment would take on_hand of TEH-100 \
         below 0 (on_hand 12); reason: must not be empty."
    );
    assert!(
        id.problem(&invalid)
            .starts_with("Beberapa nilai tidak diizinkan. delta: ")
    );

    let short = Problem::from_body(
        422,
        &json!({"code": "insufficient_stock", "detail": "insufficient stock", "shortages": [
            {"sku": "KOPI-250", "requested": 5, "available": 2},
            {"sku": "TEH-100", "requested": "lots", "available": 0}]}),
    );
    assert_eq!(
        en.problem(&short),
        "Not enough stock. KOPI-250: 5 requested, 2 available."
    );
    assert_eq!(
        id.problem(&short),
        "Stok tidak cukup. KOPI-250: diminta 5, tersedia 2."
    );

    let counted = Problem::from_body(
        409,
        &json!({"code": "conflict", "current_version": 8,
                "detail": "the product is at version 8, not the expected_version"}),
    );
    assert!(en.problem(&counted).contains("now at version 8"));
    assert!(id.problem(&counted).contains("sekarang versi 8"));

    let unknown = Problem::from_body(
        422,
        &json!({"code": "unknown_sku", "skus": ["X-1", 2, "Y-2"]}),
    );
    assert_eq!(
        en.problem(&unknown),
        "A product code is not known. X-1, Y-2."
    );

    // Only a detail (or a title), or nothing usable at all.
    let moved = Problem::from_body(
        409,
        &json!({"code": "invalid_transition", "detail": "order is packed; cannot pick"}),
    );
    assert_eq!(
        en.problem(&moved),
        "The order is not in a state that allows this step. (order is packed; cannot pick)"
    );
    let odd = Problem::from_body(
        422,
        &json!({"code": "validation_failed", "errors": {"field": "x"}, "shortages": 3, "title": "Validation failed"}),
    );
    assert_eq!(
        en.problem(&odd),
        "Some values are not allowed. (Validation failed)"
    );
    assert_eq!(Problem::from_body(502, &json!(null)).code, "");
}

#[test]
fn the_slip_prints_the_known_address_keys_in_order_and_nothing_else() {
    let customer = json!({"name": "Siti Rahma", "email": "siti@example.com", "phone": "0812-1",
                          "loyalty": {"tier": "gold"}, "note": "VIP"});
    let ship_to = json!({"country": "ID", "postal_code": 90111, "city": "Makassar",
                         "province": "Sulawesi Selatan", "street": "Jl. Somba Opu 12",
                         "geo": {"lat": -5.1, "lng": 119.4}, "tags": ["fragile"],
                         "internal_ref": "XYZ", "line2": "  ", "district": null});
    assert_eq!(
        address_lines(Some(&customer), Some(&ship_to)),
        [
            "Siti Rahma",
            "0812-1",
            "Jl. Somba Opu 12",
            "Makassar",
            "Sulawesi Selatan",
            "90111",
            "ID"
        ]
    );
    // The address's own recipient wins over the customer's name.
    let named = json!({"name": "Budi", "city": "Makassar"});
    assert_eq!(
        address_lines(Some(&customer), Some(&named)),
        ["Budi", "0812-1", "Makassar"]
    );
    // API.md's example; then shapes that are not objects at all.
    let example = json!({"city": "Makassar", "postal_code": "90111"});
    assert_eq!(
        address_lines(Some(&json!({"name": "Siti Rahma"})), Some(&example)),
        ["Siti Rahma", "Makassar", "90111"]
    );
    assert!(address_lines(Some(&json!("Siti")), Some(&json!([1, 2]))).is_empty());
    assert!(address_lines(None, None).is_empty());
    let long = json!({"street": "x".repeat(5000)});
    assert_eq!(address_lines(None, Some(&long))[0].len(), 200);
}
