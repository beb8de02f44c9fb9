//! The broker: profiles, one HTTP client, one cache, and `token()`.

mod at_hand;
mod documents;
mod failures;
mod fetch;
mod handle;
mod identity;
mod login;
mod refresh_ahead;
mod state;
mod stores;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::{BoxFuture, Shared};
use std::sync::Mutex;

use crate::cache::memory::Lookup;
use crate::cache::{CacheKey, EntryInfo, MemoryCache, SecretStore};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::HttpClient;
use crate::limits;
use crate::stats::{Counters, Stats};
use crate::token::AccessToken;

pub use handle::ProfileHandle;
pub use login::{DeviceLoginOptions, LoginFlow, LoginOptions, PendingLogin, UrlCallback};
pub use state::ProfileState;
use stores::Stores;

/// Options of one `token()` call: [`TokenOptions::from_args`] for a caller's raw values, or
/// `TokenOptions::default()` and its `with_*` builders.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TokenOptions {
    /// Scopes to request instead of the profile's.
    pub scopes: Option<Vec<String>>,
    /// The token must stay valid at least this long.
    pub min_ttl: Duration,
    /// Fetch a new token even if a valid one is cached.
    pub force_refresh: bool,
    /// The [`AccessToken::id`] of a token the API refused (HTTP 401): if the cached token is
    /// still that one, a new one is fetched (once, however many callers report it); if the
    /// cache already holds a newer one, that is returned without a request.
    pub rejected: Option<u64>,
}

/// A fetch in flight, shared by every caller of its key. Tagged with the pid that started it,
/// since a forked child inherits the map but not the task.
type Flight = Shared<BoxFuture<'static, Result<AccessToken>>>;

/// Answers `token(profile)` with a valid access token, fetching at most once per key however
/// many callers, threads or processes ask at the same time.
///
/// Cheap to clone: clones share everything.
#[derive(Clone)]
pub struct Broker {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    config: Config,
    profiles: HashMap<String, Arc<ProfileState>>,
    memory: MemoryCache,
    /// The stores and the process that opened them (see `Inner::stores`).
    stores: std::sync::Mutex<Option<(u32, Arc<Stores>)>>,
    app_secrets: Option<Arc<dyn SecretStore>>,
    flights: Mutex<HashMap<CacheKey, (u32, Flight)>>,
    /// Settings only: the connection pool is built on the first request (see `http`).
    http: HttpClient,
    counters: Counters,
    /// Provider failures shared by every caller of a key until they lapse.
    failures: failures::Failures,
    invalidation: crate::cache::invalidation::Invalidation,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("profiles", &self.inner.profiles.keys().collect::<Vec<_>>())
            .field("store", &self.inner.config.cache.store)
            .finish_non_exhaustive()
    }
}

impl Broker {
    /// A broker over `config`.
    pub fn new(config: Config) -> Result<Self> {
        Self::build(config, None)
    }

    /// A broker whose refresh tokens and other long-lived secrets live in `secrets` (the
    /// Keychain or Android Keystore, through the uniffi binding).
    pub fn with_secret_store(config: Config, secrets: Arc<dyn SecretStore>) -> Result<Self> {
        Self::build(config, Some(secrets))
    }

    /// A broker over the config file found by [`Config::discover`].
    pub fn from_config_file(path: Option<&std::path::Path>) -> Result<Self> {
        Self::new(Config::discover(path)?)
    }

    fn build(config: Config, app_secrets: Option<Arc<dyn SecretStore>>) -> Result<Self> {
        let http = new_http(&config)?;
        let shared = config.cache.store != crate::config::StoreKind::Memory;
        let profiles = config
            .profiles
            .iter()
            .map(|(name, p)| (name.clone(), Arc::new(ProfileState::new(p.clone()))))
            .collect();
        let broker = Self {
            inner: Arc::new(Inner {
                memory: MemoryCache::new(config.cache.max_entries),
                config,
                profiles,
                stores: std::sync::Mutex::new(None),
                app_secrets,
                flights: Mutex::new(HashMap::new()),
                http,
                counters: Counters::default(),
                failures: failures::Failures::default(),
                invalidation: crate::cache::invalidation::Invalidation::new(shared),
            }),
        };
        let weak: std::sync::Weak<dyn crate::fork::ForkLocks> = Arc::downgrade(&broker.inner) as _;
        crate::fork::register(weak);
        Ok(broker)
    }

