//! The HTTP/1.1 server: accepts connections, serves the app on each with
//! hyper, and drains on shutdown.
//!
//! Limits of the HTTP layer (hyper's, answered before any route runs):
//!
//! - a request URI longer than 65,534 bytes: `414 uri_too_long`;
//! - more than 100 header fields, or a request head (request line and
//!   headers) over about 400 KiB: `431 headers_too_large`;
//! - a request line or header that cannot be parsed: `400 malformed_request`;
//! - a request head that does not arrive in full within the read timeout
//!   (counted from when the server waits for it: also an idle keep-alive
//!   connection): the connection is closed without an answer (hyper sends
//!   none, and a client that has not finished its request would not read
//!   one); a body that does not arrive within it is a `408 request_timeout`
//!   from the app.
//!
//! hyper answers the first three itself with an empty body;
//! [`parse_problems`] turns those answers into problem+json like every other
//! error, so every status the API gives is documented.

mod parse_problems;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

pub use parse_problems::ParseProblems;

/// Serves `app` on `listener` until `shutdown` completes; then stops
/// accepting, lets in-flight requests finish and returns. A request head
/// must arrive within `read_timeout`.
pub async fn serve<F>(
    listener: TcpListener,
    app: Router,
    read_timeout: Duration,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(read_timeout)
        // One contiguous buffer per write, so that `ParseProblems` sees
        // hyper's own error answers whole.
        .writev(false);
    let (stop, _) = watch::channel(());
    let (open, mut all_closed) = mpsc::channel::<()>(1);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, then go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = hyper::service::service_fn(app_service(app.clone(), peer));
        let conn = http.serve_connection(TokioIo::new(ParseProblems::new(tcp)), service);
        let mut stopping = stop.subscribe();
        let open = open.clone();
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => log_end(result),
                _ = stopping.changed() => {
                    conn.as_mut().graceful_shutdown();
                    log_end(conn.await);
                }
            }
            drop(open);
        });
    }
    drop(listener);
    let _ = stop.send(());
    drop(open);
    let _ = all_closed.recv().await;
    Ok(())
}

/// The per-request service of one connection: the app, with the peer's
/// address as [`ConnectInfo`] (what the IP allow-lists check).
fn app_service(
    app: Router,
    peer: SocketAddr,
) -> impl Fn(hyper::Request<Incoming>) -> tower::util::Oneshot<Router, axum::extract::Request> + Clone
{
    move |req| {
        let mut req = req.map(axum::body::Body::new);
        req.extensions_mut().insert(ConnectInfo(peer));
        tower::ServiceExt::oneshot(app.clone(), req)
    }
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
