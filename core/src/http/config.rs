//! The `[http]` settings of a configuration (parsed and checked by `config`).

use std::path::PathBuf;

/// `[http]` settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Connect timeout in seconds.
    pub connect_timeout_secs: f64,
    /// Timeout of one attempt in seconds (connect, send and read the whole body), within
    /// [`HttpConfig::deadline_secs`].
    pub timeout_secs: f64,
    /// Overall deadline of one HTTP call, every attempt and wait between them included, in
    /// seconds.
    pub deadline_secs: f64,
    /// Retries after the first attempt, for retryable failures.
    pub max_retries: u32,
    /// Longest single wait between attempts, in seconds. A `Retry-After` longer than this (or
    /// than what is left of the deadline) fails the call at once as rate limited.
    pub max_retry_wait_secs: f64,
    /// Extra CA certificate (PEM) to trust, e.g. a corporate proxy's.
    pub ca_file: Option<PathBuf>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout_secs: 10.0,
            timeout_secs: 10.0,
            deadline_secs: 30.0,
            max_retries: 3,
            max_retry_wait_secs: 30.0,
            ca_file: None,
        }
    }
}
