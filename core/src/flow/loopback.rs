//! A one-shot loopback redirect listener (RFC 8252 §7.3) for native-app logins, on the
//! shared [`local_server`](crate::advanced::local_server).
//!
//! It receives one redirect: a `GET` with the answer in the query, or a `POST` of an
//! `application/x-www-form-urlencoded` body (`form_post`). A `GET` without a query gets a
//! small page that re-posts the URL fragment, so fragment responses work too. Nothing else
//! is served.
//!
//! Anything on the machine can connect to a loopback port, so a request is accepted only
//! when its `state` matches. A request to another path (a browser's `/favicon.ico`) gets a
//! 404 and a request with a missing or wrong `state` gets an error page; in both cases the
//! listener keeps waiting, so a stray request cannot end the login. A matching response
//! ends the wait, with the code or with the error the authorization server reported, and
//! the browser's page shows the outcome of the whole sign-in: it is answered only once the
//! code exchange (and the ID token's check) is done, or after [`OUTCOME_TIMEOUT`].

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::oneshot;
use url::Url;

use crate::error::{Error, Result};
use crate::flow::authorization::{Callback, callback_from, param};
use crate::http::is_loopback;
use crate::local_server::{Handler, Limits, LocalServer, Method, Request, Response};
use crate::untrusted_text::{printable, same};

/// Largest request head, and largest body, the listener reads.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// How long one connection may take to send its request head, and then its body.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the browser's page waits for the outcome of the code exchange.
pub const OUTCOME_TIMEOUT: Duration = Duration::from_secs(90);

/// The redirect path used when no redirect URI is configured.
pub const DEFAULT_PATH: &str = "/callback";

const LIMITS: Limits = Limits {
    max_head_bytes: MAX_REQUEST_BYTES,
    max_body_bytes: MAX_REQUEST_BYTES,
    head_timeout: READ_TIMEOUT,
    body_timeout: READ_TIMEOUT,
    connection_timeout: Duration::from_secs(OUTCOME_TIMEOUT.as_secs() + 30),
};

/// A bound loopback listener waiting for one authorization redirect.
#[derive(Debug)]
pub struct LoopbackListener {
    server: LocalServer,
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
        let server = LocalServer::bind(SocketAddr::new(ip, port), LIMITS)
            .await
            .map_err(|e| {
                Error::interaction(format!(
                    "cannot listen on {ip}:{port} for the redirect: {e}"
                ))
            })?;
        let port = server
            .local_addr()
            .map_err(|e| Error::interaction(format!("cannot read the listener's port: {e}")))?
            .port();
        Ok(Self {
            server,
            redirect_uri: format!("http://{host}:{port}{path}"),
            path,
        })
    }

    /// The redirect URI to send in the authorization request, e.g.
    /// `http://127.0.0.1:49152/callback`.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits for the redirect whose `state` is `expected_state`, for at most `timeout`, then
    /// runs `finish` (the code exchange) on it and shows its outcome in the browser: "Signed
    /// in" only when `finish` succeeded, else the (scrubbed) reason it failed.
    pub async fn complete<T, F, Fut>(
        self,
        expected_state: &str,
        timeout: Duration,
        finish: F,
    ) -> Result<T>
    where
        F: FnOnce(Callback) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let (arrived_tx, arrived_rx) = oneshot::channel();
        let handler = Arc::new(Redirects {
            path: self.path,
            state: expected_state.to_owned(),
            arrived: Mutex::new(Some(arrived_tx)),
        });
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let serving = tokio::spawn(self.server.serve(handler, async {
            let _ = stop_rx.await;
        }));
        let result = match tokio::time::timeout(timeout, arrived_rx).await {
            Err(_) => Err(Error::interaction(format!(
                "no browser redirect arrived at {} within {timeout:?}",
                self.redirect_uri
            ))),
            Ok(Err(_)) => Err(Error::interaction("the loopback listener stopped")),
            Ok(Ok(Arrived::Refused(e))) => Err(e),
            Ok(Ok(Arrived::Callback(callback, reply))) => {
                let result = finish(callback).await;
                let _ = reply.send(outcome_page(&result));
                result
            }
        };
        // Stop listening; the answer in progress (the outcome page) is still written.
        let _ = stop_tx.send(());
        let _ = serving.await;
        result
    }
}

