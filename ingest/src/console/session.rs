//! Console sessions: a random id in an `HttpOnly; SameSite=Strict` cookie,
//! the token and the CSRF token kept server-side only; who is asking
//! ([`Visitor`], [`Staff`]) and checked form posts ([`Posted`]).
//!
//! Sessions live in this process's memory: behind several `agusto ingest`
//! processes, a load balancer must keep a browser on one of them (sticky
//! sessions), and a restart signs everyone out.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::Shared;
use super::i18n::Lang;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "agusto_console";
/// The language cookie's name.
pub(crate) const LANG_COOKIE: &str = "agusto_console_lang";
/// The cookie holding the sign-in form's CSRF value (before a session).
pub(crate) const PRE_COOKIE: &str = "agusto_console_pre";

/// A session ends this long after its last use …
const IDLE: Duration = Duration::from_secs(8 * 3600);
/// … and at the latest this long after sign-in.
const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// At most this many sessions at once; the oldest go first.
const MAX_SESSIONS: usize = 10_000;

/// A message shown once on the next page.
#[derive(Debug, Clone)]
pub(crate) struct Flash {
    /// A success (true) or an error.
    pub(crate) ok: bool,
    /// The words.
    pub(crate) text: String,
}

struct Session {
    token: String,
    csrf: String,
    flash: Option<Flash>,
    started: Instant,
    seen: Instant,
}

/// The table of signed-in sessions.
#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// A new session for `token`; its id (the cookie's value).
    pub(crate) fn start(&self, token: String) -> String {
        let id = crate::auth::new_secret("");
        let now = Instant::now();
        let mut map = self.map.lock().expect("sessions lock");
        map.retain(|_, s| live(s, now));
        while map.len() >= MAX_SESSIONS {
            let oldest = map
                .iter()
                .min_by_key(|(_, s)| s.started)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        let session = Session {
            token,
            csrf: crate::auth::new_secret(""),
            flash: None,
            started: now,
            seen: now,
        };
        map.insert(id.clone(), session);
        id
    }

    /// Ends a session.
    pub(crate) fn end(&self, id: &str) {
        self.map.lock().expect("sessions lock").remove(id);
    }

    /// Leaves a message for the session's next page.
    pub(crate) fn flash(&self, id: &str, ok: bool, text: String) {
        if let Some(s) = self.map.lock().expect("sessions lock").get_mut(id) {
            s.flash = Some(Flash { ok, text });
        }
    }

    /// The message left for the session's next page, taken: only a page
    /// with the full frame shows (and so takes) it, never a poll of the pick
    /// list's rows or a redirect.
    pub(crate) fn take_flash(&self, id: &str) -> Option<Flash> {
        let mut map = self.map.lock().expect("sessions lock");
        map.get_mut(id).and_then(|s| s.flash.take())
    }

    /// The live session `id`: (token, csrf).
    fn touch(&self, id: &str) -> Option<(String, String)> {
        let now = Instant::now();
        let mut map = self.map.lock().expect("sessions lock");
        let s = map.get_mut(id)?;
        if !live(s, now) {
            map.remove(id);
            return None;
        }
        s.seen = now;
        Some((s.token.clone(), s.csrf.clone()))
    }
}

fn live(s: &Session, now: Instant) -> bool {
    now.duration_since(s.seen) < IDLE && now.duration_since(s.started) < LIFETIME
}

/// A cookie's value from the request headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value for the console's path; `None` clears the cookie.
pub(crate) fn set_cookie(name: &str, value: Option<&str>, http_only: bool, secure: bool) -> String {
    let mut c = match value {
        Some(v) => format!("{name}={v}; Path=/console; SameSite=Strict"),
        None => format!("{name}=; Path=/console; SameSite=Strict; Max-Age=0"),
    };
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// Anyone asking for a console page: language, session if any.
pub(crate) struct Visitor {
    /// The page language.
    pub(crate) lang: Lang,
    /// Whether the request came over HTTPS (via a proxy's `X-Forwarded-Proto`).
    pub(crate) secure: bool,
    /// The signed-in session, if any.
    pub(crate) staff: Option<Staff>,
}

/// A signed-in staff member (or admin).
#[derive(Clone)]
pub(crate) struct Staff {
    /// Session id.
    pub(crate) sid: String,
    /// The API token.
    pub(crate) token: String,
    /// The session's CSRF token.
    pub(crate) csrf: String,
    /// The page language.
    pub(crate) lang: Lang,
    /// The caller's address, passed on to the API.
    pub(crate) peer: Option<SocketAddr>,
}

impl FromRequestParts<Shared> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Shared,
    ) -> Result<Self, Self::Rejection> {
        let lang = cookie(&parts.headers, LANG_COOKIE)
            .and_then(Lang::from_code)
            .unwrap_or_else(|| Lang::from_accept_language(&parts.headers));
        let secure = parts
            .headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        let staff = cookie(&parts.headers, COOKIE).and_then(|sid| {
            let (token, csrf) = console.sessions.touch(sid)?;
            Some(Staff {
                sid: sid.to_owned(),
                token,
                csrf,
                lang,
                peer,
            })
        });
        Ok(Visitor {
            lang,
            secure,
            staff,
        })
    }
}

impl FromRequestParts<Shared> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Shared) -> Result<Self, Response> {
        let Ok(v) = Visitor::from_request_parts(parts, console).await;
        v.staff
            .ok_or_else(|| Redirect::to("/console/sign-in").into_response())
    }
}

/// A form posted by a signed-in staff member, its CSRF token and origin checked.
pub(crate) struct Posted {
    /// Who posted it.
    pub(crate) staff: Staff,
    /// The form's fields, in order.
    pub(crate) fields: Vec<(String, String)>,
}

impl Posted {
    /// The first value of field `name`, trimmed; empty when absent.
    pub(crate) fn get(&self, name: &str) -> &str {
        field(&self.fields, name)
    }

    /// Every value of field `name`.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect()
    }
}

/// The first value of field `name`, trimmed; empty when absent.
pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

/// A form body's fields, and whether the post came from this host (no
/// `Origin`, or an `Origin` naming the `Host`).
pub(crate) async fn read_form(req: Request) -> Result<(Parts, Vec<(String, String)>), Response> {
    let (parts, body) = req.into_parts();
    let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), &())
        .await
        .map_err(IntoResponse::into_response)?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    Ok((parts, fields))
}

/// True when the request carries no `Origin`, or one naming this host (the
/// `Host` header, or `X-Forwarded-Host` behind a reverse proxy that sets it).
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
    [header::HOST.as_str(), "x-forwarded-host"]
        .iter()
        .filter_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()))
        .any(|host| !host.is_empty() && origin_host.eq_ignore_ascii_case(host.trim()))
}

/// Constant-time equality of two secrets.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl FromRequest<Shared> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, console: &Shared) -> Result<Self, Response> {
        let (mut parts, fields) = read_form(req).await?;
        let staff = Staff::from_request_parts(&mut parts, console).await?;
        let csrf = field(&fields, "csrf");
        if !same_origin(&parts.headers) || !same_secret(csrf, &staff.csrf) {
            return Err(super::frame::forbidden(staff.lang));
        }
        Ok(Posted { staff, fields })
    }
}
