//! A one-shot loopback redirect listener (RFC 8252 §7.3) for native-app logins.
//!
//! It speaks just enough HTTP/1.1 to receive one redirect: a `GET` with the answer in the
//! query, or a `POST` of an `application/x-www-form-urlencoded` body (`form_post`). A `GET`
//! without a query gets a small page that re-posts the URL fragment, so fragment responses
//! work too. Every connection is answered and closed; nothing else is served.
//!
//! Anything on the machine can connect to a loopback port, so a request is accepted only
//! when its `state` matches. A request to another path (a browser's `/favicon.ico`) gets a
//! 404 and a request with a missing or wrong `state` gets an error page; in both cases the
//! listener keeps waiting, so a stray request cannot end the login. A matching response
//! ends the wait, with the code or with the error the authorization server reported.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use url::Url;

use crate::error::{Error, Result};
use crate::flow::authorization::{Callback, callback_from, param, printable, same};
use crate::http::is_loopback;

/// Largest request (head and body) the listener reads.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// How long one connection may take to send its request.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections handled at the same time; more wait in the accept queue.
const MAX_CONNECTIONS: usize = 16;

/// The redirect path used when no redirect URI is configured.
pub const DEFAULT_PATH: &str = "/callback";

/// A bound loopback listener waiting for one authorization redirect.
#[derive(Debug)]
pub struct LoopbackListener {
    listener: TcpListener,
    redirect_uri: String,
    path: String,
}

impl LoopbackListener {
    /// Binds the listener.
    ///
    /// Without `redirect_uri`, binds `127.0.0.1` on an ephemeral port with path `/callback`.
    /// With one, it must be an `http` loopback URL (`127.0.0.1`, `[::1]` or `localhost`,
    /// which binds `127.0.0.1`): its port is used when it names one (else an ephemeral port,
    /// as RFC 8252 §7.3 lets the server accept any port) and its path always.
    pub async fn bind(redirect_uri: Option<&str>) -> Result<Self> {
        let location = "redirect_uri";
        let (ip, host, port, path) = match redirect_uri {
            None => (
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                "127.0.0.1".to_owned(),
                0,
                DEFAULT_PATH.to_owned(),
            ),
            Some(text) => {
                let url = Url::parse(text)
                    .map_err(|e| Error::config(location, format!("'{text}' is not a URL: {e}")))?;
                if url.scheme() != "http" || !is_loopback(&url) {
                    return Err(Error::config(
                        location,
                        format!(
                            "'{text}' is not an http loopback URL (http://127.0.0.1:PORT/PATH), \
                             so no local listener can receive it; deliver the redirect with \
                             parse_callback_url or parse_form_post instead"
                        ),
                    ));
                }
                let ip = match url.host() {
                    Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
                    Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
                    _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
                };
                let host = url.host_str().unwrap_or("127.0.0.1").to_owned();
                (ip, host, url.port().unwrap_or(0), url.path().to_owned())
            }
        };
        let listener = TcpListener::bind(SocketAddr::new(ip, port))
            .await
            .map_err(|e| {
                Error::interaction(format!(
                    "cannot listen on {ip}:{port} for the redirect: {e}"
                ))
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::interaction(format!("cannot read the listener's port: {e}")))?
            .port();
        Ok(Self {
            listener,
            redirect_uri: format!("http://{host}:{port}{path}"),
            path,
        })
    }

    /// The redirect URI to send in the authorization request, e.g.
    /// `http://127.0.0.1:49152/callback`.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits for the redirect whose `state` is `expected_state`, answering the browser with
    /// a short page, for at most `timeout`.
    pub async fn wait(self, expected_state: &str, timeout: Duration) -> Result<Callback> {
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut connections: JoinSet<Option<Result<Callback>>> = JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut deadline => {
                    return Err(Error::interaction(format!(
                        "no browser redirect arrived at {} within {timeout:?}",
                        self.redirect_uri
                    )));
                }
                accepted = self.listener.accept(), if connections.len() < MAX_CONNECTIONS => {
                    match accepted {
                        Ok((stream, _)) => {
                            let path = self.path.clone();
                            let state = expected_state.to_owned();
                            connections.spawn(async move { serve(stream, &path, &state).await });
                        }
                        Err(e) => tracing::debug!("loopback accept failed: {e}"),
                    }
                }
                Some(done) = connections.join_next(), if !connections.is_empty() => {
                    if let Ok(Some(outcome)) = done {
                        return outcome;
                    }
                }
            }
        }
    }
}

