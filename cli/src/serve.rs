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
//! The HTTP side is the core's [`local_server`](tokenbroker::advanced::local_server): one request
//! per connection (`Connection: close`), each connection its own task, with limits on the head (16
//! KiB, 10 s), the body (4 KiB, 10 s) and the connection's life (2 min).
//!
//! With `--secret-file`, the file is read again for every request, so `serve --rotate-secret`
//! (a new random secret in the file) applies to a running sidecar at once.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokenbroker::advanced::local_server::{
    Handler, Limits, LocalServer, Method, Request, Response,
};
use tokenbroker::{Broker, ErrorKind, TokenOptions};

use crate::args::{Global, ServeArgs};
use crate::fail::{Fail, Result, code};
use crate::{broker, note, output};

#[path = "serve_secret.rs"]
mod secret;

use secret::{SecretSource, constant_time_eq, read_secret_file};

/// The header carrying the secret.
pub const SECRET_HEADER: &str = "x-tokenbroker-secret";

const LIMITS: Limits = Limits {
    max_head_bytes: 16 * 1024,
    max_body_bytes: 4 * 1024,
    head_timeout: Duration::from_secs(10),
    body_timeout: Duration::from_secs(10),
    connection_timeout: Duration::from_secs(120),
};

/// The sidecar's request handler.
struct Sidecar {
    broker: Broker,
    secret: SecretSource,
    port: u16,
}

pub async fn run(global: &Global, args: ServeArgs) -> Result<u8> {
    if args.rotate_secret {
        let path = args
            .secret_file
            .as_deref()
            .ok_or_else(|| Fail::usage("--rotate-secret needs --secret-file FILE"))?;
        secret::rotate(path)?;
        output::stdout_json(
            &json!({"secret_file": path.display().to_string(), "rotated": true}),
            false,
        )?;
        note!(
            "tokenbroker serve: a new secret is in {} (a running sidecar uses it from its next \
             request; paste it into Postman's tokenbroker_secret)",
            path.display()
        );
        return Ok(code::OK);
    }
    let broker = broker(global)?;
    let secret = match &args.secret_file {
        Some(path) => {
            read_secret_file(path)?;
            SecretSource::File(path.clone())
        }
        None => SecretSource::Run(secret::random_secret()),
    };
    let server = LocalServer::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)), LIMITS)
        .await
        .map_err(|e| Fail::usage(format!("cannot listen on 127.0.0.1:{}: {e}", args.port)))?;
    let port = server
        .local_addr()
        .map_err(|e| Fail::other(format!("cannot read the listening address: {e}")))?
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let mut line = json!({ "url": url });
    match &secret {
        SecretSource::Run(value) => line["secret"] = Value::String(value.clone()),
        SecretSource::File(path) => {
            line["secret_file"] = Value::String(path.display().to_string());
        }
    }
    output::stdout_json(&line, false)?;
    match &secret {
        SecretSource::Run(_) => note!(
            "tokenbroker serve: listening on {url}\n  send header X-Tokenbroker-Secret with the \
             secret printed on stdout\n  (a new secret each run; use --secret-file to keep one)"
        ),
        SecretSource::File(_) => {
            note!("tokenbroker serve: listening on {url} (secret from the secret file)")
        }
    }
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Fail::other(format!("cannot handle SIGTERM: {e}")))?;
    let stop = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    };
    let sidecar = Arc::new(Sidecar {
        broker,
        secret,
        port,
    });
    server.serve(sidecar, stop).await;
    note!("tokenbroker serve: stopped");
    Ok(code::OK)
}

fn json_reply(status: u16, body: &Value) -> Response {
    Response {
        status,
        content_type: "application/json",
        headers: Vec::new(),
        body: format!("{body}\n").into_bytes(),
    }
}

fn error_reply(status: u16, error: &str, message: impl Into<String>) -> Response {
    json_reply(status, &json!({"error": error, "message": message.into()}))
}

impl Handler for Sidecar {
    async fn handle(&self, request: Request) -> Response {
        let reply = self.respond(&request).await;
        tracing::info!(
            status = reply.status,
            "{} {}",
            request.method,
            request.uri.path()
        );
        reply
    }

