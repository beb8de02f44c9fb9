//! Which failures are retried, how long to wait between attempts, and `Retry-After`.

use std::time::{Duration, SystemTime};

use crate::limits;

/// Which failures may be retried for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Retry connection failures, timeouts, 429, 500, 502, 503 and 504: the request can be
    /// repeated without harm (client credentials, discovery, reads).
    Idempotent,
    /// Retry only when the request surely did not take effect (connection refused, 429, 503):
    /// for one-shot inputs such as authorization codes and rotating refresh tokens.
    OnlyUnprocessed,
}

pub(super) fn retry_wait(retry: Retry, status: u16) -> bool {
    match retry {
        Retry::Idempotent => matches!(status, 429 | 500 | 502 | 503 | 504),
        Retry::OnlyUnprocessed => matches!(status, 429 | 503),
    }
}

/// Why the last attempt calls for another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wanted {
    /// Not retryable: its outcome is the call's.
    No,
    /// Retryable after a backoff of our choosing.
    Backoff,
    /// Retryable after what the server's `Retry-After` said.
    After(Duration),
}

/// What the retry loop does after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Return the last attempt's outcome.
    Stop,
    /// Fail as rate limited: the server asked for a wait the call cannot afford.
    RateLimited(Duration),
}

/// Decides what follows attempt number `attempt` (0 for the first) given `left`, the time
/// before the call's deadline. A server's `Retry-After` longer than `max_wait` or than
/// `left` is never cut short; waits that would reach the deadline end the retries.
pub(super) fn next(
    wanted: Wanted,
    attempt: u32,
    max_retries: u32,
    max_wait: Duration,
    left: Duration,
) -> Next {
    let wait = match wanted {
        Wanted::No => return Next::Stop,
        Wanted::After(wait) if wait > max_wait || wait >= left => {
            return Next::RateLimited(wait);
        }
        Wanted::After(wait) => wait,
        Wanted::Backoff => backoff(attempt).min(max_wait),
    };
    if attempt >= max_retries || wait >= left {
        Next::Stop
    } else {
        Next::Retry(wait)
    }
}

/// Exponential backoff with full jitter: a random wait in [base/2, base] with
/// base = 200 ms × 2^attempt.
pub(super) fn backoff(attempt: u32) -> Duration {
    let base = 200u64.saturating_mul(1 << attempt.min(10));
    let jitter = rand::random_range(base / 2..=base);
    Duration::from_millis(jitter)
}

/// Parses `Retry-After` as delay-seconds or an HTTP date, in whole seconds rounded up (so a
/// caller told the seconds never comes back early) and at most [`limits::MAX_SPAN`].
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs.min(limits::MAX_SECONDS)),
        Err(_) => {
            let when = httpdate::parse_http_date(value).ok()?;
            let wait = when.duration_since(SystemTime::now()).unwrap_or_default();
            Duration::from_secs(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
        }
    };
    Some(wait.min(limits::MAX_SPAN))
}

#[cfg(test)]
#[path = "retry_tests.rs"]
mod tests;