/// What the matching redirect brought.
enum Arrived {
    /// The authorization server's error (already shown to the browser).
    Refused(Error),
    /// A code; the browser's page waits for the outcome on the sender.
    Callback(Callback, oneshot::Sender<Response>),
}

/// The listener's request handler.
struct Redirects {
    path: String,
    state: String,
    arrived: Mutex<Option<oneshot::Sender<Arrived>>>,
}

impl Handler for Redirects {
    async fn handle(&self, request: Request) -> Response {
        if request.uri.path() != self.path {
            return page(404, "Not found", "Nothing here.");
        }
        let query = request.uri.query().filter(|q| !q.is_empty());
        let pairs: Vec<(String, String)> = match (&request.method, query) {
            (&Method::GET, Some(q)) => url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect(),
            (&Method::GET, None) => return html(200, FRAGMENT_PAGE.to_owned()),
            (&Method::POST, _) => {
                let form = request
                    .headers
                    .get("content-type")
                    .and_then(|ct| ct.to_str().ok())
                    .and_then(|ct| ct.split(';').next())
                    .is_some_and(|ct| {
                        ct.trim()
                            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                    });
                if !form {
                    let why = "Expected an application/x-www-form-urlencoded body.";
                    return page(415, "Unsupported media type", why);
                }
                url::form_urlencoded::parse(&request.body)
                    .into_owned()
                    .collect()
            }
            _ => {
                let why = "Only GET and POST are accepted.";
                return page(405, "Method not allowed", why);
            }
        };
        if !param(&pairs, "state").is_some_and(|s| same(s, &self.state)) {
            tracing::info!("loopback listener ignored a redirect with a missing or wrong state");
            let why = "This response does not belong to the sign-in in progress (its state does \
                       not match). The application is still waiting; you can retry the sign-in.";
            return page(400, "Unexpected response", why);
        }
        let Some(arrived) = self.arrived.lock().take() else {
            let why = "This sign-in already received its response; see the first window.";
            return page(409, "Already received", why);
        };
        let callback = match callback_from(&pairs) {
            Ok(callback) => callback,
            Err(e) => {
                let shown = outcome_page::<()>(&Err(e.clone()));
                let _ = arrived.send(Arrived::Refused(e));
                return shown;
            }
        };
        let (reply_tx, reply_rx) = oneshot::channel();
        if arrived.send(Arrived::Callback(callback, reply_tx)).is_err() {
            return page(
                410,
                "Sign-in ended",
                "The application stopped waiting for this sign-in.",
            );
        }
        match tokio::time::timeout(OUTCOME_TIMEOUT, reply_rx).await {
            Ok(Ok(shown)) => shown,
            Ok(Err(_)) => page(
                200,
                "Sign-in interrupted",
                "The application stopped before it finished the sign-in.",
            ),
            Err(_) => page(
                200,
                "Sign-in still in progress",
                "The application is still finishing the sign-in; return to it to see the result.",
            ),
        }
    }

    fn refuse(&self, status: u16, why: &str) -> Response {
        page(status, "Bad request", why)
    }
}

/// The page for the outcome of the whole sign-in.
fn outcome_page<T>(result: &Result<T>) -> Response {
    match result {
        Ok(_) => page(
            200,
            "Signed in",
            "Sign-in complete. You can close this window and return to the application.",
        ),
        Err(e) => page(
            200,
            "Sign-in failed",
            &format!("Sign-in failed: {e}. You can close this window."),
        ),
    }
}

/// A small HTML page with `title` and `text` (escaped).
fn page(status: u16, title: &str, text: &str) -> Response {
    html(
        status,
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body style=\"font-family:sans-serif;margin:3em\"><h1>{t}</h1><p>{x}</p></body></html>\n",
            t = escape(title),
            x = escape(&printable(text, 600)),
        ),
    )
}

fn html(status: u16, body: String) -> Response {
    Response {
        status,
        content_type: "text/html; charset=utf-8",
        headers: vec![("Referrer-Policy", "no-referrer")],
        body: body.into_bytes(),
    }
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
