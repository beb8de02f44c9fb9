//! Tokens as issued by a provider and as handed to callers.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// Everything one successful token response gave us, normalised by `validate`.
///
/// This is what the cache stores (encrypted when persisted). Times are wall-clock so that
/// entries stay meaningful across processes and restarts.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenSet {
    /// The access token.
    #[serde(serialize_with = "crate::secret::persisted::secret")]
    pub access_token: Secret,
    /// The token type as the provider spelled it, e.g. `Bearer`.
    pub token_type: String,
    /// When the access token stops being valid.
    #[serde(with = "unix_millis")]
    pub expires_at: SystemTime,
    /// When the response was received.
    #[serde(with = "unix_millis")]
    pub issued_at: SystemTime,
    /// The scopes granted (the `scope` field, or the requested scopes when it is absent).
    pub scopes: Vec<String>,
    /// A refresh token, when the grant issued one.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::secret::persisted::optional"
    )]
    pub refresh_token: Option<Secret>,
    /// The raw ID token, when the grant issued one (already validated).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::secret::persisted::optional"
    )]
    pub id_token: Option<Secret>,
    /// The server's hint for when to refresh (`refresh_in`), when it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_in: Option<Duration>,
}

impl TokenSet {
    /// Time left until expiry at `now` (zero once expired).
    pub fn remaining_at(&self, now: SystemTime) -> Duration {
        self.expires_at.duration_since(now).unwrap_or_default()
    }

    /// The token's full lifetime as issued.
    pub fn lifetime(&self) -> Duration {
        self.expires_at
            .duration_since(self.issued_at)
            .unwrap_or_default()
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &self.access_token)
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .finish_non_exhaustive()
    }
}

/// A valid access token handed to a caller. Cheap to clone (one reference count).
///
/// `Debug` and `Display` never show the token; use [`AccessToken::secret`] or
/// [`AccessToken::header`] to send it.
#[derive(Clone)]
pub struct AccessToken(Arc<TokenSet>, u64);

/// Source of [`AccessToken::id`]s.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl AccessToken {
    /// Wraps a token set.
    pub fn new(set: TokenSet) -> Self {
        Self(Arc::new(set), NEXT_ID.fetch_add(1, Ordering::Relaxed))
    }

    /// A number that identifies this token within the process and is never reused: equal
    /// ids mean the same token. Bindings use it to reuse a token object they already
    /// converted instead of copying the token across the FFI boundary on every call.
    pub fn id(&self) -> u64 {
        self.1
    }

    /// The access token value.
    pub fn secret(&self) -> &str {
        self.0.access_token.expose()
    }

    /// The token type, e.g. `Bearer`.
    pub fn token_type(&self) -> &str {
        &self.0.token_type
    }

    /// When the token expires.
    pub fn expires_at(&self) -> SystemTime {
        self.0.expires_at
    }

    /// Seconds since the Unix epoch at which the token expires.
    pub fn expires_at_unix(&self) -> f64 {
        self.0
            .expires_at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64()
    }

    /// The granted scopes.
    pub fn scopes(&self) -> &[String] {
        &self.0.scopes
    }

    /// The value for an `Authorization` header: `Bearer <token>`.
    ///
    /// The scheme is always spelled `Bearer` (RFC 6750) whatever case the provider used.
    pub fn header(&self) -> String {
        let scheme = if self.0.token_type.eq_ignore_ascii_case("bearer") {
            "Bearer"
        } else {
            &self.0.token_type
        };
        format!("{scheme} {}", self.secret())
    }

    /// The whole token set, for code that needs every field.
    pub fn token_set(&self) -> &TokenSet {
        &self.0
    }

    /// Time left until expiry.
    pub fn remaining(&self) -> Duration {
        self.0.remaining_at(SystemTime::now())
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token_type", &self.0.token_type)
            .field("expires_at", &self.0.expires_at)
            .field("scopes", &self.0.scopes)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} token [redacted], expires in {}s",
            self.0.token_type,
            self.remaining().as_secs()
        )
    }
}

/// Serde adapter storing a `SystemTime` as integer milliseconds since the Unix epoch.
pub(crate) mod unix_millis {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        let ms = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        s.serialize_u64(ms.min(u64::MAX as u128) as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let ms = u64::deserialize(d)?;
        // Written by any process (or version) sharing the store: kept within the limit.
        let at = UNIX_EPOCH + Duration::from_millis(ms);
        Ok(crate::limits::clamp_instant(at, SystemTime::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TokenSet {
        let now = SystemTime::now();
        TokenSet {
            access_token: Secret::new("at-0123456789"),
            token_type: "bearer".into(),
            expires_at: now + Duration::from_secs(60),
            issued_at: now,
            scopes: vec!["a".into()],
            refresh_token: Some(Secret::new("rt-0123456789")),
            id_token: None,
            refresh_in: None,
        }
    }

    #[test]
    fn never_prints_secrets() {
        let t = AccessToken::new(sample());
        for text in [
            format!("{t:?}"),
            format!("{t}"),
            format!("{:?}", t.token_set()),
        ] {
            assert!(!text.contains("at-0123456789"), "{text}");
            assert!(!text.contains("rt-0123456789"), "{text}");
        }
        assert_eq!(t.header(), "Bearer at-0123456789");
    }

    #[test]
    fn round_trips_through_json() {
        let set = sample();
        let json = serde_json::to_string(&set).unwrap();
        let back: TokenSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back.access_token, set.access_token);
        assert_eq!(
            back.expires_at
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis(),
            set.expires_at
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis()
        );
    }
}
