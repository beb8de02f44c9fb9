//! The token cache: a memory tier in every broker, and an optional shared tier.

mod crypto;
mod disk;
mod failure;
mod file;
mod file_lease;
mod key;
pub mod memory;
pub(crate) mod record;
mod redis;
mod redis_conn;
mod redis_lease;
mod redis_sentinel;
mod secrets;
mod store;

pub use self::redis::{DEFAULT_LEASE_TTL, DEFAULT_REFRESH_GRACE, RedisStore};
pub use crypto::{CacheCipher, KEY_ENV, KEY_LEN, KeySource};
pub use failure::{DEFAULT_FAILURE_HOLD, FailureRecord, MAX_FAILURE_HOLD};
pub use file::{DIR_ENV, FileStore};
pub(crate) use key::credential_fingerprint;
pub use key::{CacheKey, KeyIdentity, KeyParts};
pub use memory::MemoryCache;
pub use redis_conn::RedisTopology;
pub use secrets::MemorySecrets;
pub use store::{EntryInfo, Lease, SecretStore, SharedStore};
