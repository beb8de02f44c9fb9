//! uniffi binding of tokenbroker for Kotlin (package `dev.tokenbroker`) and Swift (module
//! `TokenBroker`): type and error conversion only, every behaviour lives in the core.
//!
//! Async methods run the core future on the core's one runtime
//! ([`tokenbroker::runtime::handle`]) and await its `JoinHandle`, so the future uniffi hands to
//! Kotlin or Swift needs no runtime of its own. Cancelling the coroutine or Task drops that
//! await only: the fetch itself goes on for the other callers waiting on the same token.

// `TokenBrokerError` is the shape Kotlin and Swift see (uniffi lowers it by value, on the error
// path only); boxing its fields would change nothing for them.
#![allow(clippy::result_large_err)]

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokenbroker::Error as CoreError;
use tokenbroker::cache::SecretStore as CoreSecretStore;
use tokenbroker::runtime;

uniffi::setup_scaffolding!("tokenbroker");

// ---------------------------------------------------------------------------------- errors

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
        }
    }
}

/// What a foreign `SecretStore` threw that was not a `TokenBrokerError`.
impl From<uniffi::UnexpectedUniFFICallbackError> for TokenBrokerError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Cache { reason: e.reason }
    }
}

type Result<T, E = TokenBrokerError> = std::result::Result<T, E>;

fn config_error(location: &str, reason: &str) -> TokenBrokerError {
    CoreError::config(location, reason).into()
}

// ---------------------------------------------------------------------------- secret store

/// Long-lived secrets (refresh tokens, registration access tokens) kept by name, implemented
/// by the app over the Keychain or the Android Keystore. Calls are blocking and made from a
/// worker thread of the core's runtime; `set_secret` must be durable when it returns. Throw
/// `TokenBrokerError.Cache` (or anything: it becomes a cache error) when the store fails.
#[uniffi::export(foreign)]
pub trait SecretStore: Send + Sync {
    /// The secret stored under `name`, or null/nil.
    fn get_secret(&self, name: String) -> Result<Option<String>>;
    /// Stores `value` under `name`.
    fn set_secret(&self, name: String, value: String) -> Result<()>;
    /// Forgets the secret under `name` (no error when absent).
    fn delete_secret(&self, name: String) -> Result<()>;
}

/// Adapts the app's [`SecretStore`] to the core's async secret-store trait.
struct ForeignSecrets(Arc<dyn SecretStore>);

impl fmt::Debug for ForeignSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ForeignSecrets")
    }
}

/// Runs a foreign secret-store call on a blocking thread (Keychain and Keystore calls block).
async fn on_blocking_thread<T, F>(call: F) -> tokenbroker::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    match tokio::task::spawn_blocking(call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(CoreError::cache(format!("secret store: {e}"))),
        Err(e) => Err(CoreError::cache(format!("secret store call failed: {e}"))),
    }
}

#[async_trait::async_trait]
impl CoreSecretStore for ForeignSecrets {
    async fn get_secret(&self, name: &str) -> tokenbroker::Result<Option<tokenbroker::Secret>> {
        let (store, name) = (self.0.clone(), name.to_owned());
        let value = on_blocking_thread(move || store.get_secret(name)).await?;
        Ok(value.map(tokenbroker::Secret::new))
    }

    async fn set_secret(&self, name: &str, value: &tokenbroker::Secret) -> tokenbroker::Result<()> {
        let (store, name, value) = (self.0.clone(), name.to_owned(), value.expose().to_owned());
        on_blocking_thread(move || store.set_secret(name, value)).await
    }

    async fn delete_secret(&self, name: &str) -> tokenbroker::Result<()> {
        let (store, name) = (self.0.clone(), name.to_owned());
        on_blocking_thread(move || store.delete_secret(name)).await
    }
}

// ----------------------------------------------------------------------------------- types

