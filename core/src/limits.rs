//! Bounds on every number that becomes a span of time, a count or a file read.
//!
//! Numbers arrive from providers (`expires_in`, `expires_on`, `refresh_in`, device `interval`),
//! config files (`timeout`, `default_ttl`, `max_entries`, …) and callers (`min_ttl`, login
//! timeouts). Each is checked where it enters, so no later arithmetic on a `Duration` or a
//! `SystemTime` can overflow: a span is at most [`MAX_SECONDS`] (ten years).

use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};

/// Longest span of time accepted anywhere, in seconds: ten years of 365 days. Longer token
/// lifetimes are refused as invalid responses; longer caller and config values as config
/// errors; entries read back from a shared cache are clamped to it.
pub const MAX_SECONDS: u64 = 10 * 365 * 86_400;

/// [`MAX_SECONDS`] as a duration.
pub const MAX_SPAN: Duration = Duration::from_secs(MAX_SECONDS);

/// How long a failure is shared when the server gave no `Retry-After`: one backoff interval.
pub const DEFAULT_FAILURE_HOLD: Duration = Duration::from_secs(5);
/// The longest a failure is ever shared, whatever `Retry-After` said.
pub const MAX_FAILURE_HOLD: Duration = Duration::from_secs(30);

/// Turns seconds given by a caller or a config file into a duration: a config error naming
/// `field` unless `secs` is finite, not negative and at most [`MAX_SECONDS`].
///
/// Bindings, the CLI and the sidecar call this instead of `Duration::from_secs_f64`.
pub fn seconds_arg(field: &str, secs: f64) -> Result<Duration> {
    span(secs).ok_or_else(|| Error::config(field, out_of_range()))
}

/// Checks a duration a Rust caller built directly (e.g. `TokenOptions::min_ttl`).
pub(crate) fn duration_arg(field: &str, value: Duration) -> Result<Duration> {
    if value <= MAX_SPAN {
        Ok(value)
    } else {
        Err(Error::config(field, out_of_range()))
    }
}

/// `secs` as a duration when it is a span this crate accepts.
pub(crate) fn span(secs: f64) -> Option<Duration> {
    (secs.is_finite() && (0.0..=MAX_SECONDS as f64).contains(&secs))
        .then(|| Duration::from_secs_f64(secs))
}

/// `at`, but never later than [`MAX_SPAN`] after `now`.
pub(crate) fn clamp_instant(at: SystemTime, now: SystemTime) -> SystemTime {
    match now.checked_add(MAX_SPAN) {
        Some(latest) if at > latest => latest,
        _ => at,
    }
}

/// A whole number in `range` given by a config file, or `None` when it is not one.
pub(crate) fn count(value: f64, range: std::ops::RangeInclusive<u64>) -> Option<u64> {
    (value.is_finite() && value.fract() == 0.0 && value >= 0.0 && value <= *range.end() as f64)
        .then_some(value as u64)
        .filter(|n| range.contains(n))
}

/// What a config error says about seconds that fail [`seconds_arg`].
pub(crate) fn out_of_range() -> String {
    format!("must be a number of seconds from 0 to {MAX_SECONDS} (10 years)")
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
