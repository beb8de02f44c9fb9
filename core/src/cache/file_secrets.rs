//! The file tier as a [`SecretStore`]: refresh tokens and registration secrets, one sealed
//! file per name under `secrets/`.

use async_trait::async_trait;

use super::file::FileStore;
use super::file_io::{read_file, remove_durably};
use crate::cache::{SecretStore, record};
use crate::error::Result;
use crate::secret::Secret;

#[async_trait]
impl SecretStore for FileStore {
    async fn get_secret(&self, name: &str) -> Result<Option<Secret>> {
        let (name, path) = (name.to_owned(), self.secret_path(name));
        self.blocking(move |inner| {
            let Some((bytes, _)) = read_file(&path)? else {
                return Ok(None);
            };
            match record::open_secret(&inner.cipher, &name, &bytes) {
                Ok(secret) => Ok(Some(secret)),
                Err(e) => {
                    // Kept on disk: it may open again once the right key is configured.
                    inner.unreadable.skip(&path.display().to_string(), &e);
                    Ok(None)
                }
            }
        })
        .await
    }

    async fn set_secret(&self, name: &str, value: &Secret) -> Result<()> {
        let sealed = record::seal_secret(&self.inner.cipher, name, value)?;
        let path = self.secret_path(name);
        self.blocking(move |inner| inner.write(&path, &sealed))
            .await
    }

    async fn delete_secret(&self, name: &str) -> Result<()> {
        let path = self.secret_path(name);
        self.blocking(move |_| remove_durably(&path)).await
    }
}