/// A valid access token. `toString()` / `description` never show the token itself.
#[derive(uniffi::Object)]
#[uniffi::export(Display)]
pub struct AccessToken(tokenbroker::AccessToken);

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

fn token_object(token: tokenbroker::AccessToken) -> Arc<AccessToken> {
    Arc::new(AccessToken(token))
}

/// A sign-in started by `Broker.beginLogin`: open `url()` in a browser (custom tab,
/// ASWebAuthenticationSession), then pass the redirect URL to `Broker.completeLogin`.
#[derive(Debug, uniffi::Object)]
pub struct PendingLogin(tokenbroker::PendingLogin);

#[uniffi::export]
impl PendingLogin {
    /// The authorization URL to open.
    pub fn url(&self) -> String {
        self.0.url().to_owned()
    }

    /// The `state` the redirect must carry.
    pub fn state(&self) -> String {
        self.0.state().to_owned()
    }

    /// The profile being signed in.
    pub fn profile(&self) -> String {
        self.0.profile().to_owned()
    }
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
        Self {
            hits: s.hits,
            misses: s.misses,
            shared_hits: s.shared_hits,
            fetches: s.fetches,
            background_refreshes: s.background_refreshes,
            coalesced: s.coalesced,
            errors: s.errors,
            store_errors: s.store_errors,
            entries: s.entries,
            fetch_mean_ms: s.fetch_mean_ms,
            fetch_p50_ms: s.fetch_p50_ms,
            fetch_p99_ms: s.fetch_p99_ms,
            fetch_max_ms: s.fetch_max_ms,
        }
    }
}

// ---------------------------------------------------------------------------------- broker

/// Runs `future` on the core's runtime and waits for it without blocking a thread.
async fn on_runtime<T, F>(future: F) -> Result<T>
where
    T: Send + 'static,
    F: Future<Output = tokenbroker::Result<T>> + Send + 'static,
{
    match runtime::handle().spawn(future).await {
        Ok(result) => result.map_err(Into::into),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(TokenBrokerError::Interaction {
            reason: format!("tokenbroker runtime stopped: {e}"),
        }),
    }
}

fn token_options(
    scopes: Option<Vec<String>>,
    min_ttl_seconds: Option<f64>,
    force_refresh: bool,
) -> Result<tokenbroker::TokenOptions> {
    let min_ttl = match min_ttl_seconds {
        None => Duration::ZERO,
        Some(s) => Duration::try_from_secs_f64(s).map_err(|_| {
            config_error("minTtlSeconds", "must be a finite number of seconds >= 0")
        })?,
    };
    Ok(tokenbroker::TokenOptions {
        scopes,
        min_ttl,
        force_refresh,
        rejected: None,
    })
}

/// Answers `token(profile)` with a valid access token, fetching at most once per key however
/// many callers ask at the same time. Thread-safe; create one per app and share it.
#[derive(Debug, uniffi::Object)]
pub struct Broker(tokenbroker::Broker);

#[uniffi::export]
impl Broker {
    /// A broker over a TOML configuration (the same text as the config file).
    #[uniffi::constructor]
    pub fn new(config_toml: String) -> Result<Arc<Self>> {
        let config = tokenbroker::Config::from_toml_str(&config_toml)?;
        Ok(Arc::new(Self(tokenbroker::Broker::new(config)?)))
    }

    /// A broker over a JSON configuration of the same shape as the TOML file.
    #[uniffi::constructor]
    pub fn from_json(config_json: String) -> Result<Arc<Self>> {
        let value = serde_json::from_str(&config_json)
            .map_err(|e| config_error("config", &format!("not valid JSON: {e}")))?;
        let config = tokenbroker::Config::from_value(value)?;
        Ok(Arc::new(Self(tokenbroker::Broker::new(config)?)))
    }

