//! Client registration and management through a broker profile.
//!
//! The profile's preset chooses the API: RFC 7591/7592 (the default, e.g. `oidc`, whose
//! registration endpoint comes from discovery or `registration_url`) or Alvaria's
//! organisation client API (seed 002), which authenticates with a client-credentials token of
//! the profile itself plus its `api_key`.
//!
//! RFC 7592 registration access tokens live in the broker's secret store under
//! [`registration_token_name`], the client configuration URI under [`registration_uri_name`].
//! A rotated token replaces the stored one; `delete_client` forgets both.

use std::sync::Arc;

use url::Url;

use crate::broker::{Broker, TokenOptions};
use crate::error::{Error, Result};
use crate::profile::{Endpoint, Profile};
use crate::provider::RegistrationApi;
use crate::registration::alvaria::{self, Credentials, Operation};
use crate::registration::client::RegisteredClient;
use crate::registration::metadata::ClientMetadata;
use crate::registration::rfc7592;
use crate::secret::Secret;

/// Name of the secret-store entry holding the registration access token of `client_id`.
pub fn registration_token_name(client_id: &str) -> String {
    format!("registration_token:{client_id}")
}

/// Name of the secret-store entry holding the `registration_client_uri` of `client_id`.
pub fn registration_uri_name(client_id: &str) -> String {
    format!("registration_uri:{client_id}")
}

impl Broker {
    /// Registers a new client at `profile`'s provider and returns what the server issued,
    /// client secret included (shown once: keep it, e.g. with
    /// [`RegisteredClient::to_profile`]).
    ///
    /// RFC 7591: POSTs to the registration endpoint with the optional initial access token,
    /// then stores the registration access token (and configuration URI) in the secret
    /// store. Alvaria: `create` with a `myaccount.clients.create` token; `scope` is required
    /// and an initial access token is a config error. Metadata is validated before anything
    /// is sent, the management token included.
    pub async fn register_client(
        &self,
        profile: &str,
        metadata: &ClientMetadata,
        initial_access_token: Option<&Secret>,
    ) -> Result<RegisteredClient> {
        let api = self.registration_api(profile)?;
        match api {
            RegistrationApi::Rfc7592 => {
                metadata.validate()?;
                let p = self.resolved_profile(profile).await?;
                let url = p.endpoint(Endpoint::Registration)?;
                let client =
                    rfc7592::register(&self.http(), url, metadata, initial_access_token).await?;
                if let Err(e) = self.store_registration(&client).await {
                    tracing::warn!(client_id = %client.client_id, "registration access token not stored: {e}");
                }
                Ok(client)
            }
            RegistrationApi::Alvaria => {
                if initial_access_token.is_some() {
                    return Err(Error::config(
                        format!("profile '{profile}'"),
                        "the Alvaria API takes no initial access token (it uses the profile's \
                         client credentials)",
                    ));
                }
                alvaria::check_metadata(metadata)?;
                let (p, token, key) = self.alvaria_access(profile, Operation::Create).await?;
                let creds = Credentials {
                    access_token: &token,
                    api_key: &key,
                };
                alvaria::create(
                    &self.http(),
                    p.endpoint(Endpoint::Registration)?,
                    creds,
                    metadata,
                )
                .await
            }
        }
    }

    /// Reads a client's registration. RFC 7592 uses the stored registration access token (and
    /// stores a rotated one); Alvaria uses a `myaccount.clients.view` token. No secret is
    /// returned unless the server rotated it.
    pub async fn read_client(&self, profile: &str, client_id: &str) -> Result<RegisteredClient> {
        match self.registration_api(profile)? {
            RegistrationApi::Rfc7592 => {
                let (uri, token) = self.stored_registration(profile, client_id).await?;
                let client = rfc7592::read(&self.http(), &uri, &token).await?;
                self.keep_rotated(client_id, &client, &uri).await;
                Ok(client)
            }
            RegistrationApi::Alvaria => {
                let (p, token, key) = self.alvaria_access(profile, Operation::View).await?;
                let creds = Credentials {
                    access_token: &token,
                    api_key: &key,
                };
                alvaria::get(
                    &self.http(),
                    p.endpoint(Endpoint::Registration)?,
                    creds,
                    client_id,
                )
                .await
            }
        }
    }

    /// Replaces a client's metadata with `metadata` (full replacement: start from
    /// [`Broker::read_client`]'s `metadata`). RFC 7592 sends `client_id` in the body and
    /// stores a rotated registration access token, after which the old one fails.
    pub async fn update_client(
        &self,
        profile: &str,
        client_id: &str,
        metadata: &ClientMetadata,
    ) -> Result<RegisteredClient> {
        match self.registration_api(profile)? {
            RegistrationApi::Rfc7592 => {
                metadata.validate()?;
                let (uri, token) = self.stored_registration(profile, client_id).await?;
                let client =
                    rfc7592::update(&self.http(), &uri, &token, client_id, metadata).await?;
                self.keep_rotated(client_id, &client, &uri).await;
                Ok(client)
            }
            RegistrationApi::Alvaria => {
                alvaria::check_metadata(metadata)?;
                let (p, token, key) = self.alvaria_access(profile, Operation::Modify).await?;
                let creds = Credentials {
                    access_token: &token,
                    api_key: &key,
                };
                let url = p.endpoint(Endpoint::Registration)?;
                alvaria::update(&self.http(), url, creds, client_id, metadata).await
            }
        }
    }

