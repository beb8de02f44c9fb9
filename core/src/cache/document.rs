//! Public documents kept in the shared tier (provider metadata, and later JWKS), so that a
//! new process or machine does not fetch what another one fetched a moment ago.
//!
//! A document is kept for as long as the server's `Cache-Control: max-age` allows (an hour
//! when it says nothing, at most a day); `no-store`, `no-cache` or `max-age=0` keep it out.
//! Past that freshness it is still served for a day while one caller fetches a new copy in
//! the background, so an outage of the metadata endpoint does not stop token requests.
//! Stored sealed with the cache key like every entry, so a writer without the key (another
//! tenant on a shared Redis) cannot substitute endpoints.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::clock::unix_ms;

/// How long a document is fresh when the server sends no `max-age`.
pub const DEFAULT_DOCUMENT_TTL: Duration = Duration::from_secs(3600);
/// The longest a document is fresh, whatever `max-age` says.
pub const MAX_DOCUMENT_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long past its freshness a document is still served while a new copy is fetched.
pub const STALE_SERVE: Duration = Duration::from_secs(24 * 3600);

/// A cached document: its text and how long it may be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedDocument {
    body: String,
    /// Unix ms until which the document is fresh.
    fresh_until_ms: u64,
    /// Unix ms until which it may still be served (while a new copy is fetched).
    usable_until_ms: u64,
}

impl CachedDocument {
    /// The document `body` fetched at `now` with the response's `Cache-Control`, or `None`
    /// when that forbids keeping it.
    pub fn new(body: String, cache_control: Option<&str>, now: SystemTime) -> Option<Self> {
        let ttl = match cache_control.map(parse_cache_control) {
            Some(Directive::NoStore) => return None,
            Some(Directive::MaxAge(0)) => return None,
            Some(Directive::MaxAge(secs)) => Duration::from_secs(secs).min(MAX_DOCUMENT_TTL),
            Some(Directive::Silent) | None => DEFAULT_DOCUMENT_TTL,
        };
        let now_ms = unix_ms(now);
        let fresh_until_ms = now_ms.saturating_add(ttl.as_millis() as u64);
        Some(Self {
            body,
            fresh_until_ms,
            usable_until_ms: fresh_until_ms.saturating_add(STALE_SERVE.as_millis() as u64),
        })
    }

    /// The document's text.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// Whether it is within the server's freshness at `now`.
    pub fn is_fresh(&self, now: SystemTime) -> bool {
        unix_ms(now) < self.fresh_until_ms
    }

    /// Whether it may still be served at `now` (fresh, or stale within [`STALE_SERVE`]).
    pub fn is_usable(&self, now: SystemTime) -> bool {
        unix_ms(now) < self.usable_until_ms
    }

    /// How long from `now` a store keeps it (zero once unusable).
    pub fn keep_for(&self, now: SystemTime) -> Duration {
        Duration::from_millis(self.usable_until_ms.saturating_sub(unix_ms(now)))
    }

    /// The name a document stored under `name` is sealed under (never a secret's name).
    pub(crate) fn sealed_name(name: &str) -> String {
        format!("document:{name}")
    }

    /// The stored form.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the stored form; `None` when it is not one.
    pub(crate) fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

/// What a `Cache-Control` header says about keeping a response.
#[derive(Debug, PartialEq, Eq)]
enum Directive {
    NoStore,
    MaxAge(u64),
    Silent,
}

/// Reads `no-store`, `no-cache`, `private` (a shared tier is shared) and `max-age` (the
/// smallest when repeated; an unreadable one is treated as 0, RFC 9111 §4.2.1).
fn parse_cache_control(header: &str) -> Directive {
    let mut max_age: Option<u64> = None;
    for part in header.split(',') {
        let part = part.trim();
        let (name, value) = match part.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (part, None),
        };
        match name.to_ascii_lowercase().as_str() {
            "no-store" | "no-cache" | "private" => return Directive::NoStore,
            "max-age" => {
                let secs = value.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                max_age = Some(max_age.map_or(secs, |m| m.min(secs)));
            }
            _ => {}
        }
    }
    max_age.map_or(Directive::Silent, Directive::MaxAge)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(cache_control: Option<&str>) -> Option<CachedDocument> {
        CachedDocument::new("{}".into(), cache_control, SystemTime::now())
    }

    #[test]
    fn cache_control_decides_whether_and_how_long() {
        let now = SystemTime::now();
        for forbids in [
            "no-store",
            "No-Cache",
            "private, max-age=60",
            "max-age=0",
            "max-age=x",
        ] {
            assert_eq!(doc(Some(forbids)), None, "{forbids}");
        }
        let short = doc(Some("public, max-age=60")).unwrap();
        assert!(short.is_fresh(now + Duration::from_secs(59)));
        assert!(!short.is_fresh(now + Duration::from_secs(61)));
        assert!(short.is_usable(now + Duration::from_secs(61)));
        let silent = doc(None).unwrap();
        assert!(silent.is_fresh(now + DEFAULT_DOCUMENT_TTL - Duration::from_secs(1)));
        assert!(!silent.is_fresh(now + DEFAULT_DOCUMENT_TTL + Duration::from_secs(1)));
    }

    #[test]
    fn hostile_ages_are_bounded() {
        let now = SystemTime::now();
        let year = doc(Some("max-age=31536000")).unwrap();
        assert!(!year.is_fresh(now + MAX_DOCUMENT_TTL + Duration::from_secs(1)));
        assert!(!year.is_usable(now + MAX_DOCUMENT_TTL + STALE_SERVE + Duration::from_secs(1)));
        // Beyond u64: unreadable, so treated as 0 and not kept.
        assert_eq!(doc(Some("max-age=99999999999999999999999")), None);
        let repeated = doc(Some("max-age=600, max-age=60")).unwrap();
        assert!(!repeated.is_fresh(now + Duration::from_secs(61)));
    }

    #[test]
    fn the_stored_form_round_trips() {
        let d = doc(Some("max-age=60")).unwrap();
        assert_eq!(CachedDocument::from_json(&d.to_json()), Some(d));
        assert_eq!(CachedDocument::from_json("not json"), None);
    }
}
