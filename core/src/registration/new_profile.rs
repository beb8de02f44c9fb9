//! Turning a freshly registered client into a profile of its own, so that the credentials the
//! server issued once go straight into configuration.
//!
//! The new profile copies what the client needs from the profile it was registered through
//! (provider, issuer or token URL, the preset's parameters such as `region`, `ca_file`) and
//! takes `client_id`, `scopes`, `auth_method`, `grant` and `redirect_uri` from the server's
//! answer. The client secret cannot live in the secret store (profiles read secrets from
//! `env:`, `file:` or a literal), so [`SecretPlacement`] says where it goes. Not copied: the
//! management `api_key`, and a `private_key` for `private_key_jwt` clients (add it).

use std::io::Write;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use crate::broker::Broker;
use crate::error::{Error, Result};
use crate::profile::Profile;
use crate::provider::AuthMethod;
use crate::registration::client::RegisteredClient;

/// Where a new profile's client secret goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretPlacement {
    /// Written to a new file (owner-only permissions; an existing file is never overwritten)
    /// and referenced as `client_secret = "file:PATH"`.
    File(PathBuf),
    /// Referenced as `client_secret = "env:NAME"`; the caller puts the secret there.
    Env(String),
    /// Written into the profile as is (the configuration then holds a secret).
    Literal,
}

impl RegisteredClient {
    /// A profile table (as JSON) for this client, based on `base`, the profile it was
    /// registered through. With [`SecretPlacement::File`] the secret file is written here.
    pub fn to_profile(&self, base: &Profile, secret: &SecretPlacement) -> Result<Value> {
        let mut out = Map::new();
        out.insert("provider".into(), base.preset.name.clone().into());
        match (&base.issuer, &base.endpoints.token) {
            (Some(issuer), _) if base.preset.discovery => {
                out.insert("issuer".into(), issuer.clone().into());
            }
            (_, Some(token_url)) => {
                out.insert("token_url".into(), token_url.as_str().into());
            }
            _ => {}
        }
        for (key, spec) in &base.preset.params {
            let by_wire = || {
                let wire = spec.wire.as_deref()?;
                base.params.iter().find(|(k, _)| k == wire).map(|(_, v)| v)
            };
            if let Some(value) = base.values.get(key).or_else(by_wire) {
                out.insert(key.clone(), value.clone().into());
            }
        }
        out.insert("client_id".into(), self.client_id.clone().into());
        if let Some(value) = &self.client_secret {
            let reference = match secret {
                SecretPlacement::Literal => value.expose().to_owned(),
                SecretPlacement::Env(name) => format!("env:{name}"),
                SecretPlacement::File(path) => {
                    write_secret_file(path, value.expose())?;
                    let text = path.to_str().ok_or_else(|| {
                        Error::config("client_secret file", "the path is not UTF-8")
                    })?;
                    format!("file:{text}")
                }
            };
            out.insert("client_secret".into(), reference.into());
        }
        let method = self.metadata.token_endpoint_auth_method();
        if let Some(method) = method.and_then(AuthMethod::parse) {
            out.insert("auth_method".into(), method.as_str().into());
        }
        if let Some(scope) = self.metadata.scope() {
            let scopes: Vec<&str> = scope.split_whitespace().collect();
            out.insert("scopes".into(), json!(scopes));
        }
        let grants = self.metadata.grant_types().unwrap_or_default();
        let has = |g: &str| grants.iter().any(|x| x == g);
        let redirect = self.metadata.redirect_uris().unwrap_or_default();
        if has("client_credentials") {
            out.insert("grant".into(), "client_credentials".into());
        } else if has("authorization_code") {
            out.insert("grant".into(), "authorization_code".into());
            if let Some(uri) = redirect.first() {
                out.insert("redirect_uri".into(), uri.clone().into());
            }
        } else if has("urn:ietf:params:oauth:grant-type:device_code") {
            out.insert("grant".into(), "device_code".into());
        }
        if let Some(ca) = base.ca_file.as_ref().and_then(|p| p.to_str()) {
            out.insert("ca_file".into(), ca.into());
        }
        Ok(Value::Object(out))
    }

    /// The same profile as TOML text: a `[profiles.NAME]` table to append to a config file.
    pub fn to_profile_toml(
        &self,
        name: &str,
        base: &Profile,
        secret: &SecretPlacement,
    ) -> Result<String> {
        profile_toml(name, &self.to_profile(base, secret)?)
    }
}

impl Broker {
    /// A profile table for `client`, registered through `profile`; see
    /// [`RegisteredClient::to_profile`].
    pub async fn client_profile(
        &self,
        profile: &str,
        client: &RegisteredClient,
        secret: &SecretPlacement,
    ) -> Result<Value> {
        let base = self.resolved_profile(profile).await?;
        client.to_profile(&base, secret)
    }
}

/// Renders a profile table (as [`RegisteredClient::to_profile`] returns it) as a
/// `[profiles.NAME]` TOML table.
pub fn profile_toml(name: &str, profile: &Value) -> Result<String> {
    toml::to_string(&json!({ "profiles": { name: profile } }))
        .map_err(|e| Error::config(format!("profile '{name}'"), format!("not TOML: {e}")))
}

/// Creates `path` with owner-only permissions and writes `secret` to it.
fn write_secret_file(path: &std::path::Path, secret: &str) -> Result<()> {
    let fail = |e: std::io::Error| {
        Error::config(
            format!("client_secret file {}", path.display()),
            format!("cannot write it: {e}"),
        )
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(secret.as_bytes()).map_err(fail)?;
    file.sync_all().map_err(fail)
}
