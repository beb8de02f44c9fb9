//! Per-broker counters, readable from every binding through `stats()`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Live counters of one broker. Every field is a relaxed atomic: reads are a snapshot.
#[derive(Debug, Default)]
pub struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) shared_hits: AtomicU64,
    pub(crate) fetches: AtomicU64,
    pub(crate) background_refreshes: AtomicU64,
    pub(crate) coalesced: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) store_errors: AtomicU64,
    latency_count: AtomicU64,
    latency_total_us: AtomicU64,
    latency_max_us: AtomicU64,
    /// Fetch latency histogram: bucket `i` counts fetches under 2^i ms (last bucket: the rest).
    buckets: [AtomicU64; 16],
}

/// A snapshot of a broker's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    /// Calls answered from memory.
    pub hits: u64,
    /// Calls that found no usable token in memory.
    pub misses: u64,
    /// Misses answered from the shared tier (file or Redis) without a request.
    pub shared_hits: u64,
    /// Requests made to token endpoints.
    pub fetches: u64,
    /// Refreshes started in the background before expiry.
    pub background_refreshes: u64,
    /// Callers that joined a fetch already in flight instead of making their own.
    pub coalesced: u64,
    /// Calls that returned an error.
    pub errors: u64,
    /// Shared-tier failures that were worked around (logged, then fetched directly).
    pub store_errors: u64,
    /// Shared-tier entries skipped because they do not open with this broker's cache key
    /// (another tenant's under the same Redis prefix, or damaged); they are kept.
    pub undecryptable: u64,
    /// Tokens held in memory.
    pub entries: u64,
    /// Mean fetch latency in milliseconds.
    pub fetch_mean_ms: f64,
    /// Approximate median fetch latency in milliseconds (upper bound of its bucket).
    pub fetch_p50_ms: f64,
    /// Approximate 99th percentile fetch latency in milliseconds (upper bound of its bucket).
    pub fetch_p99_ms: f64,
    /// Slowest fetch in milliseconds.
    pub fetch_max_ms: f64,
}

/// One figure of a [`Stats`] snapshot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatEntry {
    /// The field's name in snake_case (`shared_hits`); bindings convert it to their case.
    pub name: &'static str,
    /// Its value (counts are whole numbers).
    pub value: f64,
    /// `count` or `ms`.
    pub unit: &'static str,
}

impl Stats {
    /// Every figure of the snapshot, in a fixed order: what bindings build their dict,
    /// object or list from, so a counter added here reaches every language.
    pub fn entries(&self) -> [StatEntry; 14] {
        let Self {
            hits,
            misses,
            shared_hits,
            fetches,
            background_refreshes,
            coalesced,
            errors,
            store_errors,
            undecryptable,
            entries,
            fetch_mean_ms,
            fetch_p50_ms,
            fetch_p99_ms,
            fetch_max_ms,
        } = *self;
        let count = |name, value: u64| StatEntry {
            name,
            value: value as f64,
            unit: "count",
        };
        let ms = |name, value| StatEntry {
            name,
            value,
            unit: "ms",
        };
        [
            count("hits", hits),
            count("misses", misses),
            count("shared_hits", shared_hits),
            count("fetches", fetches),
            count("background_refreshes", background_refreshes),
            count("coalesced", coalesced),
            count("errors", errors),
            count("store_errors", store_errors),
            count("undecryptable", undecryptable),
            count("entries", entries),
            ms("fetch_mean_ms", fetch_mean_ms),
            ms("fetch_p50_ms", fetch_p50_ms),
            ms("fetch_p99_ms", fetch_p99_ms),
            ms("fetch_max_ms", fetch_max_ms),
        ]
    }
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_fetch(&self, elapsed: Duration) {
        let us = elapsed.as_micros().min(u64::MAX as u128) as u64;
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_total_us.fetch_add(us, Ordering::Relaxed);
        self.latency_max_us.fetch_max(us, Ordering::Relaxed);
        let ms = (us / 1000).max(1);
        let bucket = (64 - ms.leading_zeros() as usize).min(self.buckets.len() - 1);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, entries: usize) -> Stats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let count = load(&self.latency_count);
        let quantile = |q: f64| {
            let target = (count as f64 * q).ceil() as u64;
            let mut seen = 0;
            for (i, b) in self.buckets.iter().enumerate() {
                seen += load(b);
                if seen >= target.max(1) {
                    return (1u64 << i) as f64;
                }
            }
            0.0
        };
        Stats {
            hits: load(&self.hits),
            misses: load(&self.misses),
            shared_hits: load(&self.shared_hits),
            fetches: load(&self.fetches),
            background_refreshes: load(&self.background_refreshes),
            coalesced: load(&self.coalesced),
            errors: load(&self.errors),
            store_errors: load(&self.store_errors),
            undecryptable: 0,
            entries: entries as u64,
            fetch_mean_ms: if count == 0 {
                0.0
            } else {
                load(&self.latency_total_us) as f64 / count as f64 / 1000.0
            },
            fetch_p50_ms: if count == 0 { 0.0 } else { quantile(0.5) },
            fetch_p99_ms: if count == 0 { 0.0 } else { quantile(0.99) },
            fetch_max_ms: load(&self.latency_max_us) as f64 / 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_summary() {
        let c = Counters::default();
        for ms in [1, 2, 3, 100] {
            c.record_fetch(Duration::from_millis(ms));
        }
        let s = c.snapshot(0);
        assert!((s.fetch_mean_ms - 26.5).abs() < 0.01, "{}", s.fetch_mean_ms);
        assert_eq!(s.fetch_max_ms, 100.0);
        assert!(
            s.fetch_p50_ms >= 2.0 && s.fetch_p50_ms <= 4.0,
            "{}",
            s.fetch_p50_ms
        );
        assert!(s.fetch_p99_ms >= 100.0, "{}", s.fetch_p99_ms);
    }
}
