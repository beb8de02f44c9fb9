//! Encryption at rest for the persistent tiers, and where its key comes from.
//!
//! Every stored value is `magic "TBKC" | version 1 | 96-bit random nonce | ChaCha20-Poly1305
//! ciphertext and tag`. The associated data binds the header and the SHA-256 digest of the
//! entry's name, so a file (or Redis value) copied under another name fails to open.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::{hmac, rand};
use base64::Engine;
use zeroize::Zeroizing;

use crate::cache::CacheKey;
use crate::cache::disk::{current_uid, ensure_private_dir, parent_dir, sync_dir};
use crate::cache::user_key::UserKey;
use crate::error::{Error, Result};
use crate::regular_file;

/// The environment variable holding the base64 of a 32-byte cache key.
pub const KEY_ENV: &str = "TOKENBROKER_CACHE_KEY";
/// The length of a cache key in bytes.
pub const KEY_LEN: usize = 32;

const MAGIC: &[u8; 4] = b"TBKC";
const VERSION: u8 = 1;
const HEADER_LEN: usize = MAGIC.len() + 1;
const TAG_LEN: usize = 16;

/// Where the cache key comes from.
///
/// The default is the environment variable when set, else the user's key in the OS keyring
/// (or, without one, a 0600 file in the user's config directory): see [`UserKey`]. A mobile
/// Keystore (through the bindings) hands raw key bytes to [`CacheCipher::from_bytes`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySource {
    /// The base64 of 32 bytes in this environment variable.
    Env(String),
    /// A file holding 32 raw bytes, created (mode 0600) when missing.
    File(PathBuf),
    /// The user's key (OS keyring, else the config-dir file) for the cache in this directory,
    /// adopting an older `key` file found there.
    User(UserKey, PathBuf),
}

impl KeySource {
    /// [`KEY_ENV`] when it is set, else the user's key ([`UserKey::default_location`]) for
    /// the cache in `dir`.
    pub fn default_for(dir: &Path) -> Result<Self> {
        if std::env::var_os(KEY_ENV).is_some() {
            Ok(KeySource::Env(KEY_ENV.to_owned()))
        } else {
            Ok(KeySource::User(
                UserKey::default_location()?,
                dir.to_path_buf(),
            ))
        }
    }

    /// Loads (or, for a missing key file or user key, creates) the key.
    pub fn load(&self) -> Result<CacheCipher> {
        match self {
            KeySource::Env(var) => CacheCipher::from_env(var)?
                .ok_or_else(|| Error::config(var.as_str(), "environment variable is not set")),
            KeySource::File(path) => CacheCipher::from_key_file(path),
            KeySource::User(user, dir) => user.load_for(dir),
        }
    }

    /// The key when the variable or a file holds it (the key file, or the user's key in its
    /// fallback file); `None` when it takes the OS keyring, a new key or adopting an older
    /// one, which [`KeySource::load`] does. Never writes, never asks the keyring.
    pub(crate) fn load_without_keyring(&self) -> Result<Option<CacheCipher>> {
        match self {
            KeySource::Env(_) => self.load().map(Some),
            KeySource::File(path) => match read_key_file(path)? {
                Some(key) => {
                    CacheCipher::with_origin(&key, &format!("key file {}", path.display()))
                        .map(Some)
                }
                None => Ok(None),
            },
            KeySource::User(user, dir) => user.load_from_file(dir),
        }
    }
}

/// An AEAD key (ChaCha20-Poly1305) for cache entries, and the key that names them. Cheap to
/// clone; `Debug` is redacted.
#[derive(Clone)]
pub struct CacheCipher {
    key: Arc<LessSafeKey>,
    /// HMAC-SHA-256 key derived from the cache key: names token entries (see
    /// [`CacheCipher::entry_name`]).
    names: Arc<hmac::Key>,
    origin: Arc<str>,
}

impl CacheCipher {
    /// A cipher over 32 raw key bytes (from a keyring, a Keystore, a test).
    pub fn from_bytes(key: &[u8]) -> Result<Self> {
        Self::with_origin(key, "raw key bytes")
    }

