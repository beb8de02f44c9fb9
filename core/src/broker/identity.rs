//! Who is signed in with a user-grant profile on this machine.
//!
//! The shared tier (Redis, or any store other users can write) is never asked: a process
//! learns the identity from this user's own secret store (the file store in the cache
//! directory, or the app's store), where a sign-in records it, else from the profile's
//! configured `subject`, else, for a configured refresh token, from a fingerprint of it.

use std::sync::Arc;

use super::{Inner, ProfileState};
use crate::error::{Error, Result};
use crate::profile::Profile;

impl Inner {
    /// Re-reads who is signed in with `state`'s profile here and keys it by that identity.
    /// Fails with an `interaction` error for a user grant nobody signed in to on this machine.
    pub(super) async fn identify(&self, state: &ProfileState) -> Result<()> {
        if !state.is_user_grant() {
            return Ok(());
        }
        let local = self.local_secrets().await;
        let recorded = local.get_secret(&state.identity_record_name()).await?;
        let identity = match recorded {
            Some(identity) => Some(identity.expose().to_owned()),
            None => configured_identity(state),
        };
        state.set_identity(identity);
        self.adopt_legacy_refresh_token(state).await?;
        if state.identity().is_none() {
            return Err(Error::interaction(format!(
                "profile '{}' has no refresh token yet: nobody signed in with it on this \
                 machine; sign in with login() first (a fleet sharing one user's sign-in sets \
                 the profile's `subject`)",
                state.profile().name
            )));
        }
        Ok(())
    }

    /// Moves a refresh token stored by a release before identity keys (under the profile
    /// name) to the identity's name, once per process, where the secret store is this user's
    /// own: on a shared Redis the old name is shared by every user of the profile name, so it
    /// is left alone there.
    async fn adopt_legacy_refresh_token(&self, state: &ProfileState) -> Result<()> {
        if state.identity().is_none() || !state.take_legacy_check() {
            return Ok(());
        }
        let secrets = self.secret_store().await;
        if !Arc::ptr_eq(&secrets, &self.local_secrets().await) {
            return Ok(());
        }
        let (legacy, name) = (
            state.legacy_refresh_secret_name(),
            state.refresh_secret_name(),
        );
        let Some(old) = secrets.get_secret(&legacy).await? else {
            return Ok(());
        };
        if secrets.get_secret(&name).await?.is_none() {
            secrets.set_secret(&name, &old).await?;
            let old_sub = format!("{legacy}:sub");
            if let Some(sub) = secrets.get_secret(&old_sub).await? {
                secrets
                    .set_secret(&state.subject_secret_name(), &sub)
                    .await?;
            }
        }
        for stale in [format!("{legacy}:sub"), legacy] {
            secrets.delete_secret(&stale).await?;
        }
        Ok(())
    }

    /// Records `identity` as signed in with `state`'s profile here, and keys the profile by it.
    pub(super) async fn record_identity(
        &self,
        state: &ProfileState,
        identity: String,
    ) -> Result<()> {
        let local = self.local_secrets().await;
        local
            .set_secret(&state.identity_record_name(), &identity.clone().into())
            .await?;
        state.set_identity(Some(identity));
        Ok(())
    }

    /// Forgets the recorded sign-in; the profile falls back to its configured identity.
    pub(super) async fn forget_identity(&self, state: &ProfileState) -> Result<()> {
        if !state.is_user_grant() {
            return Ok(());
        }
        let local = self.local_secrets().await;
        local.delete_secret(&state.identity_record_name()).await?;
        state.set_identity(configured_identity(state));
        Ok(())
    }
}

/// The identity a sign-in returned: the validated ID token's `sub` at the profile's issuer,
/// else the configured `subject`, else a fresh random name (this machine's sign-in only).
/// A `sub` other than the configured `subject` is refused.
pub(super) fn signed_in_identity(profile: &Profile, sub: Option<&str>) -> Result<String> {
    match (sub, profile.subject.as_deref()) {
        (Some(sub), Some(configured)) if sub != configured => Err(Error::interaction(format!(
            "profile '{}': signed in as another user than its configured `subject`; sign in \
             as that user or change `subject`",
            profile.name
        ))),
        (Some(sub), _) | (None, Some(sub)) => Ok(subject_identity(profile, sub)),
        (None, None) => Ok(format!("login={}", crate::cache::random_hex(16)?)),
    }
}

/// The identity named by the configuration alone: `subject`, else the configured refresh
/// token's fingerprint (salted like the client credentials', computed once); `None` when the
/// profile must be signed in to.
fn configured_identity(state: &ProfileState) -> Option<String> {
    let profile = state.profile();
    if let Some(subject) = &profile.subject {
        return Some(subject_identity(profile, subject));
    }
    let refresh_token = profile.refresh_token.as_ref()?;
    let fingerprint = state.fingerprint_once(|salt| {
        crate::cache::secret_name_fingerprint(salt, &[("refresh_token", refresh_token.expose())])
    });
    Some(format!("refresh_token={fingerprint}"))
}

/// `sub` at the profile's issuer (or token endpoint, without one).
pub(super) fn subject_identity(profile: &Profile, sub: &str) -> String {
    let issuer = profile
        .issuer
        .as_deref()
        .or(profile.endpoints.token.as_ref().map(|u| u.as_str()))
        .unwrap_or_default();
    format!("iss={issuer} sub={sub}")
}
