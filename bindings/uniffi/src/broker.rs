//! `Broker`: construction, tokens, the cache and counters. Sign-in is in `login.rs`, client
//! registration in `registration.rs` (more `#[uniffi::export] impl Broker` blocks).

use std::sync::Arc;

use crate::calls::{blocking, on_runtime};
use crate::errors::{Result, config_error};
use crate::secret_store::{ForeignSecrets, SecretStore};
use crate::token::{AccessToken, CacheEntry, Stats, token_object};

/// Answers `token(profile)` with a valid access token, fetching at most once per key however
/// many callers ask at the same time. Thread-safe; create one per app and share it.
#[derive(Debug, uniffi::Object)]
pub struct Broker(pub(crate) tokenbroker::Broker);

impl Broker {
    /// A clone of the core broker (one `Arc`) for a future that outlives the call.
    pub(crate) fn core(&self) -> tokenbroker::Broker {
        self.0.clone()
    }
}

/// The core's options of `token` / `cachedToken`, parsed and checked by the core.
fn token_options(
    scopes: Option<Vec<String>>,
    min_ttl: f64,
    force_refresh: bool,
    rejected: Option<Arc<AccessToken>>,
) -> Result<tokenbroker::TokenOptions> {
    Ok(tokenbroker::TokenOptions::from_args(
        scopes.map(tokenbroker::ScopesArg::List),
        Some(min_ttl),
        force_refresh,
        rejected.map(|t| t.0.id()),
    )?)
}

fn entries(found: Vec<tokenbroker::EntryInfo>) -> Vec<CacheEntry> {
    found.into_iter().map(CacheEntry::from).collect()
}

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

    /// A valid access token for `profile`: from memory, from the shared tier, or fetched once
    /// for every concurrent caller. `min_ttl`: seconds it must stay valid. `rejected`: a token
    /// the API refused (HTTP 401); a fresh one is fetched once for every caller refused it.
    #[uniffi::method(default(scopes = None, min_ttl = 0.0, force_refresh = false, rejected = None))]
    pub async fn token(
        &self,
        profile: String,
        scopes: Option<Vec<String>>,
        min_ttl: f64,
        force_refresh: bool,
        rejected: Option<Arc<AccessToken>>,
    ) -> Result<Arc<AccessToken>> {
        let options = token_options(scopes, min_ttl, force_refresh, rejected)?;
        let broker = self.core();
        on_runtime(async move { broker.token(&profile, &options).await })
            .await
            .map(token_object)
    }

    /// `token()` for code without coroutines or async: blocks the calling thread.
    #[uniffi::method(default(scopes = None, min_ttl = 0.0, force_refresh = false, rejected = None))]
    pub fn token_blocking(
        &self,
        profile: String,
        scopes: Option<Vec<String>>,
        min_ttl: f64,
        force_refresh: bool,
        rejected: Option<Arc<AccessToken>>,
    ) -> Result<Arc<AccessToken>> {
        let options = token_options(scopes, min_ttl, force_refresh, rejected)?;
        blocking(self.0.token(&profile, &options)).map(token_object)
    }

    /// The cached token for `profile` if a valid one is in memory; never does I/O.
    #[uniffi::method(default(scopes = None, min_ttl = 0.0))]
    pub fn cached_token(
        &self,
        profile: String,
        scopes: Option<Vec<String>>,
        min_ttl: f64,
    ) -> Result<Option<Arc<AccessToken>>> {
        let options = token_options(scopes, min_ttl, false, None)?;
        Ok(self.0.cached_token(&profile, &options)?.map(token_object))
    }

    /// A snapshot of this broker's counters.
    pub fn stats(&self) -> Stats {
        self.0.stats().into()
    }

    /// Entries of the shared tier (file or Redis), without secrets.
    pub async fn cache_entries(&self) -> Result<Vec<CacheEntry>> {
        let broker = self.core();
        on_runtime(async move { broker.cache_entries().await })
            .await
            .map(entries)
    }

    /// `cacheEntries()`, blocking the calling thread.
    pub fn cache_entries_blocking(&self) -> Result<Vec<CacheEntry>> {
        blocking(self.0.cache_entries()).map(entries)
    }

    /// Forgets every cached token of this broker, in memory and in the shared tier.
    pub async fn clear_cache(&self) -> Result<()> {
        let broker = self.core();
        on_runtime(async move { broker.clear_cache().await }).await
    }

    /// `clearCache()`, blocking the calling thread.
    pub fn clear_cache_blocking(&self) -> Result<()> {
        blocking(self.0.clear_cache())
    }

    /// Forgets `profile`'s cached token and stored refresh token without telling the provider.
    pub async fn forget(&self, profile: String) -> Result<()> {
        let broker = self.core();
        on_runtime(async move { broker.forget(&profile).await }).await
    }

    /// `forget()`, blocking the calling thread.
    pub fn forget_blocking(&self, profile: String) -> Result<()> {
        blocking(self.0.forget(&profile))
    }
}
