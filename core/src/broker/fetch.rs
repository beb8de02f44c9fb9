//! The miss path: one flight per key, the shared tier with its lease, the grant, and
//! refresh-ahead.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::FutureExt;

use super::{Inner, ProfileState};
use crate::cache::memory::Lookup;
use crate::cache::{CacheKey, Lease, SecretStore, SharedStore};
use crate::error::{Error, Result};
use crate::flow;
use crate::profile::{Endpoint, Grant, Profile};
use crate::runtime;
use crate::stats::Counters;
use crate::token::{AccessToken, TokenSet};

/// Longest wait for another process's or machine's fetch of the same key.
const LEASE_WAIT: Duration = Duration::from_secs(30);

impl Inner {
    /// Joins the fetch in flight for `key`, or starts one on the core runtime.
    ///
    /// The fetch runs as its own task: a caller that gives up (timeout, cancelled future,
    /// Ctrl-C) does not cancel it for the others. `newer_than` asks for a token issued after
    /// that instant (forced and background refreshes).
    pub(super) async fn flight(
        this: &Arc<Self>,
        state: Arc<ProfileState>,
        key: CacheKey,
        scopes: Vec<String>,
        min_ttl: Duration,
        newer_than: Option<SystemTime>,
    ) -> Result<AccessToken> {
        let flight = {
            let mut flights = crate::locks::lock(&this.flights);
            // A fetch stores its token before it leaves `flights`, so under this lock a caller
            // either finds the flight or finds the token: the miss it saw may be stale.
            if newer_than.is_none() {
                if let Lookup::Hit(token, _) = this.memory.get(&key, SystemTime::now(), min_ttl) {
                    Counters::bump(&this.counters.coalesced);
                    return Ok(token);
                }
            }
            let pid = std::process::id();
            if let Some((_, existing)) = flights.get(&key).filter(|(owner, _)| *owner == pid) {
                Counters::bump(&this.counters.coalesced);
                existing.clone()
            } else {
                let inner = this.clone();
                let task_key = key.clone();
                let task = runtime::handle().spawn(async move {
                    let epoch = inner.memory.epoch();
                    let result = inner
                        .fetch(&state, &task_key, &scopes, min_ttl, newer_than)
                        .await;
                    if inner.memory.epoch() != epoch {
                        // Memory was dropped for an invalidation meanwhile: what this fetch
                        // read may be gone from the shared tier, so it is not kept.
                        inner.memory.remove(&task_key);
                    }
                    crate::locks::lock(&inner.flights).remove(&task_key);
                    result
                });
                let flight = async move {
                    task.await.unwrap_or_else(|e| {
                        Err(Error::cache(format!("token fetch task failed: {e}")))
                    })
                }
                .boxed()
                .shared();
                if let Some(stale) = flights.insert(key, (pid, flight.clone())) {
                    // Started by the parent before a fork: its task ran on runtime threads this
                    // process does not have, so it never finishes here. Dropping it would touch
                    // that runtime's scheduler; leaking it is the safe choice.
                    std::mem::forget(stale);
                }
                flight
            }
        };
        flight.await
    }

