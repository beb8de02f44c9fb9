//! Endpoint URLs: https except on loopback, no credentials, and the safe name used in
//! messages.

use std::net::IpAddr;

use url::Url;

/// Checks that `text` is an absolute http(s) URL and that plain http is used only for
/// loopback hosts. Returns the parsed URL or what is wrong with it.
pub fn check_endpoint(text: &str) -> std::result::Result<Url, String> {
    // Text holding '@' may carry credentials: never quoted back.
    let shown = if text.contains('@') { "the URL" } else { text };
    let url = Url::parse(text).map_err(|e| format!("'{shown}' is not a URL: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not contain a user name or password; give credentials as \
                    client_id / client_secret"
                .into(),
        );
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(format!(
            "'{text}' must use https (plain http is allowed only for 127.0.0.1, [::1] and localhost)"
        )),
        other => Err(format!("'{text}' has unsupported scheme '{other}'")),
    }
}

/// Whether the URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The URL without query and fragment, for messages and logs.
pub fn endpoint_name(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_password(None);
    let _ = u.set_username("");
    u.to_string()
}

#[cfg(test)]
#[path = "endpoint_tests.rs"]
mod tests;
