//! Failure records: a provider failure published by the lease holder for a short time, so
//! that waiters and later callers on this machine (file store) or fleet (Redis) fail fast
//! with the same error instead of each running its own retry cycle against the provider.
//!
//! A record holds the error's kind and its already-scrubbed parts (each cut to a bounded
//! length), an optional `retry_after`, and when it stops applying. Never a secret.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::clock::unix_ms;
use crate::error::{Error, OAuthError};
use crate::limits::MAX_FAILURE_HOLD;

/// Longest text field kept in a record.
const MAX_TEXT: usize = 1000;
/// Most provider codes kept in a record.
const MAX_CODES: usize = 16;

/// A shared provider failure (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRecord {
    kind: String,
    endpoint: String,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    after_nanos: Option<u64>,
    #[serde(default)]
    oauth: Option<OAuthPart>,
    /// The server's `Retry-After`, in seconds, when it sent one.
    #[serde(default)]
    retry_after_secs: Option<u64>,
    /// When the record stops applying, in milliseconds since the Unix epoch.
    until_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct OAuthPart {
    error: String,
    description: Option<String>,
    uri: Option<String>,
    provider_codes: Vec<i64>,
}

impl FailureRecord {
    /// A record of `error` applying from `now` for the hold its `retry_after` asks, else for
    /// `hold` (both clamped to [1 s, `MAX_FAILURE_HOLD` (30 s)]); `None` for errors that are not a
    /// provider outage (configuration, refused credentials, cache, interaction).
    pub fn from_error(
        error: &Error,
        retry_after: Option<Duration>,
        hold: Duration,
        now: SystemTime,
    ) -> Option<Self> {
        let text = |s: &str| crate::redact::truncate(s, MAX_TEXT);
        let mut record = Self {
            kind: error.kind().as_str().to_owned(),
            endpoint: String::new(),
            status: None,
            reason: String::new(),
            after_nanos: None,
            oauth: None,
            retry_after_secs: retry_after.map(|d| d.as_secs()),
            until_ms: 0,
        };
        match error {
            Error::Transport { endpoint, reason } => {
                record.endpoint = text(endpoint);
                record.reason = text(reason);
            }
            Error::Timeout { endpoint, after } => {
                record.endpoint = text(endpoint);
                record.after_nanos = Some(u64::try_from(after.as_nanos()).unwrap_or(u64::MAX));
            }
            Error::InvalidResponse {
                endpoint,
                status,
                reason,
            } if status.is_none_or(|s| s >= 500) => {
                record.endpoint = text(endpoint);
                record.status = *status;
                record.reason = text(reason);
            }
            Error::OAuth { endpoint, error } if error.status >= 500 || error.status == 429 => {
                record.endpoint = text(endpoint);
                record.status = Some(error.status);
                record.oauth = Some(OAuthPart {
                    error: text(&error.error),
                    description: error.description.as_deref().map(text),
                    uri: error.uri.as_deref().map(text),
                    provider_codes: error
                        .provider_codes
                        .iter()
                        .take(MAX_CODES)
                        .copied()
                        .collect(),
                });
            }
            Error::RateLimited {
                endpoint,
                status,
                retry_after,
            } => {
                record.endpoint = text(endpoint);
                record.status = Some(*status);
                record.retry_after_secs = Some(retry_after.as_secs());
            }
            _ => return None,
        }
        let hold = record
            .retry_after()
            .unwrap_or(hold)
            .clamp(Duration::from_secs(1), MAX_FAILURE_HOLD);
        record.until_ms = unix_ms(now + hold);
        Some(record)
    }

    /// How much longer the record applies at `now` (zero once it has lapsed). A record
    /// claiming more than `MAX_FAILURE_HOLD` (30 s) is cut to it.
    pub fn remaining(&self, now: SystemTime) -> Duration {
        let left = Duration::from_millis(self.until_ms.saturating_sub(unix_ms(now)));
        left.min(MAX_FAILURE_HOLD)
    }

    /// Whether the record still applies at `now`.
    pub fn is_active(&self, now: SystemTime) -> bool {
        !self.remaining(now).is_zero()
    }

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after_secs.map(Duration::from_secs)
    }

    /// The error the record describes, as the failing call reported it.
    pub fn to_error(&self) -> Error {
        let endpoint = self.endpoint.clone();
        match (self.kind.as_str(), &self.oauth) {
            ("oauth", Some(o)) => Error::OAuth {
                endpoint,
                error: Box::new(OAuthError {
                    error: o.error.clone(),
                    description: o.description.clone(),
                    uri: o.uri.clone(),
                    status: self.status.unwrap_or(503),
                    provider_codes: o.provider_codes.clone(),
                }),
            },
            ("rate_limited", _) => Error::RateLimited {
                endpoint,
                status: self.status.unwrap_or(429),
                retry_after: self.retry_after().unwrap_or_default(),
            },
            ("timeout", _) => Error::Timeout {
                endpoint,
                after: Duration::from_nanos(self.after_nanos.unwrap_or(0)),
            },
            ("invalid_response", _) => Error::InvalidResponse {
                endpoint,
                status: self.status,
                reason: self.reason.clone(),
            },
            _ => Error::Transport {
                endpoint,
                reason: self.reason.clone(),
            },
        }
    }

    /// The record as JSON, for a shared tier to seal.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a record a shared tier stored; `None` when it is not one.
    pub(crate) fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

#[cfg(test)]
#[path = "failure_tests.rs"]
mod tests;
