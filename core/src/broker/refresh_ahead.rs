//! Fresh tokens in memory with their refresh point, and the background refresh that renews
//! one ahead of its expiry while callers keep the still-valid token.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Inner, ProfileState};
use crate::cache::CacheKey;
use crate::cache::memory::Entry;
use crate::runtime;
use crate::stats::Counters;
use crate::token::{AccessToken, TokenSet};

impl Inner {
    /// Stores a fresh token in memory (never its refresh token) and hands it out.
    pub(crate) fn remember(&self, key: &CacheKey, mut set: TokenSet) -> AccessToken {
        set.refresh_token = None;
        let refresh_at = refresh_point(&set, &self.config.cache);
        let token = AccessToken::new(set);
        self.memory.insert(key.clone(), token.clone(), refresh_at);
        token
    }

    /// Starts one background refresh for an entry past its refresh point. Callers keep the
    /// still-valid token; a failure is retried with backoff until the token expires.
    pub(super) fn refresh_ahead(
        this: &Arc<Self>,
        state: &Arc<ProfileState>,
        key: &CacheKey,
        entry: &Arc<Entry>,
        now: SystemTime,
    ) {
        let now_ms = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        if entry.retry_at_ms.load(Ordering::Relaxed) > now_ms
            || entry.refreshing.swap(true, Ordering::AcqRel)
        {
            return;
        }
        Counters::bump(&this.counters.background_refreshes);
        let (inner, state, key, entry) = (this.clone(), state.clone(), key.clone(), entry.clone());
        let scopes = entry.token.scopes().to_vec();
        let scopes = if scopes.is_empty() {
            state.profile().scopes.clone()
        } else {
            scopes
        };
        let issued = entry.token.token_set().issued_at;
        runtime::handle().spawn(async move {
            let result =
                Inner::flight(&inner, state, key, scopes, Duration::ZERO, Some(issued)).await;
            if let Err(e) = result {
                let failures = entry.failures.fetch_add(1, Ordering::Relaxed) + 1;
                let wait =
                    Duration::from_secs(1 << failures.min(6)).min(entry.token.remaining() / 2);
                let retry_at = SystemTime::now() + wait.max(Duration::from_millis(200));
                let ms = retry_at
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis() as u64;
                entry.retry_at_ms.store(ms, Ordering::Relaxed);
                tracing::warn!(
                    wait_ms = wait.as_millis() as u64,
                    "background refresh failed, serving the cached token: {e}"
                );
            }
            entry.refreshing.store(false, Ordering::Release);
        });
    }
}

/// When a token should be refreshed: the server's `refresh_in` hint, else a share of its
/// lifetime, plus jitter so that many processes do not refresh at the same instant.
fn refresh_point(set: &TokenSet, cache: &crate::config::CacheConfig) -> SystemTime {
    let lifetime = set.lifetime();
    let jitter = if cache.refresh_jitter > 0.0 {
        rand::random_range(0.0..cache.refresh_jitter)
    } else {
        0.0
    };
    let base = match set.refresh_in {
        Some(hint) if hint < lifetime => hint,
        _ => lifetime.mul_f64(cache.refresh_share),
    };
    set.issued_at + (base + lifetime.mul_f64(jitter)).min(lifetime)
}