    /// Deletes a client; the server then refuses its credentials. RFC 7592 also forgets the
    /// stored registration access token and URI.
    pub async fn delete_client(&self, profile: &str, client_id: &str) -> Result<()> {
        match self.registration_api(profile)? {
            RegistrationApi::Rfc7592 => {
                let (uri, token) = self.stored_registration(profile, client_id).await?;
                rfc7592::delete(&self.http(), &uri, &token).await?;
                let store = self.secret_store().await;
                for name in [
                    registration_token_name(client_id),
                    registration_uri_name(client_id),
                ] {
                    if let Err(e) = store.delete_secret(&name).await {
                        tracing::warn!(%client_id, "stored registration not forgotten: {e}");
                    }
                }
                Ok(())
            }
            RegistrationApi::Alvaria => {
                let (p, token, key) = self.alvaria_access(profile, Operation::Delete).await?;
                let creds = Credentials {
                    access_token: &token,
                    api_key: &key,
                };
                let url = p.endpoint(Endpoint::Registration)?;
                alvaria::delete(&self.http(), url, creds, client_id).await
            }
        }
    }

    /// Lists the clients of the profile's organisation (Alvaria; never with secrets). RFC
    /// 7592 has no list operation: a config error.
    pub async fn list_clients(&self, profile: &str) -> Result<Vec<RegisteredClient>> {
        match self.registration_api(profile)? {
            RegistrationApi::Rfc7592 => Err(Error::config(
                format!("profile '{profile}'"),
                "RFC 7591/7592 registration has no list operation",
            )),
            RegistrationApi::Alvaria => {
                let (p, token, key) = self.alvaria_access(profile, Operation::List).await?;
                let creds = Credentials {
                    access_token: &token,
                    api_key: &key,
                };
                alvaria::list(&self.http(), p.endpoint(Endpoint::Registration)?, creds).await
            }
        }
    }

    /// Stores `client`'s registration access token and configuration URI in the secret
    /// store (the URI first, so a stored token always has its URI). Does nothing for a
    /// client without a token.
    pub async fn store_registration(&self, client: &RegisteredClient) -> Result<()> {
        let Some(token) = &client.registration_access_token else {
            return Ok(());
        };
        let store = self.secret_store().await;
        if let Some(uri) = &client.registration_client_uri {
            let name = registration_uri_name(&client.client_id);
            store.set_secret(&name, &Secret::new(uri.as_str())).await?;
        }
        let name = registration_token_name(&client.client_id);
        store.set_secret(&name, token).await
    }

    /// The preset's API; presets without one speak RFC 7591/7592 when given a
    /// `registration_url`.
    fn registration_api(&self, profile: &str) -> Result<RegistrationApi> {
        let p = self.config().profile(profile)?;
        Ok(p.preset
            .registration_api
            .unwrap_or(RegistrationApi::Rfc7592))
    }

    /// The stored configuration URI and registration access token of `client_id`. Without
    /// a stored URI, `{registration_url}/{client_id}` (the common layout) is assumed.
    async fn stored_registration(&self, profile: &str, client_id: &str) -> Result<(Url, Secret)> {
        let store = self.secret_store().await;
        let missing = || {
            Error::config(
                format!("profile '{profile}', client '{client_id}'"),
                format!(
                    "no registration access token is stored (register the client through this \
                     broker, or store one under '{}')",
                    registration_token_name(client_id)
                ),
            )
        };
        let token = store
            .get_secret(&registration_token_name(client_id))
            .await?
            .ok_or_else(missing)?;
        let uri = match store.get_secret(&registration_uri_name(client_id)).await? {
            Some(uri) => Url::parse(uri.expose()).map_err(|e| {
                Error::cache(format!(
                    "stored registration URI of '{client_id}' is bad: {e}"
                ))
            })?,
            None => {
                let p = self.resolved_profile(profile).await?;
                let mut url = p.endpoint(Endpoint::Registration)?.clone();
                url.path_segments_mut()
                    .map_err(|()| Error::config("registration_url", "cannot be a base URL"))?
                    .pop_if_empty()
                    .push(client_id);
                url
            }
        };
        Ok((uri, token))
    }

    /// Keeps a rotated registration access token (and a moved URI) from a read or update.
    async fn keep_rotated(&self, client_id: &str, client: &RegisteredClient, used: &Url) {
        if client.registration_access_token.is_none() {
            return;
        }
        let mut client = client.clone();
        client.client_id = client_id.to_owned();
        if client.registration_client_uri.is_none() {
            client.registration_client_uri = Some(used.clone());
        }
        if let Err(e) = self.store_registration(&client).await {
            tracing::warn!(%client_id, "rotated registration access token not stored: {e}");
        }
    }

    /// The resolved profile, a token with `op`'s scope, and the API key.
    async fn alvaria_access(
        &self,
        profile: &str,
        op: Operation,
    ) -> Result<(Arc<Profile>, Secret, Secret)> {
        let p = self.resolved_profile(profile).await?;
        p.endpoint(Endpoint::Registration)?;
        let key = p.api_key.clone().ok_or_else(|| {
            Error::config(
                format!("profile '{profile}', key 'api_key'"),
                "is required by the Alvaria client-management API (sent as x-api-key)",
            )
        })?;
        let options = TokenOptions {
            scopes: Some(vec![op.scope().to_owned()]),
            ..TokenOptions::default()
        };
        let token = self.token(profile, &options).await?;
        Ok((p, token.token_set().access_token.clone(), key))
    }
}
