//! A small HTTP/1.1 server on a loopback address, built on hyper: the login redirect
//! listener and the CLI's token sidecar both run on it.
//!
//! Every connection is its own task (no fixed pool a few idle clients could fill) and
//! answers one request, then closes. The limits in [`Limits`] bound what a local client can
//! make it hold: the request head's size and the time to send it (enforced by hyper, which
//! answers 431 or closes), the body's size (413, checked against `Content-Length` before
//! reading) and the time to send it (408), and the whole connection's life.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

pub use hyper::http::{HeaderMap, Method, Uri};

/// How long a stopped server waits for the answers still being written.
const DRAIN: Duration = Duration::from_secs(5);

/// What one connection may use.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request head (request line and headers), at least 8 KiB.
    pub max_head_bytes: usize,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Time from connecting to the end of the request head.
    pub head_timeout: Duration,
    /// Time to receive the body once the head is in.
    pub body_timeout: Duration,
    /// Whole life of a connection, answering included.
    pub connection_timeout: Duration,
}

/// One request, its body read in full.
#[derive(Debug)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The request target.
    pub uri: Uri,
    /// The headers, repeated ones kept.
    pub headers: HeaderMap,
    /// The body (at most [`Limits::max_body_bytes`]).
    pub body: Bytes,
}

/// An answer. Every answer also carries `Cache-Control: no-store`,
/// `X-Content-Type-Options: nosniff` and `Connection: close`.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: &'static str,
    /// Other headers.
    pub headers: Vec<(&'static str, &'static str)>,
    /// The body (hyper leaves it out for `HEAD`).
    pub body: Vec<u8>,
}

/// What a server does with requests.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(&self, request: Request) -> impl Future<Output = Response> + Send;

    /// The answer for a request refused before it reached [`Handler::handle`]: `status` 413
    /// (body too large), 408 (body too slow) or 400 (body unreadable), with a short reason.
    fn refuse(&self, status: u16, why: &str) -> Response;
}

/// A bound loopback listener.
#[derive(Debug)]
pub struct LocalServer {
    listener: TcpListener,
    limits: Limits,
}

impl LocalServer {
    /// Binds `addr`, which must be a loopback address.
    pub async fn bind(addr: SocketAddr, limits: Limits) -> std::io::Result<Self> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} is not a loopback address", addr.ip()),
            ));
        }
        Ok(Self {
            listener: TcpListener::bind(addr).await?,
            limits,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `stop` completes, then lets the answers in progress finish (for a few
    /// seconds at most) and closes every other connection.
    pub async fn serve<H: Handler>(self, handler: Arc<H>, stop: impl Future<Output = ()>) {
        let graceful = GracefulShutdown::new();
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.head_timeout)
            .max_buf_size(self.limits.max_head_bytes)
            .max_header_size(self.limits.max_head_bytes)
            .keep_alive(false)
            // A client that half-closes after its request still gets the answer.
            .half_close(true)
            .title_case_headers(true);
        tokio::pin!(stop);
        loop {
            let stream = tokio::select! {
                () = &mut stop => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors, most likely: let some connections end.
                        tracing::debug!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let (handler, limits) = (handler.clone(), self.limits);
            let service = service_fn(move |request| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(answer(&*handler, limits, request).await) }
            });
            let connection =
                graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                match tokio::time::timeout(limits.connection_timeout, connection).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::debug!("connection ended: {e}"),
                    Err(_) => {
                        tracing::debug!("connection closed after {:?}", limits.connection_timeout)
                    }
                }
            });
        }
        drop(self.listener);
        if tokio::time::timeout(DRAIN, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::debug!("connections still open after {DRAIN:?} were dropped");
        }
    }
}

/// Reads the body within the limits, then asks the handler.
async fn answer<H: Handler>(
    handler: &H,
    limits: Limits,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let max = limits.max_body_bytes;
    let reply = if body.size_hint().lower() > max as u64 {
        handler.refuse(413, "The request body is too large.")
    } else {
        match tokio::time::timeout(limits.body_timeout, Limited::new(body, max).collect()).await {
            Ok(Ok(body)) => {
                let request = Request {
                    method: parts.method,
                    uri: parts.uri,
                    headers: parts.headers,
                    body: body.to_bytes(),
                };
                handler.handle(request).await
            }
            Ok(Err(e)) if e.is::<LengthLimitError>() => {
                handler.refuse(413, "The request body is too large.")
            }
            Ok(Err(_)) => handler.refuse(400, "The request body could not be read."),
            Err(_) => handler.refuse(408, "The request body took too long."),
        }
    };
    to_hyper(reply)
}

/// The hyper response; hyper itself leaves the body out for `HEAD`.
fn to_hyper(reply: Response) -> hyper::Response<Full<Bytes>> {
    let mut builder = hyper::Response::builder()
        .status(reply.status)
        .header("Content-Type", reply.content_type)
        .header("Cache-Control", "no-store")
        .header("X-Content-Type-Options", "nosniff")
        .header("Connection", "close");
    for (name, value) in reply.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(Bytes::from(reply.body)))
        .unwrap_or_else(|e| {
            tracing::warn!("cannot build a response: {e}");
            let mut fallback = hyper::Response::new(Full::new(Bytes::new()));
            *fallback.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
}

#[cfg(test)]
#[path = "local_server_tests.rs"]
mod tests;
