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

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokenbroker::runtime;

uniffi::setup_scaffolding!("tokenbroker");

mod error;
mod secret_store;
mod token;

pub use error::TokenBrokerError;
pub use secret_store::SecretStore;
pub use token::{AccessToken, PendingLogin, Stats};

use error::{Result, config_error};
use secret_store::ForeignSecrets;
use token::token_object;

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
        Some(s) => tokenbroker::seconds_arg("minTtlSeconds", s)?,
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