    /// The configuration this broker was built from.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Names of the configured profiles.
    pub fn profile_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inner.profiles.keys().cloned().collect();
        names.sort();
        names
    }

    /// A valid access token for `profile`: from memory, from the shared tier, or fetched.
    pub async fn token(&self, profile: &str, options: &TokenOptions) -> Result<AccessToken> {
        let result = self.token_inner(profile, options).await;
        if result.is_err() {
            Counters::bump(&self.inner.counters.errors);
        }
        result
    }

    async fn token_inner(&self, profile: &str, options: &TokenOptions) -> Result<AccessToken> {
        limits::duration_arg("min_ttl", options.min_ttl)?;
        let state = self.inner.state(profile)?;
        let mut identified = false;
        if state.is_user_grant() && state.identity().is_none() {
            self.inner.identify(&state).await?;
            identified = true;
        }
        let mut key = state.key(options.scopes.as_deref());
        let mut newer_than = options.force_refresh.then(SystemTime::now);
        if !options.force_refresh {
            let mut found = self.inner.lookup(&state, &key, options.min_ttl);
            if found.is_none() && Inner::revalidate(&self.inner).await {
                found = self.inner.lookup(&state, &key, options.min_ttl);
            }
            match found {
                Some(token) if options.rejected == Some(token.id()) => {
                    newer_than = Some(token.token_set().issued_at);
                }
                Some(token) => return Ok(token),
                None => {}
            }
        }
        Counters::bump(&self.inner.counters.misses);
        if state.is_user_grant() && !identified {
            // Another process may have signed in as someone else, or out, since.
            self.inner.identify(&state).await?;
            key = state.key(options.scopes.as_deref());
        }
        let scopes = options
            .scopes
            .clone()
            .unwrap_or_else(|| state.profile().scopes.clone());
        Inner::flight(&self.inner, state, key, scopes, options.min_ttl, newer_than).await
    }

    /// The cached token for `profile` if a valid one is in memory and [`Broker::token`] would
    /// answer with it (not for `force_refresh`, nor when it is the `rejected` token); never
    /// does I/O. With a shared tier this is `None` once per
    /// [`INVALIDATION_BOUND`](crate::advanced::cache::INVALIDATION_BOUND) until
    /// [`Broker::token`] has checked that tier for invalidations.
    pub fn cached_token(
        &self,
        profile: &str,
        options: &TokenOptions,
    ) -> Result<Option<AccessToken>> {
        limits::duration_arg("min_ttl", options.min_ttl)?;
        let state = self.inner.state(profile)?;
        if options.force_refresh {
            return Ok(None);
        }
        let key = state.key(options.scopes.as_deref());
        let found = self.inner.lookup(&state, &key, options.min_ttl);
        Ok(found.filter(|token| options.rejected != Some(token.id())))
    }

    /// A snapshot of this broker's counters.
    pub fn stats(&self) -> Stats {
        let mut stats = self.inner.counters.snapshot(self.inner.memory.len());
        stats.undecryptable = (crate::locks::lock(&self.inner.stores).as_ref())
            .and_then(|(_, stores)| stores.shared.as_ref())
            .map_or(0, |shared| shared.undecryptable());
        stats
    }

    /// Where the shared tier's encryption key comes from (the OS keyring, a key file, the
    /// environment variable), or `None` for a memory-only broker. Opens the tier if needed.
    pub async fn cache_key_source(&self) -> Option<String> {
        self.inner.stores().await.key_source.clone()
    }

    /// Entries of the shared tier (or nothing for a memory-only broker), without secrets.
    pub async fn cache_entries(&self) -> Result<Vec<EntryInfo>> {
        for state in self.inner.profiles.values() {
            // So that profiles_for_entry knows whose entries are this machine's user's.
            let _ = self.inner.identify(state).await;
        }
        match self.inner.shared().await {
            Some(store) => store.list().await,
            None => Ok(Vec::new()),
        }
    }

    /// Names of the profiles whose token a cache entry can be (same server, client, grant
    /// and subject; scopes may differ), sorted.
    pub fn profiles_for_entry(&self, entry: &EntryInfo) -> Vec<String> {
        let identity = crate::cache::KeyIdentity::parse(&entry.key);
        let mut names: Vec<String> = self
            .inner
            .profiles
            .iter()
            .filter(|(_, s)| {
                crate::cache::KeyIdentity::parse(s.default_key().canonical()) == identity
            })
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        names
    }

    /// Forgets every cached token of this broker, in memory and in the shared tier.
    pub async fn clear_cache(&self) -> Result<()> {
        self.inner.memory.clear();
        match self.inner.shared().await {
            Some(store) => store.clear().await,
            None => Ok(()),
        }
    }

    /// Forgets `profile`'s cached token and stored refresh token (a local logout).
    pub async fn forget(&self, profile: &str) -> Result<()> {
        let state = self.inner.state(profile)?;
        if self.inner.identify(&state).await.is_err() {
            // Nobody signed in here: nothing of this machine's user to forget.
            return Ok(());
        }
        let key = state.key(None);
        let (subject, refresh) = (state.subject_secret_name(), state.refresh_secret_name());
        self.inner.memory.remove(&key);
        if let Some(store) = self.inner.shared().await {
            store.remove(&key).await?;
        }
        self.inner.forget_identity(&state).await?;
        let secrets = self.inner.secret_store().await;
        secrets.delete_secret(&subject).await?;
        secrets.delete_secret(&refresh).await
    }

    /// The broker's secret store (refresh tokens, registration access tokens).
    pub async fn secret_store(&self) -> Arc<dyn SecretStore> {
        self.inner.secret_store().await
    }

    /// The HTTP client (its connection pool is the process's, rebuilt after a fork).
    pub fn http(&self) -> HttpClient {
        self.inner.http()
    }

    /// The resolved profile (endpoints discovered for OIDC issuers).
    pub async fn resolved_profile(&self, profile: &str) -> Result<Arc<crate::profile::Profile>> {
        let state = self.inner.state(profile)?;
        self.inner.resolved(&state).await
    }
}

