//! What the persistent tiers store: a token with its canonical key, or a named secret,
//! serialised and sealed with the cache cipher.

use std::time::SystemTime;

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::cache::{CacheCipher, CacheKey};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::token::TokenSet;

/// Hex SHA-256 of a secret's name: its file or Redis key name.
pub(crate) fn name_digest(name: &str) -> String {
    let d = digest::digest(&digest::SHA256, name.as_bytes());
    hex::encode(d.as_ref())
}

#[derive(Serialize)]
struct TokenRecordRef<'a> {
    key: &'a str,
    token: &'a TokenSet,
}

#[derive(Deserialize)]
struct TokenRecord {
    key: String,
    token: TokenSet,
}

#[derive(Serialize, Deserialize)]
struct SecretRecord {
    name: String,
    #[serde(serialize_with = "crate::secret::persisted::secret")]
    value: Secret,
}

fn to_plaintext(value: &impl Serialize) -> Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::with_capacity(4096));
    serde_json::to_writer(&mut *buf, value)
        .map_err(|_| Error::cache("cannot serialise a cache entry"))?;
    Ok(buf)
}

fn parse_error(e: serde_json::Error) -> Error {
    // The serde message may quote stored values, so only its category and position are kept.
    Error::cache(format!(
        "entry payload does not parse ({:?} error at column {})",
        e.classify(),
        e.column()
    ))
}

/// Seals `token` for `key`, with the key's entry name as associated data.
pub(crate) fn seal_token(
    cipher: &CacheCipher,
    key: &CacheKey,
    token: &TokenSet,
) -> Result<Vec<u8>> {
    let record = TokenRecordRef {
        key: key.canonical(),
        token,
    };
    cipher.seal(cipher.entry_name(key).as_bytes(), &to_plaintext(&record)?)
}

/// Opens an entry stored under `name`: its canonical key (checked against the name) and its
/// token. Releases before keyed names named entries by the key's plain digest: such an entry
/// still opens (to be listed, and removed once stale), but its key, bound to an older
/// credential fingerprint, matches no key this release asks for.
pub(crate) fn open_token(
    cipher: &CacheCipher,
    name: &str,
    sealed: &[u8],
) -> Result<(CacheKey, TokenSet)> {
    let plain = cipher.open(name.as_bytes(), sealed)?;
    let record: TokenRecord = serde_json::from_slice(&plain).map_err(parse_error)?;
    let key = CacheKey::from_canonical(record.key);
    if cipher.entry_name(&key) != name && key.digest_hex() != name {
        return Err(Error::cache("entry holds a different key than its name"));
    }
    Ok((key, record.token))
}

/// Seals the secret `value` stored under `name`.
pub(crate) fn seal_secret(cipher: &CacheCipher, name: &str, value: &Secret) -> Result<Vec<u8>> {
    let record = SecretRecord {
        name: name.to_owned(),
        value: value.clone(),
    };
    cipher.seal(name_digest(name).as_bytes(), &to_plaintext(&record)?)
}

/// Opens the secret stored under `name`, checking the stored name.
pub(crate) fn open_secret(cipher: &CacheCipher, name: &str, sealed: &[u8]) -> Result<Secret> {
    let plain = cipher.open(name_digest(name).as_bytes(), sealed)?;
    let record: SecretRecord = serde_json::from_slice(&plain).map_err(parse_error)?;
    if record.name != name {
        return Err(Error::cache(
            "entry holds a different secret name than requested",
        ));
    }
    Ok(record.value)
}

/// Whether `get` hands out `token` at `now`: while valid, or after expiry while it still
/// holds a refresh token (so the broker can refresh without a new grant).
pub(crate) fn servable(token: &TokenSet, now: SystemTime) -> bool {
    token.expires_at > now || token.refresh_token.is_some()
}
