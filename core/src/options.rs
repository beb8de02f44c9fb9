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
use crate::scopes::ScopesArg;

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
