//! Client registration (RFC 7591/7592, or the provider's management API).

use std::fmt;
use std::sync::Arc;

use tokenbroker::Secret;
use tokenbroker::advanced::registration::{ClientMetadata, RegisteredClient as CoreClient};

use crate::broker::Broker;
use crate::calls::{blocking, on_runtime};
use crate::errors::{Result, config_error};

/// A client registered at a provider. `toString()` / `description` never show a credential;
/// `clientSecret()`, `registrationAccessToken()` and `apiKey()` do, on purpose.
#[derive(uniffi::Object)]
#[uniffi::export(Display)]
pub struct RegisteredClient(CoreClient);

impl fmt::Display for RegisteredClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RegisteredClient(client_id={:?}, client_name={:?})",
            self.0.client_id,
            self.0.metadata.client_name()
        )
    }
}

impl fmt::Debug for RegisteredClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[uniffi::export]
impl RegisteredClient {
    /// The client identifier.
    pub fn client_id(&self) -> String {
        self.0.client_id.clone()
    }

    /// The client secret: given when the client is created (keep it), rarely afterwards.
    pub fn client_secret(&self) -> Option<String> {
        self.0.client_secret.as_ref().map(|s| s.expose().to_owned())
    }

    /// The RFC 7592 registration access token, when the server issued one.
    pub fn registration_access_token(&self) -> Option<String> {
        let token = self.0.registration_access_token.as_ref();
        token.map(|s| s.expose().to_owned())
    }

    /// The RFC 7592 client configuration endpoint.
    pub fn registration_client_uri(&self) -> Option<String> {
        let uri = self.0.registration_client_uri.as_ref();
        uri.map(|u| u.as_str().to_owned())
    }

    /// When the client id was issued, in seconds since the Unix epoch.
    pub fn client_id_issued_at(&self) -> Option<u64> {
        self.0.client_id_issued_at
    }

    /// When the client secret expires, in seconds since the Unix epoch; 0 means never.
    pub fn client_secret_expires_at(&self) -> Option<u64> {
        self.0.client_secret_expires_at
    }

    /// The provider's API key for the new client (Alvaria's `x_api_key`).
    pub fn api_key(&self) -> Option<String> {
        self.0.api_key.as_ref().map(|s| s.expose().to_owned())
    }

    /// The metadata the server kept, as JSON text (an object of RFC 7591 fields).
    pub fn metadata(&self) -> String {
        self.0.metadata.to_json().to_string()
    }

    /// The client as one JSON object in the server's field names; credentials only when
    /// `include_secrets` is true.
    #[uniffi::method(default(include_secrets = false))]
    pub fn to_json(&self, include_secrets: bool) -> String {
        self.0.to_json(include_secrets).to_string()
    }
}

/// JSON text of RFC 7591 fields → the core's metadata (which the core validates).
fn client_metadata(metadata: &str) -> Result<ClientMetadata> {
    let value = serde_json::from_str(metadata)
        .map_err(|e| config_error("metadata", &format!("not valid JSON: {e}")))?;
    Ok(ClientMetadata::from_json(value)?)
}

fn client_object(client: CoreClient) -> Arc<RegisteredClient> {
    Arc::new(RegisteredClient(client))
}

fn client_objects(clients: Vec<CoreClient>) -> Vec<Arc<RegisteredClient>> {
    clients.into_iter().map(client_object).collect()
}

#[uniffi::export]
impl Broker {
    /// Registers a client at `profile`'s provider (RFC 7591, or the provider's management
    /// API); `metadata` is JSON text of RFC 7591 fields. The result holds the new secret.
    #[uniffi::method(default(initial_access_token = None))]
    pub async fn register_client(
        &self,
        profile: String,
        metadata: String,
        initial_access_token: Option<String>,
    ) -> Result<Arc<RegisteredClient>> {
        let metadata = client_metadata(&metadata)?;
        let iat = initial_access_token.map(Secret::new);
        let broker = self.core();
        let call = async move {
            let iat = iat.as_ref();
            broker.register_client(&profile, &metadata, iat).await
        };
        on_runtime(call).await.map(client_object)
    }

    /// `registerClient()`, blocking the calling thread.
    #[uniffi::method(default(initial_access_token = None))]
    pub fn register_client_blocking(
        &self,
        profile: String,
        metadata: String,
        initial_access_token: Option<String>,
    ) -> Result<Arc<RegisteredClient>> {
        let metadata = client_metadata(&metadata)?;
        let iat = initial_access_token.map(Secret::new);
        blocking(self.0.register_client(&profile, &metadata, iat.as_ref())).map(client_object)
    }

    /// Reads a client's registration (RFC 7592).
    pub async fn read_client(
        &self,
        profile: String,
        client_id: String,
    ) -> Result<Arc<RegisteredClient>> {
        let broker = self.core();
        on_runtime(async move { broker.read_client(&profile, &client_id).await })
            .await
            .map(client_object)
    }

    /// `readClient()`, blocking the calling thread.
    pub fn read_client_blocking(
        &self,
        profile: String,
        client_id: String,
    ) -> Result<Arc<RegisteredClient>> {
        blocking(self.0.read_client(&profile, &client_id)).map(client_object)
    }

    /// Replaces a client's metadata (RFC 7592; a full replacement: start from `metadata()`).
    pub async fn update_client(
        &self,
        profile: String,
        client_id: String,
        metadata: String,
    ) -> Result<Arc<RegisteredClient>> {
        let metadata = client_metadata(&metadata)?;
        let broker = self.core();
        let call = async move { broker.update_client(&profile, &client_id, &metadata).await };
        on_runtime(call).await.map(client_object)
    }

    /// `updateClient()`, blocking the calling thread.
    pub fn update_client_blocking(
        &self,
        profile: String,
        client_id: String,
        metadata: String,
    ) -> Result<Arc<RegisteredClient>> {
        let metadata = client_metadata(&metadata)?;
        blocking(self.0.update_client(&profile, &client_id, &metadata)).map(client_object)
    }

    /// Deletes a client (RFC 7592) and forgets its stored registration token.
    pub async fn delete_client(&self, profile: String, client_id: String) -> Result<()> {
        let broker = self.core();
        on_runtime(async move { broker.delete_client(&profile, &client_id).await }).await
    }

    /// `deleteClient()`, blocking the calling thread.
    pub fn delete_client_blocking(&self, profile: String, client_id: String) -> Result<()> {
        blocking(self.0.delete_client(&profile, &client_id))
    }

    /// The provider's client list, where it has one.
    pub async fn list_clients(&self, profile: String) -> Result<Vec<Arc<RegisteredClient>>> {
        let broker = self.core();
        on_runtime(async move { broker.list_clients(&profile).await })
            .await
            .map(client_objects)
    }

    /// `listClients()`, blocking the calling thread.
    pub fn list_clients_blocking(&self, profile: String) -> Result<Vec<Arc<RegisteredClient>>> {
        blocking(self.0.list_clients(&profile)).map(client_objects)
    }
}