    fn refuse(&self, status: u16, why: &str) -> Response {
        tracing::info!(status, "(refused request)");
        error_reply(status, "bad_request", why)
    }
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

impl Sidecar {
    async fn respond(&self, request: &Request) -> Response {
        let hosts: Vec<&str> = request
            .headers
            .get_all("host")
            .iter()
            .map(|h| h.to_str().unwrap_or(""))
            .collect();
        let [host] = hosts.as_slice() else {
            return error_reply(403, "forbidden_host", "exactly one Host header is required");
        };
        // An absolute-form target names a host too: it must pass the same check.
        let target_host = request.uri.authority().map(|a| a.as_str());
        if !host_allowed(host, self.port)
            || target_host.is_some_and(|h| !host_allowed(h, self.port))
        {
            return error_reply(
                403,
                "forbidden_host",
                "Host must be 127.0.0.1 or localhost (DNS rebinding guard)",
            );
        }
        if request.method != Method::GET && request.method != Method::HEAD {
            let mut reply = error_reply(405, "method_not_allowed", "only GET is supported");
            reply.headers.push(("Allow", "GET, HEAD"));
            return reply;
        }
        let expected = match self.secret.current() {
            Ok(secret) => secret,
            Err(why) => {
                tracing::warn!("{why}");
                return error_reply(500, "config", why);
            }
        };
        let given: Vec<&[u8]> = request
            .headers
            .get_all(SECRET_HEADER)
            .iter()
            .map(|v| v.as_bytes())
            .collect();
        match given.as_slice() {
            [] => {
                return error_reply(
                    401,
                    "missing_secret",
                    "send the sidecar's secret in the X-Tokenbroker-Secret header",
                );
            }
            [given] if constant_time_eq(given, expected.as_bytes()) => {}
            _ => return error_reply(403, "wrong_secret", "X-Tokenbroker-Secret does not match"),
        }
        let path = request.uri.path();
        let query = request.uri.query().unwrap_or("");
        match path {
            "/v1/health" => json_reply(200, &json!({"ok": true})),
            _ => match path.strip_prefix("/v1/token/") {
                Some(profile) if !profile.is_empty() && !profile.contains('/') => {
                    token(&self.broker, &percent_decode(profile), query).await
                }
                _ => error_reply(404, "not_found", "routes: /v1/health, /v1/token/{profile}"),
            },
        }
    }
}

async fn token(broker: &Broker, profile: &str, query: &str) -> Response {
    let known = broker.profile_names();
    if !known.iter().any(|p| p == profile)
        && !broker.config().broken().any(|(name, _)| name == profile)
    {
        return error_reply(
            404,
            "unknown_profile",
            format!("no profile '{profile}' (known: {})", known.join(", ")),
        );
    }
    let options = match token_options(query) {
        Ok(options) => options,
        Err(message) => return error_reply(400, "bad_request", message),
    };
    match broker.token(profile, &options).await {
        Ok(token) => json_reply(200, &output::token_json(&token)),
        Err(e) => {
            let status = match e.kind() {
                ErrorKind::Config => 500,
                ErrorKind::Interaction => 409,
                ErrorKind::Transport | ErrorKind::Timeout => 504,
                ErrorKind::Cache => 500,
                ErrorKind::RateLimited => 429,
                _ => 502,
            };
            tracing::warn!(profile, "token failed: {e}");
            let mut body = json!({"error": e.kind().as_str(), "message": e.to_string()});
            if let Some(wait) = e.retry_after() {
                body["retry_after"] = json!(wait.as_secs());
            }
            json_reply(status, &body)
        }
    }
}

/// The options of `/v1/token/{profile}?scope=…&min_ttl=…` (`scope` repeatable, each one or
/// more space-separated scopes), parsed and checked by the core as every binding's are.
fn token_options(query: &str) -> Result<TokenOptions, String> {
    let mut scopes: Option<String> = None;
    let mut min_ttl = None;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "scope" => {
                let text = scopes.get_or_insert_with(String::new);
                text.push(' ');
                text.push_str(&value);
            }
            "min_ttl" => {
                let secs = value.parse::<f64>().map_err(|_| {
                    "min_ttl must be a number of seconds, at most 10 years".to_owned()
                })?;
                min_ttl = Some(secs);
            }
            _ => return Err("query parameters: scope (repeatable), min_ttl".to_owned()),
        }
    }
    let scopes = scopes
        .filter(|text| !text.trim().is_empty())
        .map(tokenbroker::ScopesArg::Text);
    TokenOptions::from_args(scopes, min_ttl, false, None).map_err(|e| e.to_string())
}

/// Decodes `%XX` escapes of a path segment (`+` stays a plus); invalid escapes are kept.
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
#[path = "serve_tests.rs"]
mod tests;
