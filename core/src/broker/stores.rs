//! The shared token tier and the secret stores a broker opens on first use.

use std::sync::Arc;
use std::time::SystemTime;

use super::Inner;
use crate::cache::{FileStore, SecretStore, SharedStore};
use crate::config::{Config, StoreKind};
use crate::error::{Error, Result};
use crate::stats::Counters;

impl Inner {
    /// The stores, opened on first use in this process. A forked child opens its own: the
    /// parent's connections are served by tasks the child does not have, and an opening in
    /// flight in the parent at the fork never ends in the child.
    pub(super) async fn stores(&self) -> Arc<Stores> {
        if let Some(stores) = self.opened_stores() {
            return stores;
        }
        let opened = open_stores(&self.config).await.unwrap_or_else(|e| {
            Counters::bump(&self.counters.store_errors);
            tracing::warn!("shared token cache unavailable, using memory only: {e}");
            Stores::memory()
        });
        self.install(opened)
    }

    /// The file store when it is the shared tier, opened on the calling thread if this process
    /// has not opened its stores yet and the key needs no OS keyring
    /// ([`FileStore::open_without_keyring`]); `None` otherwise, and on any error (left to
    /// [`Inner::stores`], which reports it).
    pub(super) fn file_store_here(&self) -> Option<FileStore> {
        if let Some(stores) = self.opened_stores() {
            return stores.file.clone();
        }
        if self.config.cache.store != StoreKind::File {
            return None;
        }
        let store = FileStore::open_without_keyring(self.config.cache.path.clone()).ok()??;
        let read_at = SystemTime::now();
        let generation = store.read_generation().ok().map(|g| (read_at, g));
        let opened = with_secret_helper(file_stores(store, generation), &self.config);
        self.install(opened).file.clone()
    }

    /// The stores this process opened, if it did.
    fn opened_stores(&self) -> Option<Arc<Stores>> {
        let pid = std::process::id();
        match &*crate::locks::lock(&self.stores) {
            Some((owner, stores)) if *owner == pid => Some(stores.clone()),
            _ => None,
        }
    }

    /// Keeps `opened` as this process's stores, unless another caller of this process opened
    /// them meanwhile: returns the ones kept.
    fn install(&self, opened: Stores) -> Arc<Stores> {
        let pid = std::process::id();
        let opened = Arc::new(opened);
        let mut slot = crate::locks::lock(&self.stores);
        match &*slot {
            Some((owner, stores)) if *owner == pid => stores.clone(),
            _ => {
                if let Some((read_at, generation)) = opened.generation {
                    self.invalidation.seed(read_at, generation);
                }
                if let Some(parent) = slot.replace((pid, opened.clone())) {
                    // The parent's connections belong to its runtime; dropping them here
                    // could touch it. Leak them instead.
                    std::mem::forget(parent);
                }
                opened
            }
        }
    }

    pub(super) async fn shared(&self) -> Option<Arc<dyn SharedStore>> {
        self.stores().await.shared.clone()
    }

    pub(super) async fn secret_store(&self) -> Arc<dyn SecretStore> {
        match &self.app_secrets {
            Some(app) => app.clone(),
            None => self.stores().await.secrets.clone(),
        }
    }

    /// This machine's user's own secret store, which no other user writes: where a sign-in
    /// records who signed in (the shared tier may be another user's too).
    pub(super) async fn local_secrets(&self) -> Arc<dyn SecretStore> {
        match &self.app_secrets {
            Some(app) => app.clone(),
            None => self.stores().await.local.clone(),
        }
    }
}

/// The shared token tier and the secret stores, opened together on first use.
pub(super) struct Stores {
    pub(super) shared: Option<Arc<dyn SharedStore>>,
    pub(super) secrets: Arc<dyn SecretStore>,
    /// This user's own secrets on this machine (`secrets` unless that is Redis).
    pub(super) local: Arc<dyn SecretStore>,
    /// Where the shared tier's encryption key came from (`doctor` shows it).
    pub(super) key_source: Option<String>,
    /// The shared tier's invalidation generation and when it was read, when the opening read
    /// it (the file store: on the blocking thread that opened it, one hand-off fewer than a
    /// separate first check).
    pub(super) generation: Option<(SystemTime, u64)>,
    /// The shared tier when it is the file store, for reads on the calling thread.
    pub(super) file: Option<FileStore>,
}

impl Stores {
    pub(super) fn memory() -> Self {
        let secrets: Arc<dyn SecretStore> = Arc::new(crate::cache::MemorySecrets::default());
        Self {
            shared: None,
            local: secrets.clone(),
            secrets,
            key_source: None,
            generation: None,
            file: None,
        }
    }
}

async fn open_stores(config: &Config) -> Result<Stores> {
    Ok(with_secret_helper(open_cache_stores(config).await?, config))
}

