//! What every page shares (the [`Frame`]: language, navigation, session
//! CSRF token, one-time message) and the answers built from pages and
//! failures.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::api::{Problem, enc};
use super::i18n::{Lang, Texts};
use super::session::{Flash, Staff};
use super::{Console, Shared};

/// The page frame every template extends (`base.html`).
pub(crate) struct Frame {
    /// The texts of the page language.
    pub(crate) t: &'static Texts,
    /// The page language's code.
    pub(crate) lang: &'static str,
    /// The page title.
    pub(crate) title: String,
    /// The session's CSRF token; empty when signed out.
    pub(crate) csrf: String,
    /// Whether a staff member is signed in (navigation, sign-out).
    pub(crate) signed_in: bool,
    /// Which navigation entry is current: `pick`, `stock`, `webhooks` or empty.
    pub(crate) nav: &'static str,
    /// This page's path, percent-encoded, for the language switch to return to.
    pub(crate) here_enc: String,
    /// A message left by the previous action.
    pub(crate) flash: Option<Flash>,
}

impl Frame {
    /// The frame of a signed-in page at `here`, with (and so taking) the
    /// message the session's last change left.
    pub(crate) fn staff(
        console: &Console,
        staff: &Staff,
        title: String,
        nav: &'static str,
        here: &str,
    ) -> Self {
        Frame {
            t: staff.lang.texts(),
            lang: staff.lang.code(),
            title,
            csrf: staff.csrf.clone(),
            signed_in: true,
            nav,
            here_enc: enc(here),
            flash: console.sessions.take_flash(&staff.sid),
        }
    }

    /// The frame of a page seen signed out.
    pub(crate) fn visitor(lang: Lang, title: String, here: &str) -> Self {
        Frame {
            t: lang.texts(),
            lang: lang.code(),
            title,
            csrf: String::new(),
            signed_in: false,
            nav: "",
            here_enc: enc(here),
            flash: None,
        }
    }
}

/// A rendered page, `status` and HTML.
pub(crate) fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console: a page did not render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A page with one message.
#[derive(Template)]
#[template(path = "console/message.html")]
pub(crate) struct Message {
    /// Frame.
    pub(crate) f: Frame,
    /// The message.
    pub(crate) text: String,
    /// Where the back link goes.
    pub(crate) back: String,
}

/// 403: a form without this session's CSRF token or from another origin.
pub(crate) fn forbidden(lang: Lang) -> Response {
    let t = lang.texts();
    let page = Message {
        f: Frame::visitor(lang, t.error_title.to_owned(), "/console"),
        text: t.forbidden_text.to_owned(),
        back: "/console".to_owned(),
    };
    html(StatusCode::FORBIDDEN, &page)
}

/// Sends a signed-out browser to the sign-in page, ending the session.
pub(crate) fn signed_out(console: &Shared, staff: &Staff) -> Response {
    console.sessions.end(&staff.sid);
    Redirect::to("/console/sign-in?ended=1").into_response()
}

/// The answer to a page whose API read failed: back to sign-in when the
/// token no longer works, else the problem in words with the API's status.
pub(crate) fn read_failed(console: &Shared, staff: Staff, p: &Problem) -> Response {
    if p.signed_out() {
        return signed_out(console, &staff);
    }
    let t = staff.lang.texts();
    let text = t.problem(p);
    let page = Message {
        f: Frame::staff(console, &staff, t.error_title.to_owned(), "", "/console"),
        text,
        back: "/console/pick-list".to_owned(),
    };
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_GATEWAY);
    html(status, &page)
}

/// The answer to a change: the outcome left as a message, then back to
/// `back` (post/redirect/get), or to sign-in when the token no longer works.
pub(crate) fn after_change(
    console: &Shared,
    staff: &Staff,
    outcome: Result<String, Problem>,
    back: &str,
) -> Response {
    match outcome {
        Ok(text) => console.sessions.flash(&staff.sid, true, text),
        Err(p) if p.signed_out() => return signed_out(console, staff),
        Err(p) => {
            let text = staff.lang.texts().problem(&p);
            console.sessions.flash(&staff.sid, false, text);
        }
    }
    Redirect::to(back).into_response()
}
