//! Objects and records handed to Kotlin and Swift: tokens, cache entries, stats.

use std::fmt;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

/// A valid access token. `toString()` / `description` never show the token itself.
#[derive(uniffi::Object)]
#[uniffi::export(Display)]
pub struct AccessToken(pub(crate) tokenbroker::AccessToken);

impl fmt::Display for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[uniffi::export]
impl AccessToken {
    /// The access token value.
    pub fn token(&self) -> String {
        self.0.secret().to_owned()
    }

    /// The token type as the provider spelled it, e.g. `Bearer`.
    pub fn token_type(&self) -> String {
        self.0.token_type().to_owned()
    }

    /// Seconds since the Unix epoch at which the token expires.
    pub fn expires_at_epoch_seconds(&self) -> f64 {
        self.0.expires_at_unix()
    }

    /// Seconds left until expiry (zero once expired).
    pub fn remaining_seconds(&self) -> f64 {
        self.0.remaining().as_secs_f64()
    }

    /// The granted scopes.
    pub fn scopes(&self) -> Vec<String> {
        self.0.scopes().to_vec()
    }

    /// The `Authorization` header value: `Bearer <token>`.
    pub fn header(&self) -> String {
        self.0.header()
    }
}

pub(crate) fn token_object(token: tokenbroker::AccessToken) -> Arc<AccessToken> {
    Arc::new(AccessToken(token))
}

/// A snapshot of a broker's counters.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Stats {
    /// Calls answered from memory.
    pub hits: u64,
    /// Calls that found no usable token in memory.
    pub misses: u64,
    /// Misses answered from the shared tier without a request.
    pub shared_hits: u64,
    /// Requests made to token endpoints.
    pub fetches: u64,
    /// Refreshes started in the background before expiry.
    pub background_refreshes: u64,
    /// Callers that joined a fetch already in flight.
    pub coalesced: u64,
    /// Calls that returned an error.
    pub errors: u64,
    /// Shared-tier failures that were worked around.
    pub store_errors: u64,
    /// Shared-tier entries skipped because they do not open with this broker's cache key.
    pub undecryptable: u64,
    /// Tokens held in memory.
    pub entries: u64,
    /// Mean fetch latency in milliseconds.
    pub fetch_mean_ms: f64,
    /// Approximate median fetch latency in milliseconds.
    pub fetch_p50_ms: f64,
    /// Approximate 99th percentile fetch latency in milliseconds.
    pub fetch_p99_ms: f64,
    /// Slowest fetch in milliseconds.
    pub fetch_max_ms: f64,
}

impl From<tokenbroker::Stats> for Stats {
    fn from(s: tokenbroker::Stats) -> Self {
        // Destructured without `..`: a counter added to the core fails to compile here
        // until Kotlin and Swift get it too.
        let tokenbroker::Stats {
            hits,
            misses,
            shared_hits,
            fetches,
            background_refreshes,
            coalesced,
            errors,
            store_errors,
            undecryptable,
            entries,
            fetch_mean_ms,
            fetch_p50_ms,
            fetch_p99_ms,
            fetch_max_ms,
        } = s;
        Self {
            hits,
            misses,
            shared_hits,
            fetches,
            background_refreshes,
            coalesced,
            errors,
            store_errors,
            undecryptable,
            entries,
            fetch_mean_ms,
            fetch_p50_ms,
            fetch_p99_ms,
            fetch_max_ms,
        }
    }
}

/// An entry of the shared tier (file or Redis), without secrets.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CacheEntry {
    /// The canonical cache key text.
    pub key: String,
    /// Seconds since the Unix epoch at which the cached access token expires.
    pub expires_at_epoch_seconds: f64,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// Whether a refresh token is held.
    pub has_refresh_token: bool,
}

impl From<tokenbroker::EntryInfo> for CacheEntry {
    fn from(e: tokenbroker::EntryInfo) -> Self {
        Self {
            key: e.key,
            expires_at_epoch_seconds: e
                .expires_at
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64(),
            scopes: e.scopes,
            has_refresh_token: e.has_refresh_token,
        }
    }
}
