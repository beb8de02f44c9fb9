//! How an HTTP client adapter (Python `requests`/`httpx`, Node `fetch`/axios, an app's own
//! client) sends a broker's token: the rules live here once, and each adapter only wires them
//! into its client's hooks.
//!
//! - The token goes only to the origin (RFC 6454: scheme, host, port) of the request the
//!   caller made: every redirect hop elsewhere loses the `Authorization` header.
//! - A 401 says the token was refused only when it answered a request that carried the token
//!   to that origin. Then, once per request, the adapter asks the broker for a token with
//!   [`crate::TokenOptions::rejected`] set (the broker fetches once for every caller refused
//!   the same token) and sends the request again.

use url::Url;

/// Whether a token sent for `request_url` may also go to `url` (a redirect hop, or the URL
/// that answered): only when both are absolute `http`/`https` URLs of the same origin.
pub fn keeps_token(request_url: &str, url: &str) -> bool {
    match (origin(request_url), origin(url)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// What an adapter knows when a response arrives.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    /// The response's HTTP status.
    pub status: u16,
    /// The URL of the request the caller made.
    pub request_url: &'a str,
    /// The URL that answered (the last hop of a redirect chain).
    pub answered_url: &'a str,
    /// Whether the answered request carried the token the adapter set.
    pub carried_token: bool,
    /// Whether the adapter already sent this request again after a 401.
    pub retried: bool,
}

impl Answer<'_> {
    /// Whether the adapter should get a token with `rejected` set and send the request once
    /// more: a 401 from the caller's origin to a request that carried the token, not retried.
    pub fn retry_with_new_token(&self) -> bool {
        self.status == 401
            && !self.retried
            && self.carried_token
            && keeps_token(self.request_url, self.answered_url)
    }
}

/// The origin of an absolute `http`/`https` URL (default ports filled in), or `None`.
fn origin(url: &str) -> Option<url::Origin> {
    let parsed = Url::parse(url).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| parsed.origin())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_stays_on_its_origin() {
        let req = "https://api.example.com/v1/items?x=1";
        assert!(keeps_token(req, "https://API.example.com:443/other"));
        for other in [
            "http://api.example.com/v1/items",
            "https://api.example.com:8443/v1",
            "https://evil.example.com/v1",
            "https://api.example.com.evil.example/",
            "/relative",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(!keeps_token(req, other), "{other}");
        }
        assert!(!keeps_token("data:text/plain,x", "data:text/plain,x"));
    }

    #[test]
    fn only_a_first_401_to_our_token_at_our_origin_retries() {
        let ok = Answer {
            status: 401,
            request_url: "https://api.example.com/a",
            answered_url: "https://api.example.com/b",
            carried_token: true,
            retried: false,
        };
        assert!(ok.retry_with_new_token());
        for not in [
            Answer { status: 403, ..ok },
            Answer {
                retried: true,
                ..ok
            },
            Answer {
                carried_token: false,
                ..ok
            },
            Answer {
                answered_url: "https://login.example.com/",
                ..ok
            },
        ] {
            assert!(!not.retry_with_new_token(), "{not:?}");
        }
    }
}
