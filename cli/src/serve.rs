//! `tokenbroker serve`: a token sidecar for local tools (Postman, scripts) on 127.0.0.1.
//!
//! Routes: `GET /v1/token/{profile}` (optional `?scope=a&scope=b&min_ttl=SECS`) answers the
//! same JSON as `token --format json`; `GET /v1/health` answers `{"ok":true}`.
//!
//! Guards, in order:
//! 1. `Host` must be `127.0.0.1` or `localhost` (with our port, if one is named): a web page
//!    that rebinds its own DNS name to 127.0.0.1 still sends its own name (403).
//! 2. Only `GET`/`HEAD`; `OPTIONS` (CORS preflight) and everything else get 405. No CORS
//!    header is ever sent, so browsers never hand a response to a web page.
//! 3. `X-Tokenbroker-Secret` must equal the run's secret (compared in constant time):
//!    missing → 401, wrong → 403.
//!
//! HTTP/1.1 is spoken minimally: one request per connection, `Connection: close`.

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokenbroker::{Broker, ErrorKind, TokenOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::args::{Global, ServeArgs};
use crate::fail::{Fail, Result, code};
use crate::{broker, note, output};

/// The header carrying the secret.
pub const SECRET_HEADER: &str = "x-tokenbroker-secret";
/// Largest request head read.
const MAX_HEAD: usize = 16 * 1024;
/// How long a client may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections handled at once; more wait in the accept queue.
const MAX_CONNECTIONS: usize = 64;
/// Shortest secret accepted from a file.
const MIN_SECRET_LEN: usize = 16;

struct State {
    broker: Broker,
    secret: String,
    port: u16,
}

pub async fn run(global: &Global, args: ServeArgs) -> Result<u8> {
    let broker = broker(global)?;
    let (secret, generated) = match &args.secret_file {
        Some(path) => (read_secret_file(path)?, false),
        None => (random_secret(), true),
    };
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, args.port))
        .await
        .map_err(|e| Fail::usage(format!("cannot listen on 127.0.0.1:{}: {e}", args.port)))?;
    let port = listener
        .local_addr()
        .map_err(|e| Fail::other(format!("cannot read the listening address: {e}")))?
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let mut line = json!({ "url": url });
    if generated {
        line["secret"] = Value::String(secret.clone());
    } else if let Some(path) = &args.secret_file {
        line["secret_file"] = Value::String(path.display().to_string());
    }
    output::stdout_json(&line, false)?;
    if generated {
        note!(
            "tokenbroker serve: listening on {url}\n  send header X-Tokenbroker-Secret: {secret}\n  \
             (a new secret each run; use --secret-file to keep one)"
        );
    } else {
        note!("tokenbroker serve: listening on {url} (secret from the secret file)");
    }
    let state = Arc::new(State {
        broker,
        secret,
        port,
    });
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Fail::other(format!("cannot handle SIGTERM: {e}")))?;
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit.expect("semaphore never closes"),
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
        };
        let state = state.clone();
        tokio::spawn(async move {
            handle(&state, stream).await;
            tracing::trace!(%peer, "connection closed");
            drop(permit);
        });
    }
    note!("tokenbroker serve: stopped");
    Ok(code::OK)
}

/// A secret from a file: trimmed, long enough, and not readable by group or others.
fn read_secret_file(path: &Path) -> Result<String> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| Fail::usage(format!("cannot read secret file {shown}: {e}")))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(Fail::usage(format!(
            "secret file {shown} is readable by group or others; run `chmod 600` on it"
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Fail::usage(format!("cannot read secret file {shown}: {e}")))?;
    let secret = text.trim();
    if secret.len() < MIN_SECRET_LEN || secret.chars().any(|c| c.is_control()) {
        return Err(Fail::usage(format!(
            "secret file {shown} must hold one line of at least {MIN_SECRET_LEN} printable characters"
        )));
    }
    Ok(secret.to_owned())
}

/// 32 random bytes as 64 hex digits.
fn random_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal strings, in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One parsed request head.
struct Head {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A response: status, JSON body, extra headers.
struct Reply {
    status: u16,
    body: Value,
    extra: Vec<(&'static str, &'static str)>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body,
            extra: Vec::new(),
        }
    }

    fn error(status: u16, error: &str, message: impl Into<String>) -> Self {
        Self::json(status, json!({"error": error, "message": message.into()}))
    }
}

async fn handle(state: &State, mut stream: TcpStream) {
    let (reply, head_only, summary) = match read_head(&mut stream).await {
        Ok(head) => {
            let reply = respond(state, &head).await;
            let summary = format!("{} {}", head.method, path_of(&head.target));
            (reply, head.method == "HEAD", summary)
        }
        Err(reply) => (reply, false, "(unreadable request)".to_owned()),
    };
    tracing::info!(status = reply.status, "{summary}");
    write_reply(&mut stream, &reply, head_only).await;
}

/// The path of a request target, without the query (which is never logged).
fn path_of(target: &str) -> &str {
    target.split(['?', '#']).next().unwrap_or("")
}