    /// A broker whose refresh tokens live in the app's `store` (Keychain, Keystore).
    #[uniffi::constructor]
    pub fn with_secret_store(
        config_toml: String,
        store: Arc<dyn SecretStore>,
    ) -> Result<Arc<Self>> {
        let config = tokenbroker::Config::from_toml_str(&config_toml)?;
        let secrets = Arc::new(ForeignSecrets(store));
        Ok(Arc::new(Self(tokenbroker::Broker::with_secret_store(
            config, secrets,
        )?)))
    }

    /// Names of the configured profiles, sorted.
    pub fn profile_names(&self) -> Vec<String> {
        self.0.profile_names()
    }

    /// A valid access token for `profile`: from memory, from the shared tier, or fetched.
    #[uniffi::method(default(scopes = None, min_ttl_seconds = None, force_refresh = false))]
    pub async fn token(
        &self,
        profile: String,
        scopes: Option<Vec<String>>,
        min_ttl_seconds: Option<f64>,
        force_refresh: bool,
    ) -> Result<Arc<AccessToken>> {
        let options = token_options(scopes, min_ttl_seconds, force_refresh)?;
        let broker = self.0.clone();
        on_runtime(async move { broker.token(&profile, &options).await })
            .await
            .map(token_object)
    }

    /// `token()` for code without coroutines or async: blocks the calling thread. Never call it
    /// from the main/UI thread.
    #[uniffi::method(default(scopes = None, min_ttl_seconds = None, force_refresh = false))]
    pub fn token_blocking(
        &self,
        profile: String,
        scopes: Option<Vec<String>>,
        min_ttl_seconds: Option<f64>,
        force_refresh: bool,
    ) -> Result<Arc<AccessToken>> {
        let options = token_options(scopes, min_ttl_seconds, force_refresh)?;
        runtime::block_on(self.0.token(&profile, &options))
            .map(token_object)
            .map_err(Into::into)
    }

    /// The cached token for `profile` if a valid one is in memory; never does I/O.
    #[uniffi::method(default(scopes = None, min_ttl_seconds = None))]
    pub fn cached_token(
        &self,
        profile: String,
        scopes: Option<Vec<String>>,
        min_ttl_seconds: Option<f64>,
    ) -> Result<Option<Arc<AccessToken>>> {
        let options = token_options(scopes, min_ttl_seconds, false)?;
        Ok(self.0.cached_token(&profile, &options)?.map(token_object))
    }

    /// A snapshot of this broker's counters.
    pub fn stats(&self) -> Stats {
        self.0.stats().into()
    }

    /// Starts a sign-in whose browser step the app runs itself; `redirect_uri` is where the
    /// provider sends the browser back (an app link, a custom scheme, a loopback URL).
    #[uniffi::method(default(scopes = None))]
    pub async fn begin_login(
        &self,
        profile: String,
        redirect_uri: String,
        scopes: Option<Vec<String>>,
    ) -> Result<Arc<PendingLogin>> {
        let broker = self.0.clone();
        let pending =
            on_runtime(async move { broker.begin_login(&profile, &redirect_uri, scopes).await })
                .await?;
        Ok(Arc::new(PendingLogin(pending)))
    }

    /// Completes a sign-in from the redirect URL the app received: the code is exchanged, the
    /// refresh token stored in the secret store and the access token cached and returned.
    pub async fn complete_login(
        &self,
        pending: Arc<PendingLogin>,
        redirect_url: String,
    ) -> Result<Arc<AccessToken>> {
        let broker = self.0.clone();
        on_runtime(async move { broker.complete_login(&pending.0, &redirect_url).await })
            .await
            .map(token_object)
    }

    /// Forgets `profile`'s cached token and stored refresh token (a local sign-out).
    pub async fn forget(&self, profile: String) -> Result<()> {
        let broker = self.0.clone();
        on_runtime(async move { broker.forget(&profile).await }).await
    }

    /// Forgets every cached token of this broker.
    pub async fn clear_cache(&self) -> Result<()> {
        let broker = self.0.clone();
        on_runtime(async move { broker.clear_cache().await }).await
    }
}
