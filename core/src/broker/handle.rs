//! [`ProfileHandle`]: a profile looked up once, for the bindings' warm paths.

use std::sync::Arc;
use std::time::Duration;

use super::{Broker, Inner, ProfileState};
use crate::cache::CacheKey;
use crate::error::Result;
use crate::token::AccessToken;

impl Broker {
    /// `profile` looked up once, for bindings' hot paths that ask for its token many times.
    pub fn profile_handle(&self, profile: &str) -> Result<ProfileHandle> {
        let state = self.inner.state(profile)?;
        // Only a sign-in changes a profile's keys, and client credentials have none.
        let key = (!state.is_user_grant()).then(|| state.default_key());
        Ok(ProfileHandle {
            inner: self.inner.clone(),
            state,
            key,
        })
    }
}

/// A profile of a broker, looked up once: [`ProfileHandle::cached_token`] skips the name
/// lookup that [`Broker::cached_token`] does on every call.
#[derive(Clone)]
pub struct ProfileHandle {
    inner: Arc<Inner>,
    state: Arc<ProfileState>,
    /// The profile's key when it can never change (client credentials), so a lookup takes no
    /// lock and no reference to find it; `None`: asked of the state on every call.
    key: Option<CacheKey>,
}

impl ProfileHandle {
    /// The profile's token with its own scopes if a valid one is in memory; never does I/O
    /// (`None` while an invalidation check is due, as for [`Broker::cached_token`]).
    #[inline]
    pub fn cached_token(&self, min_ttl: Duration) -> Option<AccessToken> {
        match &self.key {
            Some(key) => self.inner.lookup(&self.state, key, min_ttl),
            None => (self.inner).lookup(&self.state, &self.state.default_key(), min_ttl),
        }
    }
}

impl std::fmt::Debug for ProfileHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProfileHandle({})", self.state.profile().name)
    }
}
