//! Per-profile state kept by a broker: cache keys, discovery result, refresh lock.
//!
//! User-grant keys (tokens and refresh tokens) name the signed-in identity, not the profile
//! name, so that users of one shared tier with the same profile name never share them. The
//! identity is learnt from this machine's own records (see `identity.rs`); until then the
//! keys name no one and nothing is stored under them.

use std::sync::{Arc, OnceLock, RwLock};

use crate::cache::{CacheKey, KeyParts};
use crate::profile::{Grant, Profile};

/// A profile as a broker holds it.
#[derive(Debug)]
pub struct ProfileState {
    base: Profile,
    resolved: OnceLock<Arc<Profile>>,
    /// The profile's [`crate::cache::credential_fingerprint`], computed on first use.
    credential: OnceLock<String>,
    /// The fingerprint of the configured refresh token (see `identity.rs`), computed once.
    refresh_fingerprint: OnceLock<String>,
    /// Whether this process looked for a refresh token stored under the old name already.
    legacy_checked: std::sync::atomic::AtomicBool,
    /// The grant key without a subject: the credential fingerprint's salt, and the name of
    /// the record of who is signed in.
    base_key: CacheKey,
    keys: RwLock<Arc<IdentityKeys>>,
    /// Held while this process refreshes the profile's refresh token.
    pub(crate) refresh_lock: tokio::sync::Mutex<()>,
}

/// The keys of one identity of a profile.
#[derive(Debug)]
struct IdentityKeys {
    /// Who the keys belong to: `None` for a user grant whose sign-in is not known yet (and for
    /// client-credentials profiles, which are keyed by client and credential instead).
    identity: Option<String>,
    default_key: OnceLock<CacheKey>,
    grant_key: CacheKey,
    refresh_lease: CacheKey,
}

impl IdentityKeys {
    fn new(profile: &Profile, identity: Option<String>) -> Self {
        let grant_key = cache_key(profile, identity.as_deref(), &[]);
        // Not bound to the credential: a rotated client secret keeps the signed-in user's
        // refresh token. Its own namespace: a fetch holds the lease of its cache key, which
        // equals the grant key for a profile without scopes, while it takes the refresh lease.
        let refresh_lease =
            CacheKey::from_canonical(format!("refresh-lease\n{}", grant_key.canonical()));
        Self {
            identity,
            default_key: OnceLock::new(),
            grant_key,
            refresh_lease,
        }
    }
}

