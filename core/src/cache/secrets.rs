//! A secret store that lives only as long as the process (memory-only brokers).

use std::collections::HashMap;

use async_trait::async_trait;
use parking_lot::Mutex;

use crate::cache::SecretStore;
use crate::error::Result;
use crate::secret::Secret;

/// Secrets kept in memory. Used when `[cache] store = "memory"` or when no durable store can
/// be opened; refresh tokens then last until the process exits.
#[derive(Default)]
pub struct MemorySecrets {
    map: Mutex<HashMap<String, Secret>>,
}

impl std::fmt::Debug for MemorySecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MemorySecrets({} entries)", self.map.lock().len())
    }
}

#[async_trait]
impl SecretStore for MemorySecrets {
    async fn get_secret(&self, name: &str) -> Result<Option<Secret>> {
        Ok(self.map.lock().get(name).cloned())
    }

    async fn set_secret(&self, name: &str, value: &Secret) -> Result<()> {
        self.map.lock().insert(name.to_owned(), value.clone());
        Ok(())
    }

    async fn delete_secret(&self, name: &str) -> Result<()> {
        self.map.lock().remove(name);
        Ok(())
    }
}