    /// A cipher with a fresh random key that lives only in memory.
    pub fn generate() -> Result<Self> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rand::fill(&mut key[..]).map_err(|_| Error::cache("system random generator failed"))?;
        Self::with_origin(&key[..], "generated in memory")
    }

    /// The key in environment variable `var` (base64 of 32 bytes), or `None` when unset.
    pub fn from_env(var: &str) -> Result<Option<Self>> {
        match std::env::var(var) {
            Ok(value) => parse_base64(var, &Zeroizing::new(value)).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(Error::config(
                format!("environment variable {var}"),
                "is not valid base64 of a 32-byte key",
            )),
        }
    }

    /// The key in `path` (32 raw bytes), created with fresh random bytes when missing.
    ///
    /// The file must be owned by the current user and not accessible by group or others.
    pub fn from_key_file(path: &Path) -> Result<Self> {
        if let Some(key) = read_key_file(path)? {
            return Self::with_origin(&key[..], &format!("key file {}", path.display()));
        }
        create_key_file(path, None)?;
        let key = read_key_file(path)?
            .ok_or_else(|| Error::cache(format!("key file {} vanished", path.display())))?;
        Self::with_origin(&key[..], &format!("key file {}", path.display()))
    }

    /// [`KeySource::default_for`]: the environment variable if set, else the user's key.
    pub fn load_default(dir: &Path) -> Result<Self> {
        KeySource::default_for(dir)?.load()
    }

    /// Where this key came from, e.g. `OS keyring (Secret Service), entry tokenbroker/cache-key`
    /// or `environment variable TOKENBROKER_CACHE_KEY`. Never the key.
    pub fn key_source(&self) -> &str {
        &self.origin
    }

    pub(crate) fn with_origin(key: &[u8], origin: &str) -> Result<Self> {
        if key.len() != KEY_LEN {
            return Err(Error::config(
                origin,
                format!("a cache key must be {KEY_LEN} bytes, got {}", key.len()),
            ));
        }
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, key)
            .map_err(|_| Error::cache("cannot initialise the cache cipher"))?;
        let derived = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, key),
            b"tokenbroker entry names v1",
        );
        Ok(Self {
            key: Arc::new(LessSafeKey::new(unbound)),
            names: Arc::new(hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref())),
            origin: origin.into(),
        })
    }

    /// The name (hex HMAC-SHA-256 under a key derived from the cache key) of `key`'s entry,
    /// lease and failure record in a shared tier. Keyed, because a canonical key carries a
    /// fast fingerprint of the client's credentials: whoever reads file or Redis key names
    /// without the cache key cannot recompute a name to test a guessed secret.
    pub fn entry_name(&self, key: &CacheKey) -> String {
        let tag = hmac::sign(&self.names, key.canonical().as_bytes());
        hex::encode(tag.as_ref())
    }

    /// Encrypts `plaintext` bound to `name` (a digest or other stable entry name).
    pub fn seal(&self, name: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce).map_err(|_| Error::cache("system random generator failed"))?;
        let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let aad = associated_data(name);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad),
                &mut out[HEADER_LEN + NONCE_LEN..],
            )
            .map_err(|_| Error::cache("encryption failed"))?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Decrypts a value made by [`CacheCipher::seal`] under the same `name`.
    pub fn open(&self, name: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if sealed.len() < HEADER_LEN || &sealed[..MAGIC.len()] != MAGIC {
            return Err(Error::cache("not a tokenbroker cache entry (bad magic)"));
        }
        if sealed[MAGIC.len()] != VERSION {
            return Err(Error::cache(format!(
                "unsupported cache entry version {}",
                sealed[MAGIC.len()]
            )));
        }
        if sealed.len() < HEADER_LEN + NONCE_LEN + TAG_LEN {
            return Err(Error::cache("truncated cache entry"));
        }
        let (nonce, body) = sealed[HEADER_LEN..].split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| Error::cache("truncated cache entry"))?;
        let mut buf = Zeroizing::new(body.to_vec());
        let aad = associated_data(name);
        let len = self
            .key
            .open_in_place(nonce, Aad::from(&aad), &mut buf)
            .map_err(|_| {
                Error::cache("entry failed authentication (other key, tampered, or renamed)")
            })?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

impl fmt::Debug for CacheCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheCipher")
            .field("algorithm", &"ChaCha20-Poly1305")
            .field("key_from", &self.origin)
            .field("key", &"[redacted]")
            .finish()
    }
}

fn associated_data(name: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(HEADER_LEN + name.len());
    aad.extend_from_slice(MAGIC);
    aad.push(VERSION);
    aad.extend_from_slice(name);
    aad
}

