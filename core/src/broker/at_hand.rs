//! A lookup on the calling thread: memory, then the file store when its key needs no OS
//! keyring. For a host whose calling thread should not hand a first lookup to other threads
//! and wait to be woken (Node's: its `token()` is answered on the JavaScript thread).

use std::time::SystemTime;

use super::{Broker, TokenOptions};
use crate::limits;
use crate::stats::Counters;
use crate::token::AccessToken;

impl Broker {
    /// The token [`Broker::token`] would answer from memory or from the file store, looked up
    /// on the calling thread and kept in memory as [`Broker::token`] keeps it. That thread
    /// does the local file work `token()` would: it opens the store on first use if its key
    /// is in the environment or a file (creating the cache directories if missing), reads the
    /// entry, and removes it if it expired long ago. `None` when answering needs more: a fetch, another tier, the OS keyring, a sign-in's
    /// identity check, an invalidation check due, a recorded provider failure, or options
    /// (`force_refresh`, `rejected`, a bad `min_ttl`) that [`Broker::token`] decides; await
    /// that then. Never blocks on the network or another process.
    pub fn token_at_hand(&self, profile: &str, options: &TokenOptions) -> Option<AccessToken> {
        if options.force_refresh
            || options.rejected.is_some()
            || limits::duration_arg("min_ttl", options.min_ttl).is_err()
        {
            return None;
        }
        let inner = &self.inner;
        let state = inner.state(profile).ok()?;
        if state.is_user_grant() {
            // Whose token it is takes `token`'s identity check.
            return None;
        }
        let key = state.key(options.scopes.as_deref());
        if let Some(token) = inner.lookup(&state, &key, options.min_ttl) {
            return Some(token);
        }
        let store = inner.file_store_here()?;
        let now = SystemTime::now();
        if inner.invalidation.due(now) || inner.failures.get(&key, now).is_some() {
            return None;
        }
        let epoch = inner.memory.epoch();
        let set = store.get_here(&key).ok()??;
        // Memory dropped meanwhile (an invalidation) may have dropped this entry too.
        if set.remaining_at(SystemTime::now()) <= options.min_ttl || inner.memory.epoch() != epoch {
            return None;
        }
        Counters::bump(&inner.counters.misses);
        Counters::bump(&inner.counters.shared_hits);
        Some(inner.remember(&key, set))
    }
}
