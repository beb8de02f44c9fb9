//! The token cache: a memory tier in every broker, and an optional shared tier.

mod crypto;
mod disk;
mod file;
mod file_generation;
pub(crate) mod invalidation;
mod key;
pub mod memory;
pub(crate) mod record;
mod redis;
mod secrets;
mod store;

pub use self::redis::{DEFAULT_LEASE_TTL, DEFAULT_REFRESH_GRACE, RedisStore};
pub use crypto::{CacheCipher, KEY_ENV, KEY_LEN, KeySource};
pub use file::{DIR_ENV, FileStore};
pub use invalidation::INVALIDATION_BOUND;
pub(crate) use key::credential_fingerprint;
pub use key::{CacheKey, KeyIdentity, KeyParts};
pub use memory::MemoryCache;
pub use secrets::MemorySecrets;
pub use store::{EntryInfo, Lease, SecretStore, SharedStore};