fn parse_base64(var: &str, value: &str) -> Result<CacheCipher> {
    let bad = || {
        Error::config(
            format!("environment variable {var}"),
            format!(
                "must be the base64 of {KEY_LEN} random bytes (e.g. `openssl rand -base64 32`)"
            ),
        )
    };
    let engine = base64::engine::general_purpose::STANDARD;
    let key = Zeroizing::new(engine.decode(value.trim()).map_err(|_| bad())?);
    if key.len() != KEY_LEN {
        return Err(bad());
    }
    CacheCipher::with_origin(&key, &format!("environment variable {var}"))
}

pub(crate) fn read_key_file(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>> {
    let location = path.display().to_string();
    let mut file = match regular_file::open(path, OpenOptions::new().read(true), libc::O_NOFOLLOW) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::config(
                location,
                format!("cannot open key file: {e}"),
            ));
        }
    };
    let meta = file
        .metadata()
        .map_err(|e| Error::config(&location, format!("cannot stat key file: {e}")))?;
    if !meta.is_file() {
        return Err(Error::config(location, "key file is not a regular file"));
    }
    if meta.uid() != current_uid() {
        return Err(Error::config(location, "key file is owned by another user"));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(Error::config(
            &location,
            format!(
                "key file is accessible by group or others (mode {:o}); run `chmod 600 {location}`",
                meta.mode() & 0o777
            ),
        ));
    }
    let mut key = Zeroizing::new(Vec::with_capacity(KEY_LEN + 1));
    (&mut file)
        .take(KEY_LEN as u64 + 1)
        .read_to_end(&mut key)
        .map_err(|e| Error::config(&location, format!("cannot read key file: {e}")))?;
    if key.len() != KEY_LEN {
        return Err(Error::config(
            location,
            format!("key file must hold exactly {KEY_LEN} bytes; restore it or delete it"),
        ));
    }
    Ok(Some(key))
}

/// Creates the key file without ever exposing a partial one: write a private temp file,
/// fsync, then hard-link it into place (which fails if another process won the race).
/// Writes `bytes` when given, else fresh random bytes.
pub(crate) fn create_key_file(path: &Path, bytes: Option<&[u8]>) -> Result<()> {
    let dir = parent_dir(path);
    ensure_private_dir(dir, false)?;
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    match bytes {
        Some(b) if b.len() == KEY_LEN => key.copy_from_slice(b),
        Some(_) => return Err(Error::cache("a cache key must be 32 bytes")),
        None => {
            rand::fill(&mut key[..]).map_err(|_| Error::cache("system random generator failed"))?
        }
    }
    let tmp = dir.join(format!(
        ".key.tmp-{}-{}",
        std::process::id(),
        random_hex(8)?
    ));
    let io =
        |e: std::io::Error| Error::cache(format!("cannot create key file {}: {e}", path.display()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&key[..])?;
        file.sync_all()?;
        match fs::hard_link(&tmp, path) {
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
            other => other,
        }
    })();
    let _ = fs::remove_file(&tmp);
    result.map_err(io)?;
    sync_dir(dir).map_err(io)
}

/// `n` random bytes from the system generator, as lowercase hex.
pub(crate) fn random_hex(n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n];
    rand::fill(&mut bytes).map_err(|_| Error::cache("system random generator failed"))?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_name_binding() {
        let c = CacheCipher::generate().unwrap();
        let sealed = c.seal(b"name-a", b"hello").unwrap();
        assert_eq!(&c.open(b"name-a", &sealed).unwrap()[..], b"hello");
        assert!(c.open(b"name-b", &sealed).is_err());
        let other = CacheCipher::generate().unwrap();
        assert!(other.open(b"name-a", &sealed).is_err());
        assert!(c.open(b"name-a", &sealed[..sealed.len() - 1]).is_err());
        assert_ne!(
            c.seal(b"n", b"x").unwrap(),
            c.seal(b"n", b"x").unwrap(),
            "fresh nonce"
        );
    }

    #[test]
    fn base64_keys_are_checked_and_errors_name_the_variable() {
        let good = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert!(parse_base64("TB_X", &good).is_ok());
        for bad in ["", "not base64!", "AAAA"] {
            let err = parse_base64("TB_X", bad).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Config);
            assert!(err.to_string().contains("TB_X"), "{err}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let c = CacheCipher::from_bytes(&[0x41; 32]).unwrap();
        let text = format!("{c:?}");
        assert!(
            text.contains("[redacted]") && !text.contains("AAAA"),
            "{text}"
        );
    }
}
