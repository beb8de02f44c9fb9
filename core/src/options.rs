//! What callers hand to an operation, parsed and checked once for every language: scopes as a
//! list or as one space-separated string, `min_ttl` and timeouts in seconds. The bindings and
//! the CLI convert their values into these calls and never check anything themselves, so each
//! language refuses the same values with the same message.
//!
//! Messages name an option as `api/operations.json` does (`min_ttl`, `timeout`, `scopes`).

use std::time::Duration;

use crate::broker::{DeviceLoginOptions, LoginOptions, TokenOptions, UrlCallback};
use crate::error::{Error, Result};
use crate::limits::seconds_arg;

/// Scopes as a caller wrote them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopesArg {
    /// One string of space-separated scopes, as in an OAuth `scope` parameter.
    Text(String),
    /// One scope per item.
    List(Vec<String>),
}

impl ScopesArg {
    /// The scopes, each checked to be a scope token (RFC 6749 §3.3: printable ASCII without
    /// spaces, `"` or `\`); `field` names the option in errors.
    pub fn parse(self, field: &str) -> Result<Vec<String>> {
        let scopes = match self {
            ScopesArg::Text(text) => split_scopes(&text),
            ScopesArg::List(list) => list,
        };
        for scope in &scopes {
            check_scope_token(field, scope)?;
        }
        Ok(scopes)
    }
}

/// Splits a space-separated scope string (RFC 6749 §3.3) into its scopes. Any run of
/// whitespace separates, so `"a  b\n"` is `["a", "b"]`.
pub fn split_scopes(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// Checks one scope: non-empty, `%x21 / %x23-5B / %x5D-7E` only (RFC 6749 §3.3).
fn check_scope_token(field: &str, scope: &str) -> Result<()> {
    let bad = scope
        .chars()
        .find(|c| !matches!(*c as u32, 0x21 | 0x23..=0x5b | 0x5d..=0x7e));
    match (scope.is_empty(), bad) {
        (true, _) => Err(Error::config(field, "holds an empty scope")),
        (false, Some(c)) => Err(Error::config(
            field,
            format!(
                "scope {:?} holds {c:?}, which a scope may not contain (RFC 6749 §3.3: \
                 printable ASCII without spaces, '\"' or '\\'); give several scopes as a list \
                 or one space-separated string",
                crate::redact::truncate(scope, 80)
            ),
        )),
        (false, None) => Ok(()),
    }
}

/// `min_ttl` in seconds (`None`: 0): finite, not negative, at most ten years.
pub fn min_ttl_arg(secs: Option<f64>) -> Result<Duration> {
    secs.map_or(Ok(Duration::ZERO), |s| seconds_arg("option 'min_ttl'", s))
}

/// A timeout in seconds (`None`: `default`): finite, above zero, at most ten years. `field`
/// names the option in errors.
pub fn timeout_arg(field: &str, secs: Option<f64>, default: Duration) -> Result<Duration> {
    match secs {
        None => Ok(default),
        Some(s) if s > 0.0 => seconds_arg(field, s),
        Some(_) => Err(Error::config(
            field,
            "must be a number of seconds above zero",
        )),
    }
}

impl TokenOptions {
    /// Options of one `token()` call from a caller's arguments, checked: `min_ttl` in seconds
    /// (`None`: 0), `rejected` the [`crate::AccessToken::id`] of a token the API refused.
    pub fn from_args(
        scopes: Option<ScopesArg>,
        min_ttl: Option<f64>,
        force_refresh: bool,
        rejected: Option<u64>,
    ) -> Result<Self> {
        Ok(Self {
            scopes: scopes.map(|s| s.parse("option 'scopes'")).transpose()?,
            min_ttl: min_ttl_arg(min_ttl)?,
            force_refresh,
            rejected,
        })
    }
}

impl LoginOptions {
    /// Options of `login()` from a caller's arguments, checked; `None` takes the default
    /// (open the browser, wait 300 s, the profile's scopes).
    pub fn from_args(
        open_browser: Option<bool>,
        timeout: Option<f64>,
        scopes: Option<ScopesArg>,
        on_url: Option<UrlCallback>,
    ) -> Result<Self> {
        let default = Self::default();
        Ok(Self {
            open_browser: open_browser.unwrap_or(default.open_browser),
            timeout: timeout_arg("option 'timeout'", timeout, default.timeout)?,
            scopes: scopes.map(|s| s.parse("option 'scopes'")).transpose()?,
            on_url,
        })
    }
}

impl DeviceLoginOptions {
    /// Options of `device_login()` from a caller's arguments, checked; a `None` timeout waits
    /// until the device code expires.
    pub fn from_args(scopes: Option<ScopesArg>, timeout: Option<f64>) -> Result<Self> {
        Ok(Self {
            scopes: scopes.map(|s| s.parse("option 'scopes'")).transpose()?,
            timeout: timeout
                .map(|t| timeout_arg("option 'timeout'", Some(t), Duration::ZERO))
                .transpose()?,
        })
    }
}

#[cfg(test)]
#[path = "options_tests.rs"]
mod tests;