fn new_http(config: &Config) -> Result<HttpClient> {
    let ca_files: Vec<_> = config
        .profiles
        .values()
        .filter_map(|p| p.ca_file.clone())
        .collect();
    HttpClient::new(&config.http, &ca_files)
}

impl crate::fork::ForkLocks for Inner {
    fn lock_all(&self) -> Vec<Box<dyn crate::fork::Held + '_>> {
        // The order the code nests them: a flight reads the memory tier under `flights`.
        // Profiles' identity slots are never held while another lock is taken.
        let mut held: Vec<Box<dyn crate::fork::Held + '_>> = (self.profiles.values())
            .map(|s| Box::new(s.lock_for_fork()) as Box<dyn crate::fork::Held + '_>)
            .collect();
        held.push(Box::new(crate::locks::lock(&self.flights)));
        held.push(Box::new(self.memory.lock_for_fork()));
        held.push(Box::new(crate::locks::lock(&self.stores)));
        held.push(Box::new(self.failures.lock_for_fork()));
        held
    }
}

impl Inner {
    fn state(&self, profile: &str) -> Result<Arc<ProfileState>> {
        if let Some(why) = self.config.broken.get(profile) {
            return Err(why.clone());
        }
        self.profiles.get(profile).cloned().ok_or_else(|| {
            let known: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
            Error::config(
                format!("profile '{profile}'"),
                format!("no such profile (known: {})", known.join(", ")),
            )
        })
    }

    #[inline]
    fn lookup(
        self: &Arc<Self>,
        state: &Arc<ProfileState>,
        key: &CacheKey,
        min_ttl: Duration,
    ) -> Option<AccessToken> {
        let now = SystemTime::now();
        if self.invalidation.due(now) {
            return None;
        }
        match self.memory.get(key, now, min_ttl) {
            Lookup::Hit(token, due) => {
                Counters::bump(&self.counters.hits);
                if let Some(entry) = due {
                    Inner::refresh_ahead(self, state, key, &entry, now);
                }
                Some(token)
            }
            Lookup::Miss => None,
        }
    }

    /// Checks the shared tier for invalidations when a check is due (see
    /// `cache::invalidation`), on the core runtime; returns whether one was due.
    async fn revalidate(this: &Arc<Self>) -> bool {
        if !this.invalidation.due(SystemTime::now()) {
            return false;
        }
        let inner = this.clone();
        let check = crate::runtime::handle().spawn(async move {
            let store = inner.shared().await;
            if let Err(e) = inner
                .invalidation
                .check(store.as_deref(), &inner.memory)
                .await
            {
                inner.store_error(&e);
            }
        });
        let _ = check.await;
        true
    }

    fn http(&self) -> HttpClient {
        self.http.clone()
    }
}
