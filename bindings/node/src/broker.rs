//! The native broker class: construction, tokens, counters and the cache.

use std::time::UNIX_EPOCH;

use napi::Env;
use napi::bindgen_prelude::{Either, Object};
use napi_derive::napi;
use serde_json::Value;
use tokenbroker::Broker;

use crate::errors::to_napi;
use crate::token::{JsScopes, TokenData, known, options};
use crate::{config, promise, warm};

/// One entry of the shared cache tier, without secrets.
#[napi(object)]
pub struct CacheEntry {
    /// The canonical key text.
    pub key: String,
    /// Expiry in milliseconds since the Unix epoch.
    pub expires_at: f64,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// Whether a refresh token is held.
    pub has_refresh_token: bool,
}

/// The native broker; `node/lib` exposes it as `Broker`.
#[napi]
pub struct NativeBroker {
    pub(crate) inner: Broker,
}

#[napi]
impl NativeBroker {
    /// A broker over a config object of the same shape as the TOML file, or TOML text; without
    /// one, over the config file (`TOKENBROKER_CONFIG`, else the user's default), as in Python.
    #[napi(constructor)]
    pub fn new(config: Option<Value>) -> napi::Result<Self> {
        let config = config::from_js(config)?;
        Ok(Self {
            inner: Broker::new(config).map_err(to_napi)?,
        })
    }

    /// A broker over the config file (explicit path, `TOKENBROKER_CONFIG`, or the default).
    #[napi(factory)]
    pub fn from_config(path: Option<String>) -> napi::Result<Self> {
        let path = path.map(std::path::PathBuf::from);
        Ok(Self {
            inner: Broker::from_config_file(path.as_deref()).map_err(to_napi)?,
        })
    }

