//! One error model for every flow, every store and every binding.

use std::fmt;
use std::time::Duration;

/// Longest `location` of a config error, in characters.
const MAX_CONFIG_LOCATION: usize = 300;
/// Longest `reason` of a config error, in characters.
const MAX_CONFIG_REASON: usize = 1000;

/// The stable, machine-readable category of an [`Error`].
///
/// Bindings map each kind one to one (a Python exception subclass, a Node `code`, a Kotlin and
/// Swift sealed case), so the set only ever grows: it is `#[non_exhaustive]`, and each binding
/// builds its table from [`ErrorKind::ALL`] and tests that every kind has its class or code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configuration or a call's arguments are wrong; nothing was sent.
    Config,
    /// The provider could not be reached (DNS, TCP, TLS, connection reset).
    Transport,
    /// The provider did not answer in time.
    Timeout,
    /// The provider answered with an OAuth error (RFC 6749 §5.2).
    OAuth,
    /// The provider answered with something that is not a usable response.
    InvalidResponse,
    /// The token cache or secret store failed.
    Cache,
    /// Client registration or management failed.
    Registration,
    /// An interactive step failed: the browser redirect, `state` mismatch, the user denied or
    /// the device code expired.
    Interaction,
    /// The provider asked to be called again later (`Retry-After`) than the call's deadline
    /// or the longest retry wait allows; [`Error::retry_after`] says when.
    RateLimited,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::Config,
        ErrorKind::Transport,
        ErrorKind::Timeout,
        ErrorKind::OAuth,
        ErrorKind::InvalidResponse,
        ErrorKind::Cache,
        ErrorKind::Registration,
        ErrorKind::Interaction,
        ErrorKind::RateLimited,
    ];

    /// The kind's stable snake_case name (`"oauth"`, `"invalid_response"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::Transport => "transport",
            ErrorKind::Timeout => "timeout",
            ErrorKind::OAuth => "oauth",
            ErrorKind::InvalidResponse => "invalid_response",
            ErrorKind::Cache => "cache",
            ErrorKind::Registration => "registration",
            ErrorKind::Interaction => "interaction",
            ErrorKind::RateLimited => "rate_limited",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth error response (RFC 6749 §5.2), with provider extensions such as Azure's
/// `AADSTS…` codes kept in `description` and `provider_codes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The `error` code, e.g. `invalid_client`.
    pub error: String,
    /// The `error_description`, scrubbed of any secret the request carried.
    pub description: Option<String>,
    /// The `error_uri`.
    pub uri: Option<String>,
    /// The HTTP status of the response.
    pub status: u16,
    /// Provider-specific error codes (`error_codes` in Azure AD responses).
    pub provider_codes: Vec<i64>,
}

/// Every failure tokenbroker reports. Messages never contain a secret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Bad configuration or arguments: `location` names the profile and key.
    #[error("config error in {location}: {reason}")]
    Config {
        /// Where: `profile 'aos', key 'enrollment'`, or a file path.
        location: String,
        /// What was wrong.
        reason: String,
    },
    /// The endpoint could not be reached.
    #[error("could not reach {endpoint}: {reason}")]
    Transport {
        /// The URL (without query) that was called.
        endpoint: String,
        /// What failed, without secrets.
        reason: String,
    },
    /// The endpoint did not answer in time.
    #[error("{endpoint} did not answer within {after:?}")]
    Timeout {
        /// The URL that was called.
        endpoint: String,
        /// How long we waited.
        after: Duration,
    },
    /// The provider refused the request with an OAuth error.
    #[error("{endpoint} refused the request (HTTP {}): {}{}", .error.status, .error.error,
        .error.description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    OAuth {
        /// The token or authorization endpoint.
        endpoint: String,
        /// The parsed error response.
        error: Box<OAuthError>,
    },
    /// The provider's answer was unusable (not JSON, empty, too big, missing fields).
    #[error("invalid response from {endpoint}{}: {reason}", .status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    InvalidResponse {
        /// The URL that answered.
        endpoint: String,
        /// The HTTP status, when there was one.
        status: Option<u16>,
        /// What was wrong, with a short scrubbed excerpt of the body.
        reason: String,
    },
    /// The cache or secret store failed.
    #[error("cache error: {reason}")]
    Cache {
        /// What failed.
        reason: String,
    },
    /// Client registration or management failed.
    #[error("registration error at {endpoint}{}: {reason}", .status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Registration {
        /// The registration or management URL.
        endpoint: String,
        /// The HTTP status, when the server answered.
        status: Option<u16>,
        /// What failed.
        reason: String,
    },
    /// An interactive step failed.
    #[error("interaction failed: {reason}")]
    Interaction {
        /// What failed.
        reason: String,
    },
    /// The provider answered 429 or 503 with a `Retry-After` beyond what the call may wait.
    #[error("{endpoint} is rate limiting (HTTP {status}): retry after {} s", .retry_after.as_secs())]
    RateLimited {
        /// The URL that answered.
        endpoint: String,
        /// The HTTP status (429 or 503).
        status: u16,
        /// How long the server asked to wait before the next request.
        retry_after: Duration,
    },
}

