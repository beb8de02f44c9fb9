//! The token cache: a memory tier in every broker, and an optional shared tier.

mod key;
mod store;

pub use key::{CacheKey, KeyParts};
pub use store::{EntryInfo, Lease, SecretStore, SharedStore};
