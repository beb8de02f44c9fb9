//! Invalidation across brokers: the shared tier is the source of truth, and a broker's
//! memory hits never outlive an invalidation there (`remove`, `clear`) by more than
//! [`INVALIDATION_BOUND`].
//!
//! Each shared store keeps an invalidation generation that `remove` and `clear` change
//! after they have removed entries. A broker reads it at most once per bound (the first
//! lookup after the bound has passed waits for the read; hits in between cost one atomic
//! load) and drops its whole memory tier when it changed. Tokens still in the shared tier
//! come back from there without a provider request.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use super::clock::unix_ms;
use crate::cache::{MemoryCache, SharedStore};
use crate::error::{Error, Result};

/// How long a memory hit may outlive an invalidation in the shared tier (while the shared
/// tier answers the check within 250 ms).
///
/// One second: short next to any token's lifetime and to the time a person or a script
/// takes to use a token after `logout`, and long enough that the check (a small file read,
/// or one Redis `GET`) is one operation per second per broker, invisible on the warm path.
pub const INVALIDATION_BOUND: Duration = Duration::from_secs(1);

/// Longest wait for the generation: a slow or unreachable shared tier must not stall warm
/// hits, which keep being served (and the check is retried after the bound).
pub(crate) const CHECK_TIMEOUT: Duration = Duration::from_millis(250);

const BOUND_MS: u64 = INVALIDATION_BOUND.as_millis() as u64;
/// `checked_ms` of a broker without a shared tier: never due.
const NEVER: u64 = u64::MAX;

/// `known` before the first read.
const UNKNOWN: u64 = u64::MAX;

/// When the generation was last read, and what it was.
#[derive(Debug)]
pub(crate) struct Invalidation {
    /// Unix ms when the last check started (0: never; [`NEVER`]: nothing to check).
    checked_ms: AtomicU64,
    /// The generation last read ([`UNKNOWN`] before the first).
    known: AtomicU64,
    /// The pid of the process one of whose tasks is checking, 0 when none: checks do not pile
    /// up, and a check the parent had under way at a fork (which never ends in the child)
    /// does not stop the child's.
    checker: AtomicU32,
}

impl Invalidation {
    /// The state of a broker that has a shared tier (`shared`), whose first lookup checks
    /// it, or has none, whose checks are never due.
    pub(crate) fn new(shared: bool) -> Self {
        Self {
            checked_ms: AtomicU64::new(if shared { 0 } else { NEVER }),
            known: AtomicU64::new(UNKNOWN),
            checker: AtomicU32::new(0),
        }
    }
}

/// Ends a check: frees the checker slot if this process still holds it.
struct Checking<'a>(&'a AtomicU32, u32);

impl Drop for Checking<'_> {
    fn drop(&mut self) {
        let _ = (self.0).compare_exchange(self.1, 0, Ordering::AcqRel, Ordering::Acquire);
    }
}

impl Invalidation {
    /// Whether memory hits must wait for a check: the last one started a bound ago or more
    /// (or the clock went back).
    #[inline]
    pub(crate) fn due(&self, now: SystemTime) -> bool {
        let checked = self.checked_ms.load(Ordering::Acquire);
        checked != NEVER && unix_ms(now).wrapping_sub(checked) >= BOUND_MS
    }

    /// Takes `generation`, read at `read_at` (when the shared tier was opened, on the same
    /// blocking thread), as the result of the first check, which then needs no read of its
    /// own. Does nothing once a check has run or begun.
    pub(crate) fn seed(&self, read_at: SystemTime, generation: u64) {
        if self
            .known
            .compare_exchange(UNKNOWN, generation, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            let _ = (self.checked_ms).compare_exchange(
                0,
                unix_ms(read_at),
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }

    /// Reads the generation of `store` if a check is due and drops `memory` when it
    /// changed. Without a store, checks stop for good. A read that fails or times out
    /// keeps the memory tier (the error is returned) and is retried after the bound.
    pub(crate) async fn check(
        &self,
        store: Option<&dyn SharedStore>,
        memory: &MemoryCache,
    ) -> Result<()> {
        let pid = std::process::id();
        let holder = self.checker.load(Ordering::Acquire);
        if holder == pid
            || (self.checker)
                .compare_exchange(holder, pid, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return Ok(()); // another task of this process is checking
        }
        let _checking = Checking(&self.checker, pid);
        let started = SystemTime::now();
        if !self.due(started) {
            return Ok(()); // another caller just checked
        }
        let Some(store) = store else {
            self.checked_ms.store(NEVER, Ordering::Release);
            return Ok(());
        };
        let read = match tokio::time::timeout(CHECK_TIMEOUT, store.generation()).await {
            Ok(read) => read,
            Err(_) => Err(Error::cache(format!(
                "reading the invalidation generation took over {CHECK_TIMEOUT:?}"
            ))),
        };
        if let Ok(generation) = &read {
            if self.known.swap(*generation, Ordering::AcqRel) != *generation {
                memory.clear();
            }
        }
        // After the clear: a caller that sees the new time finds the memory tier cleared.
        self.checked_ms.store(unix_ms(started), Ordering::Release);
        read.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broker_without_a_shared_tier_is_never_due() {
        let now = SystemTime::now();
        assert!(!Invalidation::new(false).due(now));
        assert!(!Invalidation::new(false).due(now + Duration::from_secs(3600)));
        assert!(Invalidation::new(true).due(now), "the first lookup checks");
    }

    #[test]
    fn a_seed_stands_for_the_first_check_only() {
        let now = SystemTime::now();
        let seeded = Invalidation::new(true);
        seeded.seed(now, 7);
        assert!(!seeded.due(now), "the seed is a check");
        assert!(
            seeded.due(now + INVALIDATION_BOUND),
            "the next one is due a bound later"
        );
        assert_eq!(seeded.known.load(Ordering::Acquire), 7);
        seeded.seed(now + INVALIDATION_BOUND, 9);
        assert_eq!(
            seeded.known.load(Ordering::Acquire),
            7,
            "a later seed changes nothing"
        );
        assert!(seeded.due(now + INVALIDATION_BOUND));

        let none = Invalidation::new(false);
        none.seed(now, 7);
        assert!(
            !none.due(now + Duration::from_secs(3600)),
            "without a tier, never due"
        );
    }
}
