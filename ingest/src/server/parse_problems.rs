//! hyper's own answers to requests it cannot parse, as problem+json.
//!
//! hyper answers some requests before any service runs: a request line or
//! header it cannot parse (400), a URI over 65,534 bytes (414), more than 100
//! header fields or a head over its read buffer (431). Those answers have an
//! empty body and no content type, and hyper closes the connection after
//! them. [`ParseProblems`] wraps a connection's stream and replaces exactly
//! those answers, as hyper writes them, with the problem+json the API
//! promises for every error.
//!
//! They are recognised by their shape, which no answer of the app has: the
//! last bytes of a write are a head with status 400, 414 or 431 whose only
//! headers are `connection: close`, `content-length: 0` and `date` (every
//! answer of the app carries a `content-type`). hyper is told to write each
//! answer as one buffer (`writev(false)`), so the head is never split
//! across writes unless the socket accepted only part of a write; then the
//! plain answer goes out, as it would without this wrapper.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::ApiError;

/// A connection's stream that rewrites hyper's parse-error answers as
/// problem+json (see the module docs); everything else passes unchanged.
pub struct ParseProblems<T> {
    inner: T,
    /// A rewritten answer still to be written, and how much of it was.
    pending: Vec<u8>,
    written: usize,
}

impl<T> ParseProblems<T> {
    /// Wraps a connection's stream.
    pub fn new(inner: T) -> Self {
        ParseProblems {
            inner,
            pending: Vec::new(),
            written: 0,
        }
    }
}

impl<T: AsyncWrite + Unpin> ParseProblems<T> {
    /// Writes what is left of a rewritten answer.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        if !self.pending.is_empty() {
            self.pending = Vec::new();
            self.written = 0;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ParseProblems<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ParseProblems<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        if let Some(answer) = rewrite(buf) {
            this.pending = answer;
            // Taken whole; what the socket does not accept now goes out on
            // the next write, flush or shutdown.
            if let Poll::Ready(Err(e)) = this.drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// hyper's parse-error answers are short: a status line and three headers.
const TAIL: usize = 256;

/// `buf` with hyper's parse-error answer at its end replaced by a
/// problem+json answer; `None` when `buf` does not end with one.
fn rewrite(buf: &[u8]) -> Option<Vec<u8>> {
    if !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let from = buf.len().saturating_sub(TAIL);
    let start = from + rfind(&buf[from..], b"HTTP/1.1 ")?;
    let head = std::str::from_utf8(&buf[start..]).ok()?;
    let mut lines = head.strip_suffix("\r\n\r\n")?.split("\r\n");
    let status_line = lines.next()?;
    let error = match status_line.strip_prefix("HTTP/1.1 ")?.get(..4)? {
        "400 " => ApiError::Malformed("the request line or a header could not be parsed".into()),
        "414 " => ApiError::UriTooLong,
        "431 " => ApiError::HeadersTooLarge,
        _ => return None,
    };
    let (mut closes, mut empty, mut date) = (false, false, None);
    for line in lines {
        let (name, value) = line.split_once(':')?;
        match (name.to_ascii_lowercase().as_str(), value.trim()) {
            ("connection", "close") => closes = true,
            ("content-length", "0") => empty = true,
            ("date", d) => date = Some(d),
            _ => return None,
        }
    }
    if !(closes && empty) {
        return None;
    }
    let id = crate::auth::new_id("req");
    let body = error.problem(Some(id.clone())).to_string();
    crate::telemetry::refused(&id, &error);
    let mut out = Vec::with_capacity(start + 256 + body.len());
    out.extend_from_slice(&buf[..start]);
    out.extend_from_slice(status_line.as_bytes());
    out.extend_from_slice(b"\r\ncontent-type: application/problem+json\r\n");
    out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    out.extend_from_slice(format!("x-request-id: {id}\r\nconnection: close\r\n").as_bytes());
    if let Some(d) = date {
        out.extend_from_slice(format!("date: {d}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body.as_bytes());
    Some(out)
}

/// Where `needle` last starts in `haystack`.
fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYPER_414: &[u8] = b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-length: 0\r\ndate: Fri, 27 Nov 2026 15:04:56 GMT\r\n\r\n";

    fn split(answer: &[u8]) -> (String, serde_json::Value) {
        let text = std::str::from_utf8(answer).expect("ascii");
        let (head, body) = text.split_once("\r\n\r\n").expect("head");
        (
            head.to_owned(),
            serde_json::from_str(body).expect("json body"),
        )
    }

    #[test]
    fn hypers_parse_error_answers_become_problems() {
        for (raw, status, code) in [
            (HYPER_414.to_vec(), 414, "uri_too_long"),
            (
                b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n".to_vec(),
                431,
                "headers_too_large",
            ),
            (
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\ndate: x\r\n\r\n".to_vec(),
                400,
                "malformed_request",
            ),
        ] {
            let (head, body) = split(&rewrite(&raw).expect("rewritten"));
            assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
            assert!(head.contains("\r\ncontent-type: application/problem+json\r\n"));
            assert!(head.contains("\r\nconnection: close"));
            assert_eq!((body["status"].as_u64(), body["code"].as_str()), (Some(status), Some(code)));
            let id = body["request_id"].as_str().expect("request id");
            assert!(head.contains(&format!("\r\nx-request-id: {id}\r\n")), "{head}");
        }
    }

    #[test]
    fn an_answer_after_earlier_bytes_keeps_them() {
        let mut raw =
            b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok".to_vec();
        let earlier = raw.len();
        raw.extend_from_slice(HYPER_414);
        let out = rewrite(&raw).expect("rewritten");
        assert_eq!(out[..earlier], raw[..earlier]);
        let (head, body) = split(&out[earlier..]);
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"));
        assert_eq!(body["code"], "uri_too_long");
    }

    #[test]
    fn answers_of_the_app_pass_unchanged() {
        for raw in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-length: 2\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"{\"id\": 1}",
        ] {
            assert!(rewrite(raw).is_none(), "{}", String::from_utf8_lossy(raw));
        }
    }
}