/// One parsed request.
struct HttpRequest {
    method: String,
    target: String,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// Answers one connection. Returns the outcome when the request carried the expected state.
async fn serve(
    mut stream: TcpStream,
    path: &str,
    expected_state: &str,
) -> Option<Result<Callback>> {
    let request = match tokio::time::timeout(READ_TIMEOUT, read_request(&mut stream)).await {
        Ok(Ok(request)) => request,
        Ok(Err((status, why))) => {
            respond(&mut stream, status, "Bad request", why).await;
            return None;
        }
        Err(_) => {
            respond(
                &mut stream,
                408,
                "Request timeout",
                "The request took too long.",
            )
            .await;
            return None;
        }
    };
    let (req_path, query) = match request.target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (request.target.as_str(), None),
    };
    if req_path != path {
        respond(&mut stream, 404, "Not found", "Nothing here.").await;
        return None;
    }
    let pairs: Vec<(String, String)> = match (request.method.as_str(), query) {
        ("GET", Some(q)) if !q.is_empty() => url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect(),
        ("GET", _) => {
            send(&mut stream, 200, FRAGMENT_PAGE).await;
            return None;
        }
        ("POST", _) => {
            let form = request
                .content_type
                .as_deref()
                .and_then(|ct| ct.split(';').next())
                .is_some_and(|ct| {
                    ct.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                });
            if !form {
                let why = "Expected an application/x-www-form-urlencoded body.";
                respond(&mut stream, 415, "Unsupported media type", why).await;
                return None;
            }
            url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect()
        }
        _ => {
            respond(
                &mut stream,
                405,
                "Method not allowed",
                "Only GET and POST are accepted.",
            )
            .await;
            return None;
        }
    };
    if !param(&pairs, "state").is_some_and(|s| same(s, expected_state)) {
        tracing::info!("loopback listener ignored a redirect with a missing or wrong state");
        let why = "This response does not belong to the sign-in in progress (its state does \
                   not match). The application is still waiting; you can retry the sign-in.";
        respond(&mut stream, 400, "Unexpected response", why).await;
        return None;
    }
    let outcome = callback_from(&pairs);
    match &outcome {
        Ok(_) => {
            let text = "Sign-in complete. You can close this window and return to the application.";
            respond(&mut stream, 200, "Signed in", text).await;
        }
        Err(e) => {
            let text = format!("Sign-in failed: {e}. You can close this window.");
            respond(&mut stream, 200, "Sign-in failed", &text).await;
        }
    }
    Some(outcome)
}

/// Reads one request head and body, refusing anything over [`MAX_REQUEST_BYTES`].
async fn read_request(
    stream: &mut TcpStream,
) -> std::result::Result<HttpRequest, (u16, &'static str)> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() >= MAX_REQUEST_BYTES {
            return Err((431, "The request is too large."));
        }
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|_| (400, "The request could not be read."))?;
        if n == 0 {
            return Err((400, "The request ended early."));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| (400, "The request head is not text."))?;
    let mut lines = head.split("\r\n");
    let mut start = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(version)) = (start.next(), start.next(), start.next())
    else {
        return Err((400, "The request line is malformed."));
    };
    if !version.starts_with("HTTP/1.") {
        return Err((505, "Only HTTP/1.x is supported."));
    }
    let mut content_length = 0usize;
    let mut content_type = None;
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err((400, "A header line is malformed."));
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                content_length = value
                    .parse()
                    .map_err(|_| (400, "Content-Length is not a number."))?;
            }
            "content-type" => content_type = Some(value.to_owned()),
            "transfer-encoding" => return Err((411, "Chunked bodies are not supported.")),
            _ => {}
        }
    }
    if head_end + content_length > MAX_REQUEST_BYTES {
        return Err((413, "The request body is too large."));
    }
    let mut body = buf[head_end..].to_vec();
    while body.len() < content_length {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|_| (400, "The body could not be read."))?;
        if n == 0 {
            return Err((400, "The body ended early."));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(content_length);
    Ok(HttpRequest {
        method: method.to_owned(),
        target: target.to_owned(),
        content_type,
        body,
    })
}

/// Sends a small HTML page with `title` and `text` (escaped).
async fn respond(stream: &mut TcpStream, status: u16, title: &str, text: &str) {
    let page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{t}</h1><p>{x}</p></body></html>\n",
        t = escape(title),
        x = escape(&printable(text, 600)),
    );
    send(stream, status, &page).await;
}

async fn send(stream: &mut TcpStream, status: u16, page: &str) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        505 => "HTTP Version Not Supported",
        _ => "Bad Request",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
         X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        page.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(page.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// A page that posts the URL fragment (a `response_mode=fragment` answer) back as a form to
/// the same path.
const FRAGMENT_PAGE: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
<title>Signing in…</title></head><body><p>Completing sign-in…</p><script>\n\
var f = new URLSearchParams(location.hash.slice(1));\n\
if (f.has('state')) { var form = document.createElement('form'); form.method = 'POST';\n\
form.action = location.pathname; f.forEach(function (v, k) {\n\
var i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v;\n\
form.appendChild(i); }); document.body.appendChild(form); form.submit(); }\n\
else { document.body.textContent = 'No sign-in response in this address.'; }\n\
</script></body></html>\n";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