impl Error {
    /// The stable category of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config { .. } => ErrorKind::Config,
            Error::Transport { .. } => ErrorKind::Transport,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::OAuth { .. } => ErrorKind::OAuth,
            Error::InvalidResponse { .. } => ErrorKind::InvalidResponse,
            Error::Cache { .. } => ErrorKind::Cache,
            Error::Registration { .. } => ErrorKind::Registration,
            Error::Interaction { .. } => ErrorKind::Interaction,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
        }
    }

    /// The OAuth error details when this is an [`Error::OAuth`].
    pub fn oauth(&self) -> Option<&OAuthError> {
        match self {
            Error::OAuth { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The HTTP status the server answered with, where there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::OAuth { error, .. } => Some(error.status),
            Error::InvalidResponse { status, .. } | Error::Registration { status, .. } => *status,
            Error::RateLimited { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How long the server asked to wait (`Retry-After`) when this is a rate limit.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// Shorthand for a config error. Both parts may quote what the caller gave (a key name,
    /// a TOML line), so each is cut to a bounded length.
    pub fn config(location: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config {
            location: crate::redact::truncate(&location.into(), MAX_CONFIG_LOCATION),
            reason: crate::redact::truncate(&reason.into(), MAX_CONFIG_REASON),
        }
    }

    /// Shorthand for a cache error.
    pub fn cache(reason: impl Into<String>) -> Self {
        Error::Cache {
            reason: reason.into(),
        }
    }

    /// Shorthand for an interaction error.
    pub fn interaction(reason: impl Into<String>) -> Self {
        Error::Interaction {
            reason: reason.into(),
        }
    }
}

/// The result type of every fallible tokenbroker call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_message_names_code_and_description() {
        let err = Error::OAuth {
            endpoint: "http://127.0.0.1/token".into(),
            error: Box::new(OAuthError {
                error: "invalid_client".into(),
                description: Some("unknown client".into()),
                uri: None,
                status: 401,
                provider_codes: vec![],
            }),
        };
        assert_eq!(err.kind(), ErrorKind::OAuth);
        assert_eq!(
            err.to_string(),
            "http://127.0.0.1/token refused the request (HTTP 401): invalid_client: unknown client"
        );
        assert_eq!(err.status(), Some(401));
    }

    #[test]
    fn config_errors_quoting_huge_input_stay_bounded() {
        let huge = "k".repeat(100_000);
        let text = Error::config(format!("profile 'p', key '{huge}'"), huge.clone()).to_string();
        assert!(text.len() < 4096, "{} bytes", text.len());
    }

    #[test]
    fn rate_limits_carry_the_servers_retry_after() {
        let err = Error::RateLimited {
            endpoint: "http://127.0.0.1/token".into(),
            status: 429,
            retry_after: Duration::from_secs(120),
        };
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(err.kind().as_str(), "rate_limited");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
        assert_eq!(err.status(), Some(429));
        assert_eq!(
            err.to_string(),
            "http://127.0.0.1/token is rate limiting (HTTP 429): retry after 120 s"
        );
        assert_eq!(Error::cache("x").retry_after(), None);
    }

    #[test]
    fn kinds_have_distinct_names() {
        let names: std::collections::HashSet<_> =
            ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), ErrorKind::ALL.len());
    }
}
