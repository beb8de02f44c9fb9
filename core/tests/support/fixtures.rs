//! Cache keys and token sets for the store tests (one shape, each test's values).
#![allow(dead_code)]

use std::time::{Duration, SystemTime};

use tokenbroker::advanced::cache::{CacheKey, KeyParts};
use tokenbroker::{Secret, TokenSet};

/// A client-credentials key of `client-1` at `https://login.example/token` for `subject` and
/// `scopes`.
pub fn cache_key(subject: &str, scopes: &[&str]) -> CacheKey {
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    CacheKey::new(&KeyParts {
        token_url: "https://login.example/token",
        client_id: "client-1",
        grant: "client_credentials",
        subject,
        scopes: &scopes,
        params: &[],
    })
}

/// A bearer token `access`, issued now and valid for `ttl`, for `scopes`, with `refresh`.
pub fn token_set(access: &str, ttl: Duration, scopes: &[&str], refresh: Option<&str>) -> TokenSet {
    let now = SystemTime::now();
    TokenSet {
        access_token: Secret::new(access),
        token_type: "Bearer".into(),
        expires_at: now + ttl,
        issued_at: now,
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        refresh_token: refresh.map(Secret::new),
        id_token: None,
        refresh_in: None,
    }
}