async fn read_head(stream: &mut TcpStream) -> std::result::Result<Head, Reply> {
    let mut buf = Vec::with_capacity(1024);
    let read = async {
        let mut chunk = [0u8; 2048];
        loop {
            if let Some(end) = find_head_end(&buf) {
                buf.truncate(end);
                return Ok(());
            }
            if buf.len() > MAX_HEAD {
                return Err(Reply::error(
                    431,
                    "request_too_large",
                    "request head too large",
                ));
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => {
                    return Err(Reply::error(400, "bad_request", "incomplete request"));
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(READ_TIMEOUT, read)
        .await
        .unwrap_or_else(|_| Err(Reply::error(408, "timeout", "request not received in time")))?;
    let text = std::str::from_utf8(&buf)
        .map_err(|_| Reply::error(400, "bad_request", "request head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (first.next(), first.next(), first.next(), first.next())
    else {
        return Err(Reply::error(400, "bad_request", "malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(Reply::error(
            505,
            "http_version",
            "only HTTP/1.x is supported",
        ));
    }
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(Reply::error(400, "bad_request", "malformed header line"));
        };
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(Head {
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
    })
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Whether `host` (a Host header value) names this server on loopback.
fn host_allowed(host: &str, port: u16) -> bool {
    let (name, host_port) = match host.rsplit_once(':') {
        Some((name, p)) => match p.parse::<u16>() {
            Ok(p) => (name, Some(p)),
            Err(_) => return false,
        },
        None => (host, None),
    };
    let name_ok = name == "127.0.0.1" || name.eq_ignore_ascii_case("localhost");
    name_ok && host_port.is_none_or(|p| p == port)
}

async fn respond(state: &State, head: &Head) -> Reply {
    let hosts = head.header("host");
    let [host] = hosts.as_slice() else {
        return Reply::error(403, "forbidden_host", "exactly one Host header is required");
    };
    if !host_allowed(host, state.port) {
        return Reply::error(
            403,
            "forbidden_host",
            "Host must be 127.0.0.1 or localhost (DNS rebinding guard)",
        );
    }
    if head.method != "GET" && head.method != "HEAD" {
        let mut reply = Reply::error(405, "method_not_allowed", "only GET is supported");
        reply.extra.push(("Allow", "GET, HEAD"));
        return reply;
    }
    match head.header(SECRET_HEADER).as_slice() {
        [] => {
            return Reply::error(
                401,
                "missing_secret",
                "send the secret printed at start in the X-Tokenbroker-Secret header",
            );
        }
        [given] if constant_time_eq(given.as_bytes(), state.secret.as_bytes()) => {}
        _ => return Reply::error(403, "wrong_secret", "X-Tokenbroker-Secret does not match"),
    }
    let (path, query) = head.target.split_once('?').unwrap_or((&head.target, ""));
    match path {
        "/v1/health" => Reply::json(200, json!({"ok": true})),
        _ => match path.strip_prefix("/v1/token/") {
            Some(profile) if !profile.is_empty() && !profile.contains('/') => {
                token(state, &percent_decode(profile), query).await
            }
            _ => Reply::error(404, "not_found", "routes: /v1/health, /v1/token/{profile}"),
        },
    }
}

async fn token(state: &State, profile: &str, query: &str) -> Reply {
    if !state.broker.profile_names().iter().any(|p| p == profile) {
        return Reply::error(
            404,
            "unknown_profile",
            format!(
                "no profile '{profile}' (known: {})",
                state.broker.profile_names().join(", ")
            ),
        );
    }
    let mut options = TokenOptions::default();
    let mut scopes = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(&value.replace('+', " "));
        match key {
            "scope" => scopes.extend(value.split_whitespace().map(str::to_owned)),
            "min_ttl" => match value
                .parse::<u64>()
                .ok()
                .map(|s| tokenbroker::seconds_arg("min_ttl", s as f64))
            {
                Some(Ok(min_ttl)) => options.min_ttl = min_ttl,
                _ => {
                    return Reply::error(
                        400,
                        "bad_request",
                        "min_ttl must be whole seconds, at most 10 years",
                    );
                }
            },
            _ => {
                return Reply::error(
                    400,
                    "bad_request",
                    "query parameters: scope (repeatable), min_ttl",
                );
            }
        }
    }
    if !scopes.is_empty() {
        options.scopes = Some(scopes);
    }
    match state.broker.token(profile, &options).await {
        Ok(token) => Reply::json(200, output::token_json(&token)),
        Err(e) => {
            let status = match e.kind() {
                ErrorKind::Config => 500,
                ErrorKind::Interaction => 409,
                ErrorKind::Transport | ErrorKind::Timeout => 504,
                ErrorKind::Cache => 500,
                _ => 502,
            };
            tracing::warn!(profile, "token failed: {e}");
            Reply::error(status, e.kind().as_str(), e.to_string())
        }
    }
}

/// Decodes `%XX` escapes; invalid escapes are kept as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn write_reply(stream: &mut TcpStream, reply: &Reply, head_only: bool) {
    let body = format!("{}\n", reply.body);
    let mut text = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n",
        reply.status,
        reason(reply.status),
        body.len()
    );
    for (name, value) in &reply.extra {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    if !head_only {
        text.push_str(&body);
    }
    let _ = tokio::time::timeout(READ_TIMEOUT, async {
        let _ = stream.write_all(text.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

#[cfg(test)]
#[path = "serve_tests.rs"]
mod tests;
