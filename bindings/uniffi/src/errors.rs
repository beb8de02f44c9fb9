//! The error Kotlin and Swift see: one case per core error kind.

use tokenbroker::Error as CoreError;

/// Every failure, one case per core error kind. `reason` is the full human-readable message
/// (never a secret); the other fields are the structured details of that kind.
///
/// Kotlin: `TokenBrokerException.Config`, `.OAuth`, …; Swift: `TokenBrokerError.Config`, ….
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum TokenBrokerError {
    /// The configuration or a call's arguments are wrong; nothing was sent.
    #[error("{reason}")]
    Config { reason: String, location: String },
    /// The provider could not be reached (DNS, TCP, TLS, connection reset).
    #[error("{reason}")]
    Transport { reason: String, endpoint: String },
    /// The provider did not answer in time.
    #[error("{reason}")]
    Timeout {
        reason: String,
        endpoint: String,
        after_seconds: f64,
    },
    /// The provider answered with an OAuth error (RFC 6749 §5.2).
    #[error("{reason}")]
    OAuth {
        reason: String,
        endpoint: String,
        /// The `error` code, e.g. `invalid_client`.
        oauth_error: String,
        /// The `error_description`, scrubbed of secrets.
        description: Option<String>,
        /// The `error_uri`.
        uri: Option<String>,
        /// The HTTP status of the response.
        status: u16,
        /// Provider-specific codes (Azure AD `error_codes`).
        provider_codes: Vec<i64>,
    },
    /// The provider's answer was unusable (not JSON, empty, too big, missing fields).
    #[error("{reason}")]
    InvalidResponse {
        reason: String,
        endpoint: String,
        status: Option<u16>,
    },
    /// The token cache or the secret store failed.
    #[error("{reason}")]
    Cache { reason: String },
    /// Client registration or management failed.
    #[error("{reason}")]
    Registration {
        reason: String,
        endpoint: String,
        status: Option<u16>,
    },
    /// An interactive step failed: the redirect, a `state` mismatch, the user denied.
    #[error("{reason}")]
    Interaction { reason: String },
    /// The provider answered 429/503 with a `Retry-After` longer than the call's deadline
    /// allows; nothing was retried early.
    #[error("{reason}")]
    RateLimited {
        reason: String,
        endpoint: String,
        /// The HTTP status (429 or 503).
        status: u16,
        /// The seconds the server asked to wait.
        retry_after_seconds: u64,
    },
}

impl From<CoreError> for TokenBrokerError {
    fn from(e: CoreError) -> Self {
        let reason = e.to_string();
        match e {
            CoreError::Config { location, .. } => Self::Config { reason, location },
            CoreError::Transport { endpoint, .. } => Self::Transport { reason, endpoint },
            CoreError::Timeout { endpoint, after } => Self::Timeout {
                reason,
                endpoint,
                after_seconds: after.as_secs_f64(),
            },
            CoreError::OAuth { endpoint, error } => {
                let error = *error;
                Self::OAuth {
                    reason,
                    endpoint,
                    oauth_error: error.error,
                    description: error.description,
                    uri: error.uri,
                    status: error.status,
                    provider_codes: error.provider_codes,
                }
            }
            CoreError::InvalidResponse {
                endpoint, status, ..
            } => Self::InvalidResponse {
                reason,
                endpoint,
                status,
            },
            CoreError::Cache { .. } => Self::Cache { reason },
            CoreError::Registration {
                endpoint, status, ..
            } => Self::Registration {
                reason,
                endpoint,
                status,
            },
            CoreError::Interaction { .. } => Self::Interaction { reason },
            CoreError::RateLimited {
                endpoint,
                status,
                retry_after,
            } => Self::RateLimited {
                reason,
                endpoint,
                status,
                retry_after_seconds: retry_after.as_secs(),
            },
        }
    }
}

/// What a foreign `SecretStore` threw that was not a `TokenBrokerError`.
impl From<uniffi::UnexpectedUniFFICallbackError> for TokenBrokerError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Cache { reason: e.reason }
    }
}

/// The result of every call Kotlin and Swift make.
pub(crate) type Result<T, E = TokenBrokerError> = std::result::Result<T, E>;

/// A config error naming `location`, made by the core.
pub(crate) fn config_error(location: &str, reason: &str) -> TokenBrokerError {
    CoreError::config(location, reason).into()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokenbroker::{ErrorKind, OAuthError};

    use super::*;

    /// A core error of `kind`; `None` for a kind this binding has no case for yet.
    fn sample(kind: ErrorKind) -> Option<CoreError> {
        let endpoint = || "http://127.0.0.1/token".to_owned();
        Some(match kind {
            ErrorKind::Config => CoreError::config("profile 'p'", "bad"),
            ErrorKind::Transport => CoreError::Transport {
                endpoint: endpoint(),
                reason: "reset".into(),
            },
            ErrorKind::Timeout => CoreError::Timeout {
                endpoint: endpoint(),
                after: Duration::from_secs(1),
            },
            ErrorKind::OAuth => CoreError::OAuth {
                endpoint: endpoint(),
                error: Box::new(OAuthError {
                    error: "invalid_client".into(),
                    description: None,
                    uri: None,
                    status: 401,
                    provider_codes: vec![],
                }),
            },
            ErrorKind::InvalidResponse => CoreError::InvalidResponse {
                endpoint: endpoint(),
                status: None,
                reason: "not JSON".into(),
            },
            ErrorKind::Cache => CoreError::cache("locked"),
            ErrorKind::Registration => CoreError::Registration {
                endpoint: endpoint(),
                status: None,
                reason: "refused".into(),
            },
            ErrorKind::Interaction => CoreError::interaction("denied"),
            ErrorKind::RateLimited => CoreError::RateLimited {
                endpoint: endpoint(),
                status: 429,
                retry_after: Duration::from_secs(60),
            },
            _ => return None,
        })
    }

    /// The core kind name of the case Kotlin and Swift see.
    fn case_kind(error: &TokenBrokerError) -> &'static str {
        match error {
            TokenBrokerError::Config { .. } => "config",
            TokenBrokerError::Transport { .. } => "transport",
            TokenBrokerError::Timeout { .. } => "timeout",
            TokenBrokerError::OAuth { .. } => "oauth",
            TokenBrokerError::InvalidResponse { .. } => "invalid_response",
            TokenBrokerError::Cache { .. } => "cache",
            TokenBrokerError::Registration { .. } => "registration",
            TokenBrokerError::Interaction { .. } => "interaction",
            TokenBrokerError::RateLimited { .. } => "rate_limited",
        }
    }

    #[test]
    fn every_core_kind_has_its_own_case() {
        for &kind in ErrorKind::ALL {
            let core = sample(kind)
                .unwrap_or_else(|| panic!("core error kind '{kind}' has no TokenBrokerError case"));
            assert_eq!(core.kind(), kind);
            assert_eq!(case_kind(&TokenBrokerError::from(core)), kind.as_str());
        }
    }
}