    /// A valid token: from memory, the shared tier, or the provider. `rejected`: the id of a
    /// token the API refused, replaced once for every caller refused the same token.
    #[napi(
        ts_return_type = "Promise<[accessToken: string, tokenType: string, header: string, expiresAtMs: number, id: number, ...scopes: string[]]>"
    )]
    pub fn token<'env>(
        &self,
        env: &'env Env,
        profile: String,
        #[napi(ts_arg_type = "string | string[]")] scopes: Option<JsScopes>,
        min_ttl: Option<f64>,
        force_refresh: Option<bool>,
        rejected: Option<f64>,
    ) -> napi::Result<Object<'env>> {
        let broker = self.inner.clone();
        let opts = options(scopes, min_ttl, force_refresh, rejected);
        promise::spawn(env, async move {
            let token = broker.token(&profile, &opts?).await.map_err(to_napi)?;
            Ok(TokenData(token))
        })
    }

    /// Puts in memory, on this thread, the token `token()` would answer from the file store
    /// when that needs no other thread (the core's `Broker::token_at_hand`); whether memory
    /// now holds it. The JS layer's `token()` asks this before it hands the call to the core's
    /// runtime: a new process's first token then costs no wake-up of another thread.
    #[napi]
    pub fn token_at_hand(
        &self,
        profile: String,
        #[napi(ts_arg_type = "string | string[]")] scopes: Option<JsScopes>,
        min_ttl: Option<f64>,
        force_refresh: Option<bool>,
        rejected: Option<f64>,
    ) -> bool {
        options(scopes, min_ttl, force_refresh, rejected)
            .is_ok_and(|opts| self.inner.token_at_hand(&profile, &opts).is_some())
    }

    /// The token in memory, or null; synchronous, never does I/O.
    #[napi(
        ts_return_type = "[accessToken: string, tokenType: string, header: string, expiresAtMs: number, id: number, ...scopes: string[]] | null"
    )]
    pub fn cached_token(
        &self,
        profile: String,
        #[napi(ts_arg_type = "string | string[]")] scopes: Option<JsScopes>,
        min_ttl: Option<f64>,
    ) -> napi::Result<Option<TokenData>> {
        let opts = options(scopes, min_ttl, None, None)?;
        let token = self.inner.cached_token(&profile, &opts).map_err(to_napi)?;
        Ok(token.map(TokenData))
    }

    /// Like `cachedToken`, but answers `true` instead of the token when the cached token's
    /// id is `knownId`: the JS layer then reuses the object it converted last time. With
    /// `forceRefresh` or `rejected` the core decides whether memory may answer at all.
    #[napi(
        ts_return_type = "true | [accessToken: string, tokenType: string, header: string, expiresAtMs: number, id: number, ...scopes: string[]] | null"
    )]
    pub fn cached_token_unless(
        &self,
        profile: String,
        #[napi(ts_arg_type = "string | string[]")] scopes: Option<JsScopes>,
        min_ttl: Option<f64>,
        known_id: Option<f64>,
        force_refresh: Option<bool>,
        rejected: Option<f64>,
    ) -> napi::Result<Option<Either<bool, TokenData>>> {
        let opts = options(scopes, min_ttl, force_refresh, rejected)?;
        let token = self.inner.cached_token(&profile, &opts).map_err(to_napi)?;
        Ok(token.map(|t| known(t, known_id)))
    }

    /// The warm path of `profile` (its own scopes, no `minTtl`): a function that answers
    /// `true` while the cached token is the one it returned last, else that token or null.
    #[napi(
        ts_return_type = "() => true | [accessToken: string, tokenType: string, header: string, expiresAtMs: number, id: number, ...scopes: string[]] | null"
    )]
    pub fn warm(&self, profile: String) -> napi::Result<warm::WarmFn> {
        let handle = self.inner.profile_handle(&profile).map_err(to_napi)?;
        Ok(warm::WarmFn(handle))
    }

    /// The broker's counters as a plain object, each core figure under its camelCase name.
    #[napi]
    pub fn stats<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        let mut obj = Object::new(env)?;
        for entry in self.inner.stats().entries() {
            obj.set(camel_case(entry.name), entry.value)?;
        }
        Ok(obj)
    }

    /// Names of the configured profiles, sorted.
    #[napi]
    pub fn profile_names(&self) -> Vec<String> {
        self.inner.profile_names()
    }

    /// Forgets every cached token, in memory and in the shared tier.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn clear_cache<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        let broker = self.inner.clone();
        promise::spawn(
            env,
            async move { broker.clear_cache().await.map_err(to_napi) },
        )
    }

    /// Forgets `profile`'s cached token and stored refresh token.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn forget<'env>(&self, env: &'env Env, profile: String) -> napi::Result<Object<'env>> {
        let broker = self.inner.clone();
        promise::spawn(env, async move {
            broker.forget(&profile).await.map_err(to_napi)
        })
    }

    /// Signs out: revokes the stored refresh token where the provider can (RFC 7009), then
    /// forgets the profile's tokens here even if revocation failed. Whether a token was revoked.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn logout<'env>(&self, env: &'env Env, profile: String) -> napi::Result<Object<'env>> {
        let broker = self.inner.clone();
        promise::spawn(env, async move {
            broker.logout(&profile).await.map_err(to_napi)
        })
    }

    /// Entries of the shared tier, without secrets.
    #[napi(ts_return_type = "Promise<Array<CacheEntry>>")]
    pub fn cache_entries<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        let broker = self.inner.clone();
        promise::spawn(env, async move {
            let entries = broker.cache_entries().await.map_err(to_napi)?;
            Ok(entries
                .into_iter()
                .map(CacheEntry::from)
                .collect::<Vec<_>>())
        })
    }
}

impl From<tokenbroker::advanced::cache::EntryInfo> for CacheEntry {
    fn from(e: tokenbroker::advanced::cache::EntryInfo) -> Self {
        CacheEntry {
            key: e.key,
            expires_at: e
                .expires_at
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as f64)
                .unwrap_or(0.0),
            scopes: e.scopes,
            has_refresh_token: e.has_refresh_token,
        }
    }
}

/// `shared_hits` as JavaScript names it: `sharedHits`.
fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.push(c.to_ascii_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}