impl ProfileState {
    /// State for `profile`, with its default cache key computed once.
    pub fn new(profile: Profile) -> Self {
        let base_key = cache_key(&profile, None, &[]);
        let keys = RwLock::new(Arc::new(IdentityKeys::new(&profile, None)));
        Self {
            base: profile,
            resolved: OnceLock::new(),
            credential: OnceLock::new(),
            refresh_fingerprint: OnceLock::new(),
            legacy_checked: Default::default(),
            base_key,
            keys,
            refresh_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Whether tokens of this profile belong to a signed-in user (every grant but client
    /// credentials), and so are keyed by [`ProfileState::identity`].
    pub fn is_user_grant(&self) -> bool {
        !matches!(self.base.grant, Grant::ClientCredentials)
    }

    /// The identity this profile's user-grant keys name, once known.
    pub fn identity(&self) -> Option<String> {
        crate::locks::read(&self.keys).identity.clone()
    }

    /// Keys the profile's user-grant entries by `identity` from now on (`None`: nobody).
    pub fn set_identity(&self, identity: Option<String>) {
        if !self.is_user_grant() || crate::locks::read(&self.keys).identity == identity {
            return;
        }
        *crate::locks::write(&self.keys) = Arc::new(IdentityKeys::new(&self.base, identity));
    }

    /// Where releases before identity keys stored this profile's refresh token: under a
    /// grant key naming the profile (see `identity.rs`, which moves it once).
    pub(crate) fn legacy_refresh_secret_name(&self) -> String {
        let legacy = IdentityKeys::new(&self.base, Some(self.base.name.clone()));
        format!("refresh_token:{}", legacy.grant_key.digest_hex())
    }

    /// True the first time it is called: the caller looks for a legacy refresh token.
    pub(crate) fn take_legacy_check(&self) -> bool {
        !self
            .legacy_checked
            .swap(true, std::sync::atomic::Ordering::Relaxed)
    }

    /// The configured refresh token's fingerprint, made by `make` (given the salt) once.
    pub(crate) fn fingerprint_once(&self, make: impl FnOnce(&str) -> String) -> &str {
        first_set::<String>(&self.refresh_fingerprint, || {
            make(self.base_key.canonical())
        })
    }

    /// Holds the identity slot across a fork, so a child never inherits it held.
    pub(crate) fn lock_for_fork(&self) -> impl Sized + '_ {
        crate::locks::write(&self.keys)
    }

    /// Name of the record, in this machine's own secret store, of the identity signed in
    /// with this profile here.
    pub(crate) fn identity_record_name(&self) -> String {
        let record = format!(
            "signed-in\n{}\n{}",
            self.base.name,
            self.base_key.canonical()
        );
        format!(
            "signed_in:{}",
            CacheKey::from_canonical(record).digest_hex()
        )
    }

    /// The profile as configured (before discovery).
    pub fn profile(&self) -> &Profile {
        &self.base
    }

    /// The cache key for the profile's scopes, or for `scopes` when given.
    #[inline]
    pub fn key(&self, scopes: Option<&[String]>) -> CacheKey {
        match scopes {
            None => self.default_key(),
            Some(s) => {
                let identity = crate::locks::read(&self.keys).identity.clone();
                cache_key(&self.base, identity.as_deref(), s).bound_to(self.credential())
            }
        }
    }

    /// The cache key for the profile's own scopes.
    #[inline]
    pub fn default_key(&self) -> CacheKey {
        let keys = crate::locks::read(&self.keys).clone();
        first_set(&keys.default_key, || {
            cache_key(&self.base, keys.identity.as_deref(), &self.base.scopes)
                .bound_to(self.credential())
        })
        .clone()
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
            let salt = self.base_key.canonical();
            crate::cache::credential_fingerprint(salt, &credentials)
        })
    }

    /// Name of the secret holding this profile's refresh token. Profiles of the same client,
    /// grant and parameters share it, whatever scopes they ask for.
    pub fn refresh_secret_name(&self) -> String {
        format!(
            "refresh_token:{}",
            crate::locks::read(&self.keys).grant_key.digest_hex()
        )
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
    pub fn refresh_lease(&self) -> CacheKey {
        crate::locks::read(&self.keys).refresh_lease.clone()
    }

    /// The profile with its endpoints resolved, once that was done in this process.
    pub fn known_resolved(&self) -> Option<Arc<Profile>> {
        self.resolved.get().cloned()
    }

    /// The issuer whose metadata resolving the profile needs, if it discovers its endpoints.
    pub fn discovers(&self) -> Option<&str> {
        match self.base.preset.discovery {
            true => self.base.issuer.as_deref(),
            false => None,
        }
    }

    /// Resolves the profile's endpoints with `metadata` (`None`: nothing to discover) and keeps
    /// the result. Not `get_or_try_init`: a caller would wait for a discovery in flight, and
    /// one in flight in the parent at a fork never ends in the child; two first callers may
    /// both resolve, and the first result is kept.
    pub fn resolve_with(&self, metadata: Option<&crate::discovery::Metadata>) -> Arc<Profile> {
        first_set(&self.resolved, || {
            let mut profile = self.base.clone();
            if let Some(metadata) = metadata {
                crate::discovery::apply(metadata, &mut profile);
            }
            Arc::new(profile)
        })
        .clone()
    }
}

/// The canonical key of a profile's token for `scopes`, for user grants that of `identity`.
/// The server is named by its token endpoint, or by its issuer when endpoints come from
/// discovery.
fn cache_key(profile: &Profile, identity: Option<&str>, scopes: &[String]) -> CacheKey {
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
        subject: if user_grant {
            identity.unwrap_or_default()
        } else {
            ""
        },
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
