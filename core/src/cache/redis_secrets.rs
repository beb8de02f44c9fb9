//! Redis as a [`SecretStore`]: refresh tokens and registration secrets, sealed with the
//! store's key, read under their current and their pre-hash-tag names.

use ::redis::AsyncCommands;
use async_trait::async_trait;

use super::redis::RedisStore;
use crate::cache::{SecretStore, record};
use crate::error::Result;
use crate::secret::Secret;

#[async_trait]
impl SecretStore for RedisStore {
    async fn get_secret(&self, name: &str) -> Result<Option<Secret>> {
        let digest = record::name_digest(name);
        let mut sealed: Option<Vec<u8>> = None;
        let mut redis_key = String::new();
        for candidate in [self.key("secret", &digest), self.legacy_secret_key(&digest)] {
            sealed = self
                .conn
                .clone()
                .get(&candidate)
                .await
                .map_err(|e| self.failed("GET", e))?;
            redis_key = candidate;
            if sealed.is_some() {
                break;
            }
        }
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        match record::open_secret(&self.cipher, name, &sealed) {
            Ok(secret) => Ok(Some(secret)),
            Err(e) => {
                self.unreadable.skip(&redis_key, &e);
                Ok(None)
            }
        }
    }

    async fn set_secret(&self, name: &str, value: &Secret) -> Result<()> {
        let redis_key = self.key("secret", &record::name_digest(name));
        let sealed = record::seal_secret(&self.cipher, name, value)?;
        self.conn
            .clone()
            .set::<_, _, ()>(redis_key, sealed)
            .await
            .map_err(|e| self.failed("SET", e))
    }

    async fn delete_secret(&self, name: &str) -> Result<()> {
        let digest = record::name_digest(name);
        self.delete(self.legacy_secret_key(&digest)).await?;
        self.delete(self.key("secret", &digest)).await
    }
}
