//! Client registration (RFC 7591/7592, or the provider's management API).

use napi_derive::napi;
use serde_json::Value;
use tokenbroker::Secret;
use tokenbroker::advanced::registration::{ClientMetadata, RegisteredClient};

use crate::broker::NativeBroker;
use crate::errors::to_napi;

/// A registered client: its public fields as RFC 7591 JSON, its credentials apart.
#[napi(object)]
pub struct RegisteredClientData {
    /// `client_id`, the metadata the server kept, `registration_client_uri`, … (no secret).
    pub info: Value,
    /// The client secret, when the server sent one.
    pub client_secret: Option<String>,
    /// The RFC 7592 registration access token, when issued or rotated.
    pub registration_access_token: Option<String>,
    /// Alvaria's `x_api_key`, when issued.
    pub api_key: Option<String>,
}

impl From<RegisteredClient> for RegisteredClientData {
    fn from(c: RegisteredClient) -> Self {
        let expose = |s: &Option<Secret>| s.as_ref().map(|s| s.expose().to_owned());
        Self {
            info: c.to_json(false),
            client_secret: expose(&c.client_secret),
            registration_access_token: expose(&c.registration_access_token),
            api_key: expose(&c.api_key),
        }
    }
}

fn metadata(value: Value) -> napi::Result<ClientMetadata> {
    ClientMetadata::from_json(value).map_err(to_napi)
}

#[napi]
impl NativeBroker {
    /// Registers a client at the profile's provider (RFC 7591, or Alvaria's API).
    #[napi]
    pub async fn register_client(
        &self,
        profile: String,
        metadata_json: Value,
        initial_access_token: Option<String>,
    ) -> napi::Result<RegisteredClientData> {
        let md = metadata(metadata_json)?;
        let iat = initial_access_token.map(Secret::new);
        let client = self
            .inner
            .register_client(&profile, &md, iat.as_ref())
            .await
            .map_err(to_napi)?;
        Ok(client.into())
    }

    /// Reads a client's registration.
    #[napi]
    pub async fn read_client(
        &self,
        profile: String,
        client_id: String,
    ) -> napi::Result<RegisteredClientData> {
        let client = self
            .inner
            .read_client(&profile, &client_id)
            .await
            .map_err(to_napi)?;
        Ok(client.into())
    }

    /// Replaces a client's metadata.
    #[napi]
    pub async fn update_client(
        &self,
        profile: String,
        client_id: String,
        metadata_json: Value,
    ) -> napi::Result<RegisteredClientData> {
        let md = metadata(metadata_json)?;
        let client = self
            .inner
            .update_client(&profile, &client_id, &md)
            .await
            .map_err(to_napi)?;
        Ok(client.into())
    }

    /// Deletes a client.
    #[napi]
    pub async fn delete_client(&self, profile: String, client_id: String) -> napi::Result<()> {
        self.inner
            .delete_client(&profile, &client_id)
            .await
            .map_err(to_napi)
    }

    /// Lists the clients of the profile's organisation (Alvaria).
    #[napi]
    pub async fn list_clients(&self, profile: String) -> napi::Result<Vec<RegisteredClientData>> {
        let clients = self.inner.list_clients(&profile).await.map_err(to_napi)?;
        Ok(clients.into_iter().map(Into::into).collect())
    }
}
