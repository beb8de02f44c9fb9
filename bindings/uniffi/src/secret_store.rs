//! The app's secret store (Keychain, Android Keystore) as the core's `SecretStore`.

use std::fmt;
use std::sync::Arc;

use tokenbroker::Error as CoreError;
use tokenbroker::SecretStore as CoreSecretStore;

use crate::errors::Result;

/// Long-lived secrets (refresh tokens, registration access tokens) kept by name, implemented
/// by the app over the Keychain or the Android Keystore. Calls are blocking and made from a
/// worker thread of the core's runtime; `set_secret` must be durable when it returns. Throw
/// `TokenBrokerError.Cache` (or anything: it becomes a cache error) when the store fails.
#[uniffi::export(foreign)]
pub trait SecretStore: Send + Sync {
    /// The secret stored under `name`, or null/nil.
    fn get_secret(&self, name: String) -> Result<Option<String>>;
    /// Stores `value` under `name`.
    fn set_secret(&self, name: String, value: String) -> Result<()>;
    /// Forgets the secret under `name` (no error when absent).
    fn delete_secret(&self, name: String) -> Result<()>;
}

/// Adapts the app's [`SecretStore`] to the core's async secret-store trait.
pub(crate) struct ForeignSecrets(pub(crate) Arc<dyn SecretStore>);

impl fmt::Debug for ForeignSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ForeignSecrets")
    }
}

/// Runs a foreign secret-store call on a blocking thread (Keychain and Keystore calls block).
async fn on_blocking_thread<T, F>(call: F) -> tokenbroker::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    match tokio::task::spawn_blocking(call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(CoreError::cache(format!("secret store: {e}"))),
        Err(e) => Err(CoreError::cache(format!("secret store call failed: {e}"))),
    }
}

#[async_trait::async_trait]
impl CoreSecretStore for ForeignSecrets {
    async fn get_secret(&self, name: &str) -> tokenbroker::Result<Option<tokenbroker::Secret>> {
        let (store, name) = (self.0.clone(), name.to_owned());
        let value = on_blocking_thread(move || store.get_secret(name)).await?;
        Ok(value.map(tokenbroker::Secret::new))
    }

    async fn set_secret(&self, name: &str, value: &tokenbroker::Secret) -> tokenbroker::Result<()> {
        let (store, name, value) = (self.0.clone(), name.to_owned(), value.expose().to_owned());
        on_blocking_thread(move || store.set_secret(name, value)).await
    }

    async fn delete_secret(&self, name: &str) -> tokenbroker::Result<()> {
        let (store, name) = (self.0.clone(), name.to_owned());
        on_blocking_thread(move || store.delete_secret(name)).await
    }
}