/// `stores` with the config's secret helper, if any, keeping refresh tokens.
fn with_secret_helper(mut stores: Stores, config: &Config) -> Stores {
    if let Some(helper) = &config.secrets {
        stores.secrets = Arc::new(crate::cache::HelperSecrets::new(
            helper.clone(),
            crate::child_env::secret_variables(config),
        ));
    }
    stores
}

/// The file store as the shared tier and the secret store, with the generation its opening read.
fn file_stores(store: FileStore, generation: Option<(SystemTime, u64)>) -> Stores {
    let file = store.clone();
    let store = Arc::new(store);
    Stores {
        generation,
        key_source: Some(store.key_source().to_owned()),
        shared: Some(store.clone()),
        local: store.clone(),
        secrets: store,
        file: Some(file),
    }
}

async fn open_cache_stores(config: &Config) -> Result<Stores> {
    Ok(match config.cache.store {
        StoreKind::Memory => Stores::memory(),
        StoreKind::File => {
            // The key lookup may ask the OS keyring (a blocking D-Bus or system call).
            let path = config.cache.path.clone();
            let (store, generation) = crate::runtime::blocking(move || {
                let store = FileStore::open(path)?;
                let read_at = SystemTime::now();
                // A failed read is left to the first check, which reports it.
                let generation = store.read_generation().ok().map(|g| (read_at, g));
                Ok::<_, Error>((store, generation))
            })
            .await
            .map_err(|e| Error::cache(format!("opening the file store failed: {e}")))??;
            file_stores(store, generation)
        }
        StoreKind::Redis => {
            let (store, key_source) = open_redis(&config.cache).await?;
            let store = Arc::new(store);
            Stores {
                shared: Some(store.clone()),
                secrets: store,
                local: open_local_secrets(&config.cache).await,
                key_source: Some(key_source),
                generation: None,
                file: None,
            }
        }
    })
}

/// The file store in the cache dir, as this user's own secret store beside a Redis tier; in
/// memory (sign-ins then last as long as the process) when it cannot be opened.
async fn open_local_secrets(cache: &crate::config::CacheConfig) -> Arc<dyn SecretStore> {
    // The key lookup may ask the OS keyring (a blocking D-Bus or system call).
    let path = cache.path.clone();
    let opened = crate::runtime::blocking(move || FileStore::open(path))
        .await
        .map_err(|e| Error::cache(format!("opening the file store failed: {e}")))
        .and_then(|r| r);
    match opened {
        Ok(store) => Arc::new(store),
        Err(e) => {
            tracing::warn!(
                "cannot open the cache directory to record who signed in ({e}); sign-ins \
                 last until this process exits"
            );
            Arc::new(crate::cache::MemorySecrets::default())
        }
    }
}

/// Connects the Redis tier. Every machine of a fleet must share the encryption key: set
/// `TOKENBROKER_CACHE_KEY`, or the user's key (OS keyring or config-dir file) is used, which
/// only this machine has.
async fn open_redis(
    cache: &crate::config::CacheConfig,
) -> Result<(crate::cache::RedisStore, String)> {
    let topology = crate::cache::RedisTopology::from_config(cache).ok_or_else(|| {
        Error::config(
            "[cache], key 'redis_url'",
            "is required for store = \"redis\"",
        )
    })?;
    let dir = match &cache.path {
        Some(p) => p.clone(),
        None => FileStore::default_dir()?,
    };
    let cipher = crate::runtime::blocking(move || crate::cache::CacheCipher::load_default(&dir))
        .await
        .map_err(|e| Error::cache(format!("loading the cache key failed: {e}")))??;
    let key_source = cipher.key_source().to_owned();
    crate::cache::RedisStore::connect_to(&topology, &cache.redis_prefix, cipher)
        .await
        .map(|store| (store.with_lease_ttl(cache.lease_ttl), key_source))
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use crate::{Broker, Config};

    /// The first check for invalidations rides on the file store's opening (one blocking
    /// hand-off, not two), so a lookup right after the opening has no check due.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn opening_the_file_store_reads_its_generation_for_the_first_check() {
        let dir = std::env::temp_dir().join(format!(
            "tb-stores-{}",
            crate::cache::random_hex(6).unwrap()
        ));
        let text = format!(
            "[cache]\nstore = \"file\"\npath = {:?}\n",
            dir.join("cache")
        );
        let broker = Broker::new(Config::from_toml_str(&text).unwrap()).unwrap();
        assert!(broker.inner.invalidation.due(SystemTime::now()));
        let stores = broker.inner.stores().await;
        assert!(stores.shared.is_some(), "the file store opened");
        assert!(!broker.inner.invalidation.due(SystemTime::now()));
        let _ = std::fs::remove_dir_all(dir);
    }
}
