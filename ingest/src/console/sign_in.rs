//! Signing in and out, the language switch, and `/console` itself.

use askama::Template;
use axum::extract::{ConnectInfo, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::net::SocketAddr;

use super::Shared;
use super::api::Call;
use super::frame::{Frame, html};
use super::i18n::Lang;
use super::session::{
    COOKIE, LANG_COOKIE, PRE_COOKIE, Posted, Visitor, cookie, field, read_form, same_origin,
    same_secret, set_cookie,
};

/// The sign-in page.
#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    f: Frame,
    pre: String,
    error: Option<String>,
}

/// `GET /console`: the pick list when signed in, else the sign-in page.
pub(crate) async fn home(v: Visitor) -> Redirect {
    if v.staff.is_some() {
        Redirect::to("/console/pick-list")
    } else {
        Redirect::to("/console/sign-in")
    }
}

fn sign_in_page(v: &Visitor, status: StatusCode, error: Option<String>) -> Response {
    let t = v.lang.texts();
    let pre = crate::auth::new_secret("");
    let page = SignInPage {
        f: Frame::visitor(v.lang, t.sign_in_title.to_owned(), "/console/sign-in"),
        pre: pre.clone(),
        error,
    };
    let mut resp = html(status, &page);
    if let Ok(c) = set_cookie(PRE_COOKIE, Some(&pre), true, v.secure).parse() {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// `GET /console/sign-in`: the token form (`?ended=1` after a session ended).
pub(crate) async fn form(v: Visitor, RawQuery(q): RawQuery) -> Response {
    if v.staff.is_some() {
        return Redirect::to("/console/pick-list").into_response();
    }
    let ended = q.as_deref().is_some_and(|q| q.contains("ended=1"));
    let error = ended.then(|| v.lang.texts().session_ended.to_owned());
    sign_in_page(&v, StatusCode::OK, error)
}

/// `POST /console/sign-in`: checks the token against the API (a staff
/// read: 401 for an unknown token, 403 for a channel token) and starts a
/// session, ending the one the browser had before.
pub(crate) async fn submit(State(console): State<Shared>, v: Visitor, req: Request) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let (parts, fields) = match read_form(req).await {
        Ok(read) => read,
        Err(resp) => return resp,
    };
    let pre = cookie(&parts.headers, PRE_COOKIE).unwrap_or("");
    if pre.is_empty() || !same_secret(field(&fields, "csrf"), pre) || !same_origin(&parts.headers) {
        return super::frame::forbidden(v.lang);
    }
    let token = field(&fields, "token");
    let t = v.lang.texts();
    if token.is_empty() || token.len() > 512 || token.contains(char::is_whitespace) {
        return sign_in_page(&v, StatusCode::UNAUTHORIZED, Some(t.wrong_token.to_owned()));
    }
    let check = Call::get("/api/v1/webhooks/deliveries?limit=1");
    match console.api.call(token, peer, check).await {
        Ok(_) => {}
        Err(p) if p.status == 401 => {
            return sign_in_page(&v, StatusCode::UNAUTHORIZED, Some(t.wrong_token.to_owned()));
        }
        Err(p) if p.status == 403 => {
            return sign_in_page(
                &v,
                StatusCode::FORBIDDEN,
                Some(t.not_staff_token.to_owned()),
            );
        }
        Err(p) => {
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_GATEWAY);
            return sign_in_page(&v, status, Some(t.problem(&p)));
        }
    }
    // Signing in again ends this browser's previous session, so the server
    // keeps no token the browser can no longer use.
    if let Some(previous) = cookie(&parts.headers, COOKIE) {
        console.sessions.end(previous);
    }
    let sid = console.sessions.start(token.to_owned());
    let mut resp = Redirect::to("/console/pick-list").into_response();
    for c in [
        set_cookie(COOKIE, Some(&sid), true, v.secure),
        set_cookie(PRE_COOKIE, None, true, v.secure),
    ] {
        if let Ok(c) = c.parse() {
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    resp
}

/// `POST /console/sign-out`: ends the session.
pub(crate) async fn sign_out(State(console): State<Shared>, v: Visitor, form: Posted) -> Response {
    console.sessions.end(&form.staff.sid);
    let mut resp = Redirect::to("/console/sign-in").into_response();
    if let Ok(c) = set_cookie(COOKIE, None, true, v.secure).parse() {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// `GET /console/lang/{code}?back=<console path>`: remembers the language
/// in a cookie and returns to the page.
pub(crate) async fn switch_language(
    v: Visitor,
    axum::extract::Path(code): axum::extract::Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let lang = Lang::from_code(&code).unwrap_or(v.lang);
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(q.as_deref().unwrap_or("")).unwrap_or_default();
    let mut resp = Redirect::to(console_path(field(&pairs, "back"))).into_response();
    if let Ok(c) = set_cookie(LANG_COOKIE, Some(lang.code()), true, v.secure).parse() {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// Where the language switch may return to: `back` itself when it is a
/// plain console path — `/console`, or `/console` followed by `/` or `?` —
/// of at most 2048 visible ASCII characters, without `//`, `\` or a
/// `.`/`..` segment (also percent-encoded); else `/console`. So never an
/// open redirect, and never a `Location` that cannot be sent (a control
/// character there would fail the answer).
pub(crate) fn console_path(back: &str) -> &str {
    let Some(rest) = back.strip_prefix("/console") else {
        return "/console";
    };
    let path = back.split(['?', '#']).next().unwrap_or("");
    let dots = |seg: &str| {
        let seg = seg.to_ascii_lowercase().replace("%2e", ".");
        !seg.is_empty() && seg.bytes().all(|b| b == b'.')
    };
    let plain = (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
        && back.len() <= 2048
        && back.bytes().all(|b| b.is_ascii_graphic())
        && !back.contains("//")
        && !back.contains('\\')
        && !path.split('/').any(dots);
    if plain { back } else { "/console" }
}
