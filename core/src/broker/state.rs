//! Per-profile state kept by a broker: cache keys, discovery result, refresh lock.

use std::sync::{Arc, OnceLock};

use crate::cache::{CacheKey, KeyParts};
use crate::error::Result;
use crate::http::HttpClient;
use crate::profile::{Grant, Profile};

/// A profile as a broker holds it.
#[derive(Debug)]
pub struct ProfileState {
    base: Profile,
    resolved: OnceLock<Arc<Profile>>,
    /// The profile's [`crate::cache::credential_fingerprint`], computed on first use (it is
    /// deliberately slow).
    credential: OnceLock<String>,
    default_key: OnceLock<CacheKey>,
    grant_key: CacheKey,
    refresh_lease: CacheKey,
    /// Held while this process refreshes the profile's refresh token.
    pub(crate) refresh_lock: tokio::sync::Mutex<()>,
}

impl ProfileState {
    /// State for `profile`, with its default cache key computed once.
    pub fn new(profile: Profile) -> Self {
        let grant_key = cache_key(&profile, &[]);
        // Not bound to the credential: a rotated client secret keeps the signed-in user's
        // refresh token. Its own namespace: a fetch holds the lease of its cache key, which equals the grant
        // key for a profile without scopes, while it takes the refresh lease.
        let refresh_lease =
            CacheKey::from_canonical(format!("refresh-lease\n{}", grant_key.canonical()));
        Self {
            base: profile,
            resolved: OnceLock::new(),
            credential: OnceLock::new(),
            default_key: OnceLock::new(),
            grant_key,
            refresh_lease,
            refresh_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The profile as configured (before discovery).
    pub fn profile(&self) -> &Profile {
        &self.base
    }

    /// The cache key for the profile's scopes, or for `scopes` when given.
    #[inline]
    pub fn key(&self, scopes: Option<&[String]>) -> CacheKey {
        match scopes {
            None => self.default_key().clone(),
            Some(s) => cache_key(&self.base, s).bound_to(self.credential()),
        }
    }

    /// The cache key for the profile's own scopes.
    #[inline]
    pub fn default_key(&self) -> &CacheKey {
        first_set(&self.default_key, || {
            cache_key(&self.base, &self.base.scopes).bound_to(self.credential())
        })
    }

    fn credential(&self) -> &str {
        first_set::<String>(&self.credential, || {
            let p = &self.base;
            let mut credentials: Vec<(&str, &str)> = [
                ("client_secret", &p.client_secret),
                ("private_key", &p.private_key),
                ("api_key", &p.api_key),
            ]
            .into_iter()
            .filter_map(|(name, value)| value.as_ref().map(|v| (name, v.expose())))
            .collect();
            if let Some(cert) = &p.certificate {
                credentials.push(("certificate", cert));
            }
            let headers: Vec<(String, &str)> = p
                .headers
                .iter()
                .map(|(n, v)| (format!("header:{n}"), v.expose()))
                .collect();
            credentials.extend(headers.iter().map(|(n, v)| (n.as_str(), *v)));
            let salt = self.grant_key.canonical();
            crate::cache::credential_fingerprint(salt, &credentials)
        })
    }

    /// Name of the secret holding this profile's refresh token. Profiles of the same client,
    /// grant and parameters share it, whatever scopes they ask for.
    pub fn refresh_secret_name(&self) -> String {
        format!("refresh_token:{}", self.grant_key.digest_hex())
    }

    /// Name of the record of the `sub` that signed in with the stored refresh token, which
    /// the ID tokens of refreshes must repeat (OpenID Connect Core §12.2).
    pub fn subject_secret_name(&self) -> String {
        format!("{}:sub", self.refresh_secret_name())
    }

    /// Name of the record of a configured refresh token the server refused, so that it is
    /// not sent again.
    pub fn refused_secret_name(&self) -> String {
        format!("{}:refused", self.refresh_secret_name())
    }

    /// The lease key that serialises refreshes of this profile's refresh token across
    /// processes.
    pub fn refresh_lease(&self) -> &CacheKey {
        &self.refresh_lease
    }

    /// The profile with its endpoints discovered (once) when it names an OIDC issuer.
    pub async fn resolved(&self, http: &HttpClient) -> Result<Arc<Profile>> {
        // Not `get_or_try_init`: a caller would wait for a discovery in flight, and one in
        // flight in the parent at a fork never ends in the child. Two first callers may both
        // discover (fetches of one key already share a flight); the first result is kept.
        if let Some(profile) = self.resolved.get() {
            return Ok(profile.clone());
        }
        let mut profile = self.base.clone();
        if profile.preset.discovery {
            if let Some(issuer) = profile.issuer.clone() {
                let metadata = crate::discovery::discover(http, &issuer).await?;
                crate::discovery::apply(&metadata, &mut profile);
            }
        }
        Ok(first_set(&self.resolved, || Arc::new(profile)).clone())
    }
}

/// The canonical key of a profile's token for `scopes`. The server is named by its token
/// endpoint, or by its issuer when endpoints come from discovery.
fn cache_key(profile: &Profile, scopes: &[String]) -> CacheKey {
    let server = profile
        .endpoints
        .token
        .as_ref()
        .map(|u| u.as_str())
        .or(profile.issuer.as_deref())
        .unwrap_or_default();
    let user_grant = !matches!(profile.grant, Grant::ClientCredentials);
    CacheKey::new(&KeyParts {
        token_url: server,
        client_id: &profile.client_id,
        grant: profile.grant.as_str(),
        subject: if user_grant { &profile.name } else { "" },
        scopes,
        params: &profile.params,
    })
}

/// The cell's value, computed by the caller when it is empty. Unlike `get_or_init` nobody
/// waits for another thread's computation: a thread that was computing when the process
/// forked does not exist in the child, which would wait for it forever.
fn first_set<T>(cell: &OnceLock<T>, compute: impl FnOnce() -> T) -> &T {
    if let Some(value) = cell.get() {
        return value;
    }
    let _ = cell.set(compute());
    cell.get().expect("set just now, by this thread or another")
}