    async fn fetch(
        self: &Arc<Self>,
        state: &ProfileState,
        key: &CacheKey,
        scopes: &[String],
        min_ttl: Duration,
        newer_than: Option<SystemTime>,
    ) -> Result<AccessToken> {
        if let Some(failure) = self.failures.get(key, SystemTime::now()) {
            return Err(failure.to_error());
        }
        // The shared tier first: a cached token needs no network, not even discovery.
        let usable = |set: &TokenSet| {
            set.remaining_at(SystemTime::now()) > min_ttl
                && newer_than.is_none_or(|t| set.issued_at > t)
        };
        let Some(store) = self.shared().await else {
            let set = self.issue_shared(None, state, key, scopes).await?;
            return Ok(self.remember(key, set));
        };
        match store.get(key).await {
            Ok(Some(set)) if usable(&set) => {
                Counters::bump(&self.counters.shared_hits);
                return Ok(self.remember(key, set));
            }
            Ok(_) => {}
            Err(e) => self.store_error(&e),
        }
        if let Some(e) = self.shared_failure(&*store, key).await {
            return Err(e);
        }
        let lease = match store.lease(key, LEASE_WAIT).await {
            Ok(lease) => Some(lease),
            Err(e) => {
                self.store_error(&e);
                None
            }
        };
        let outcome = async {
            if lease.is_some() {
                // Whoever held the lease before us may have fetched already, or failed.
                if let Ok(Some(set)) = store.get(key).await {
                    if usable(&set) {
                        Counters::bump(&self.counters.shared_hits);
                        return Ok(self.remember(key, set));
                    }
                }
                if let Some(e) = self.shared_failure(&*store, key).await {
                    return Err(e);
                }
            }
            let set = self.issue_shared(Some(&*store), state, key, scopes).await?;
            // Only the lease holder writes, and only while its fence is the newest: without the
            // lease a write could replace a newer holder's token.
            if let Some(lease) = &lease {
                match lease.put_fenced(key, &set).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!("fetch lease lost before the token was stored; re-reading");
                        if let Ok(Some(stored)) = store.get(key).await {
                            if usable(&stored) {
                                return Ok(self.remember(key, stored));
                            }
                        }
                    }
                    Err(e) => self.store_error(&e),
                }
            }
            Ok(self.remember(key, set))
        }
        .await;
        if let Some(lease) = &lease {
            lease.release().await;
        }
        outcome
    }

    /// [`Inner::issue`], publishing an outage (in memory and in `store`) for the callers
    /// that come after.
    async fn issue_shared(
        self: &Arc<Self>,
        store: Option<&dyn SharedStore>,
        state: &ProfileState,
        key: &CacheKey,
        scopes: &[String],
    ) -> Result<TokenSet> {
        let issued = match self.resolved(state).await {
            Ok(profile) => self.issue(state, &profile, scopes).await,
            Err(e) => Err(e),
        };
        let error = match issued {
            Ok(set) => {
                self.failures.clear(key);
                return Ok(set);
            }
            Err(e) => e,
        };
        self.publish_failure(store, key, &error).await;
        Err(error)
    }

    /// Whether refresh tokens live in the shared tier itself, so that its lease can fence
    /// their writes in the same step.
    async fn secrets_in_shared_store(&self) -> bool {
        if self.app_secrets.is_some() {
            return false;
        }
        let stores = self.stores().await;
        stores.shared.as_ref().is_some_and(|shared| {
            std::ptr::addr_eq(Arc::as_ptr(shared), Arc::as_ptr(&stores.secrets))
        })
    }

    /// Stores a rotated refresh token: fenced by the refresh lease when there is one. `false`
    /// when the lease was lost, so a newer holder's token is kept.
    async fn store_rotated(
        &self,
        lease: Option<&dyn Lease>,
        secrets: &dyn SecretStore,
        name: &str,
        rotated: &crate::Secret,
    ) -> Result<bool> {
        let Some(lease) = lease else {
            secrets.set_secret(name, rotated).await?;
            return Ok(true);
        };
        if self.secrets_in_shared_store().await {
            return lease.set_secret_fenced(name, rotated).await;
        }
        if !lease.is_current().await? {
            return Ok(false);
        }
        secrets.set_secret(name, rotated).await?;
        Ok(true)
    }

    pub(crate) fn store_error(&self, e: &Error) {
        Counters::bump(&self.counters.store_errors);
        tracing::warn!("shared token cache: {e}; continuing without it for this call");
    }

    /// Gets a new token from the provider with the profile's grant.
    async fn issue(
        &self,
        state: &ProfileState,
        profile: &Profile,
        scopes: &[String],
    ) -> Result<TokenSet> {
        let http = self.http();
        let token_url = profile.endpoint(Endpoint::Token)?;
        let ttl = Duration::from_secs(self.config.cache.default_ttl_secs);
        let started = Instant::now();
        Counters::bump(&self.counters.fetches);
        let result = match profile.grant {
            Grant::ClientCredentials => {
                flow::client_credentials(&http, profile, token_url, scopes, ttl).await
            }
            Grant::RefreshToken | Grant::AuthorizationCode | Grant::DeviceCode => {
                self.refresh(state, profile, scopes, ttl).await
            }
        };
        self.counters.record_fetch(started.elapsed());
        result
    }

    /// Exchanges the stored refresh token: one refresh per grant at a time in this process
    /// (a lock) and across processes (the shared tier's lease); the rotated refresh token is
    /// stored durably before the new access token is returned.
    async fn refresh(
        &self,
        state: &ProfileState,
        profile: &Profile,
        scopes: &[String],
        ttl: Duration,
    ) -> Result<TokenSet> {
        let _local = state.refresh_lock.lock().await;
        let lease = match self.shared().await {
            Some(store) => Some(store.lease(&state.refresh_lease(), LEASE_WAIT).await?),
            None => None,
        };
        let outcome = self
            .refresh_holding(lease.as_deref(), state, profile, scopes, ttl)
            .await;
        if let Some(lease) = &lease {
            lease.release().await;
        }
        outcome
    }

    /// [`Inner::refresh`] once the refresh lease (if any) is held.
    async fn refresh_holding(
        &self,
        lease: Option<&dyn Lease>,
        state: &ProfileState,
        profile: &Profile,
        scopes: &[String],
        ttl: Duration,
    ) -> Result<TokenSet> {
        let secrets = self.secret_store().await;
        let name = state.refresh_secret_name();
        let stored = secrets.get_secret(&name).await?;
        let from_store = stored.is_some();
        let current = match stored {
            Some(rt) => rt,
            None => {
                let configured = profile.refresh_token.clone().ok_or_else(|| {
                    Error::interaction(format!(
                        "profile '{}' has no refresh token yet: sign in with login() first",
                        profile.name
                    ))
                })?;
                let refused = secrets.get_secret(&state.refused_secret_name()).await?;
                if refused.as_ref() == Some(&configured) {
                    return Err(Error::interaction(format!(
                        "profile '{}': the server refused its configured refresh token before; \
                         sign in again or configure a new one",
                        profile.name
                    )));
                }
                configured
            }
        };
        let token_url = profile.endpoint(Endpoint::Token)?;
        let http = self.http();
        let result = flow::refresh(&http, profile, token_url, &current, scopes, ttl).await;
        let mut set = match result {
            Err(e) if e.oauth().is_some_and(|o| o.error == "invalid_grant") => {
                // The grant ended at the server (sign-out, expiry, revocation): this refresh
                // token will never work again, so it is dropped rather than resent.
                if from_store {
                    // A holder that lost its lease leaves the newer holder's token alone.
                    if let Some(lease) = lease {
                        if !lease.is_current().await? {
                            return Err(e);
                        }
                    }
                    secrets.delete_secret(&name).await?;
                } else {
                    secrets
                        .set_secret(&state.refused_secret_name(), &current)
                        .await?;
                }
                return Err(Error::interaction(format!(
                    "profile '{}': the refresh token is no longer valid ({e}); sign in again",
                    profile.name
                )));
            }
            other => other?,
        };
        let subject_name = state.subject_secret_name();
        let signed_in = secrets.get_secret(&subject_name).await?;
        let subject = self
            .check_id_token(
                profile,
                &mut set,
                signed_in.as_ref().map(crate::Secret::expose),
            )
            .await?;
        if let (Some(sub), None) = (subject, &signed_in) {
            secrets.set_secret(&subject_name, &sub.into()).await?;
        }
        if let Some(rotated) = set.refresh_token.take() {
            if (rotated != current || profile.refresh_token.as_ref() == Some(&current))
                && !self
                    .store_rotated(lease, &*secrets, &name, &rotated)
                    .await?
            {
                tracing::warn!(
                    "refresh lease lost during the refresh: keeping the newer holder's refresh token"
                );
            }
        }
        Ok(set)
    }
}
