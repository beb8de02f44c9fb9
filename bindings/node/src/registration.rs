//! Client registration (RFC 7591/7592, or the provider's management API).

use std::future::Future;

use napi::Env;
use napi::bindgen_prelude::Object;
use napi_derive::napi;
use serde_json::Value;
use tokenbroker::Secret;
use tokenbroker::advanced::registration::{ClientMetadata, RegisteredClient};

use crate::broker::NativeBroker;
use crate::errors::to_napi;
use crate::promise;

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

/// A promise of the client `call` (core errors rejected as `TokenBrokerError`s) hands back.
fn client_promise<'env, F>(env: &'env Env, call: F) -> napi::Result<Object<'env>>
where
    F: Future<Output = tokenbroker::Result<RegisteredClient>> + Send + 'static,
{
    promise::spawn(env, async move {
        Ok(RegisteredClientData::from(call.await.map_err(to_napi)?))
    })
}

#[napi]
impl NativeBroker {
    /// Registers a client at the profile's provider (RFC 7591, or Alvaria's API).
    #[napi(ts_return_type = "Promise<RegisteredClientData>")]
    pub fn register_client<'env>(
        &self,
        env: &'env Env,
        profile: String,
        metadata_json: Value,
        initial_access_token: Option<String>,
    ) -> napi::Result<Object<'env>> {
        let iat = initial_access_token.map(Secret::new);
        let broker = self.inner.clone();
        client_promise(env, async move {
            let md = ClientMetadata::from_json(metadata_json)?;
            broker.register_client(&profile, &md, iat.as_ref()).await
        })
    }

    /// Reads a client's registration.
    #[napi(ts_return_type = "Promise<RegisteredClientData>")]
    pub fn read_client<'env>(
        &self,
        env: &'env Env,
        profile: String,
        client_id: String,
    ) -> napi::Result<Object<'env>> {
        let broker = self.inner.clone();
        client_promise(env, async move {
            broker.read_client(&profile, &client_id).await
        })
    }

    /// Replaces a client's metadata.
    #[napi(ts_return_type = "Promise<RegisteredClientData>")]
    pub fn update_client<'env>(
        &self,
        env: &'env Env,
        profile: String,
        client_id: String,
        metadata_json: Value,
    ) -> napi::Result<Object<'env>> {
        let broker = self.inner.clone();
        client_promise(env, async move {
            let md = ClientMetadata::from_json(metadata_json)?;
            broker.update_client(&profile, &client_id, &md).await
        })
    }

    /// Deletes a client.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn delete_client<'env>(
        &self,
        env: &'env Env,
        profile: String,
        client_id: String,
    ) -> napi::Result<Object<'env>> {
        let broker = self.inner.clone();
        promise::spawn(env, async move {
            broker
                .delete_client(&profile, &client_id)
                .await
                .map_err(to_napi)
        })
    }

    /// Lists the clients of the profile's organisation (Alvaria).
    #[napi(ts_return_type = "Promise<Array<RegisteredClientData>>")]
    pub fn list_clients<'env>(
        &self,
        env: &'env Env,
        profile: String,
    ) -> napi::Result<Object<'env>> {
        let broker = self.inner.clone();
        promise::spawn(env, async move {
            let clients = broker.list_clients(&profile).await.map_err(to_napi)?;
            Ok(clients
                .into_iter()
                .map(RegisteredClientData::from)
                .collect::<Vec<_>>())
        })
    }
}
