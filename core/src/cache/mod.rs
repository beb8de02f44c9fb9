//! The token cache: a memory tier in every broker, and an optional shared tier.

mod crypto;
mod disk;
mod failure;
mod file;
mod file_generation;
mod file_lease;
mod helper;
pub(crate) mod invalidation;
mod key;
pub mod memory;
mod os_keyring;
pub(crate) mod record;
mod redis;
mod redis_conn;
mod redis_lease;
mod redis_sentinel;
mod secrets;
mod store;
mod unreadable;
mod user_key;

pub use self::redis::{DEFAULT_LEASE_TTL, DEFAULT_REFRESH_GRACE, RedisStore};
pub(crate) use crypto::random_hex;
pub use crypto::{CacheCipher, KEY_ENV, KEY_LEN, KeySource};
pub use failure::{DEFAULT_FAILURE_HOLD, FailureRecord, MAX_FAILURE_HOLD};
pub use file::{DIR_ENV, FileStore};
pub(crate) use helper::parse_secrets;
pub use helper::{HelperSecrets, SecretsConfig};
pub use invalidation::INVALIDATION_BOUND;
pub(crate) use key::credential_fingerprint;
pub use key::{CacheKey, KeyIdentity, KeyParts};
pub use memory::MemoryCache;
pub use os_keyring::KeyringEntry;
pub use redis_conn::RedisTopology;
pub use secrets::MemorySecrets;
pub use store::{EntryInfo, Lease, SecretStore, SharedStore};
pub use user_key::{KEYRING_ACCOUNT, KEYRING_SERVICE, LEGACY_KEY_FILE, UserKey};
