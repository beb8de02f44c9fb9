//! Canonical cache keys: two requests that would get the same token share one key.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use aws_lc_rs::digest;

/// A canonical key for one token: endpoint, client, grant, subject, scopes and the parameters
/// that change what the provider issues.
///
/// Built once per profile (and per distinct scope set); cloning is a reference count.
#[derive(Clone, Eq)]
pub struct CacheKey(Arc<KeyInner>);

impl PartialEq for CacheKey {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.canonical == other.0.canonical
    }
}

#[derive(PartialEq, Eq)]
struct KeyInner {
    canonical: String,
    digest_hex: String,
    /// First 8 bytes of the digest: hashing a key in a map costs one `u64` write.
    hash64: u64,
}

impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.hash64);
    }
}

/// The parts a key is made of. Scopes are sorted and de-duplicated; parameters are sorted by
/// name, so the order a profile lists them in does not matter.
#[derive(Debug, Default, Clone)]
pub struct KeyParts<'a> {
    /// The token endpoint URL.
    pub token_url: &'a str,
    /// The client id.
    pub client_id: &'a str,
    /// The grant (`client_credentials`, `refresh_token`, …).
    pub grant: &'a str,
    /// Whose token this is for user grants (the signed-in identity); empty for app tokens.
    pub subject: &'a str,
    /// Requested scopes.
    pub scopes: &'a [String],
    /// Extra request parameters that change the token (resource, tenant, enrollment, …).
    pub params: &'a [(String, String)],
}

impl CacheKey {
    /// Builds the canonical key from its parts.
    pub fn new(parts: &KeyParts<'_>) -> Self {
        let mut scopes: Vec<&str> = parts.scopes.iter().map(String::as_str).collect();
        scopes.sort_unstable();
        scopes.dedup();
        let mut params: Vec<(&str, &str)> = parts
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        params.sort_unstable();
        let mut canonical = String::with_capacity(128);
        for field in [parts.token_url, parts.client_id, parts.grant, parts.subject] {
            push_escaped(&mut canonical, field);
            canonical.push('\n');
        }
        for scope in scopes {
            push_escaped(&mut canonical, scope);
            canonical.push(' ');
        }
        canonical.push('\n');
        for (k, v) in params {
            push_escaped(&mut canonical, k);
            canonical.push('=');
            push_escaped(&mut canonical, v);
            canonical.push('&');
        }
        Self::from_canonical(canonical)
    }

    /// Rebuilds a key from its canonical text (as stored by a persistent tier).
    pub fn from_canonical(canonical: String) -> Self {
        let d = digest::digest(&digest::SHA256, canonical.as_bytes());
        let bytes = d.as_ref();
        let digest_hex = hex::encode(bytes);
        let mut first = [0u8; 8];
        first.copy_from_slice(&bytes[..8]);
        Self(Arc::new(KeyInner {
            canonical,
            digest_hex,
            hash64: u64::from_le_bytes(first),
        }))
    }

    /// The canonical text. Contains no secret (client secrets are never part of a key).
    pub fn canonical(&self) -> &str {
        &self.0.canonical
    }

    /// The same key, bound to a [`credential_fingerprint`]: profiles that present different
    /// credentials to the same client never share a cached token. An empty fingerprint (a
    /// public client) leaves the key as it is.
    pub(crate) fn bound_to(&self, fingerprint: &str) -> Self {
        if fingerprint.is_empty() {
            return self.clone();
        }
        Self::from_canonical(format!(
            "{}{CREDENTIAL_FIELD}{fingerprint}",
            self.0.canonical
        ))
    }

    /// The canonical text to show (`cache list`): a credential fingerprint, which would let
    /// a reader test guessed secrets, reads as `credential=bound`.
    pub fn listed(&self) -> String {
        match self.0.canonical.rsplit_once(CREDENTIAL_FIELD) {
            Some((head, _)) => format!("{head}{CREDENTIAL_FIELD}bound"),
            None => self.0.canonical.clone(),
        }
    }

    /// Hex SHA-256 of the canonical text. Unkeyed, so only for names of keys that carry no
    /// credential fingerprint (secret names); the shared tiers name token entries with
    /// [`crate::cache::CacheCipher::entry_name`].
    pub(crate) fn digest_hex(&self) -> &str {
        &self.0.digest_hex
    }
}

/// Where a key bound to credentials holds their fingerprint: the last field.
const CREDENTIAL_FIELD: &str = "\ncredential=";

/// A fingerprint of the credentials a profile presents (`(name, value)` pairs: client secret,
/// private key, certificate, API key, header values), hex. Empty without credentials.
///
/// SHA-256 over a domain tag, `salt` (the key's server and client id) and the credentials:
/// deterministic, so processes and machines with the same credentials share cache entries, and
/// cheap, because a key holding it is only ever persisted under a keyed name
/// ([`crate::cache::CacheCipher::entry_name`]) and inside sealed entries, and is listed and
/// debug-printed without it. Names that reach a secret store unkeyed use
/// [`secret_name_fingerprint`] instead. The secrets themselves are never part of a key.
pub(crate) fn credential_fingerprint(salt: &str, credentials: &[(&str, &str)]) -> String {
    if credentials.is_empty() {
        return String::new();
    }
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(b"tokenbroker credential v2\n");
    length_prefixed(salt, |part| ctx.update(part));
    for (name, value) in credentials {
        length_prefixed(name, |part| ctx.update(part));
        length_prefixed(value, |part| ctx.update(part));
    }
    hex::encode(&ctx.finish().as_ref()[..16])
}

fn length_prefixed(part: &str, mut feed: impl FnMut(&[u8])) {
    feed(&(part.len() as u64).to_be_bytes());
    feed(part.as_bytes());
}

/// PBKDF2 rounds of [`secret_name_fingerprint`]: a guess at a secret costs an offline attacker
/// this many HMAC-SHA-256 blocks.
const SECRET_NAME_ROUNDS: u32 = 100_000;

/// A slow fingerprint of credentials for names that leave this process unkeyed: the name of a
/// configured refresh token's identity, under which its rotations are kept in whatever secret
/// store the app configured (an external helper, the app's Keychain). PBKDF2-HMAC-SHA-256 with
/// [`SECRET_NAME_ROUNDS`] rounds, salted with `salt`, so a name read from such a store does not
/// cheaply confirm a guess. Its output is part of stored names: it must never change.
pub(crate) fn secret_name_fingerprint(salt: &str, credentials: &[(&str, &str)]) -> String {
    if credentials.is_empty() {
        return String::new();
    }
    let mut material = zeroize::Zeroizing::new(Vec::new());
    for (name, value) in credentials {
        for part in [name, value] {
            length_prefixed(part, |bytes| material.extend_from_slice(bytes));
        }
    }
    let mut out = [0u8; 16];
    aws_lc_rs::pbkdf2::derive(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::new(SECRET_NAME_ROUNDS).expect("non-zero rounds"),
        format!("tokenbroker credential v1\n{salt}").as_bytes(),
        &material,
        &mut out,
    );
    hex::encode(out)
}

/// Who a cached token belongs to: the fields of a canonical key before its scopes and
/// parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyIdentity {
    /// Token endpoint (or issuer, for discovered endpoints).
    pub server: String,
    /// Client id.
    pub client_id: String,
    /// Grant.
    pub grant: String,
    /// Subject (the signed-in identity for user grants; empty for app tokens).
    pub subject: String,
}

impl KeyIdentity {
    /// Reads the identity out of a canonical key text (as stored and listed by the tiers).
    pub fn parse(canonical: &str) -> Self {
        let mut fields = vec![String::new()];
        let mut chars = canonical.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => fields.last_mut().unwrap().extend(chars.next()),
                '\n' if fields.len() == 4 => break,
                '\n' => fields.push(String::new()),
                c => fields.last_mut().unwrap().push(c),
            }
        }
        fields.resize(4, String::new());
        let mut fields = fields.into_iter();
        let mut next = || fields.next().unwrap_or_default();
        Self {
            server: next(),
            client_id: next(),
            grant: next(),
            subject: next(),
        }
    }
}

fn push_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        if matches!(c, '\\' | '\n' | ' ' | '=' | '&') {
            out.push('\\');
        }
        out.push(c);
    }
}

impl fmt::Debug for CacheKey {
    /// The listed form: a digest or the fingerprint would let a log reader test guesses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheKey({:?})", self.listed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(scopes: &[&str], params: &[(&str, &str)]) -> CacheKey {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        CacheKey::new(&KeyParts {
            token_url: "http://127.0.0.1/token",
            client_id: "c",
            grant: "client_credentials",
            subject: "",
            scopes: &scopes,
            params: &params,
        })
    }

    #[test]
    fn scope_order_and_duplicates_do_not_matter() {
        assert_eq!(key(&["b", "a", "a"], &[]), key(&["a", "b"], &[]));
        assert_ne!(key(&["a"], &[]), key(&["a", "b"], &[]));
    }

    #[test]
    fn params_are_part_of_the_key_in_any_order() {
        assert_eq!(
            key(&[], &[("resource", "r"), ("tenant", "t")]),
            key(&[], &[("tenant", "t"), ("resource", "r")])
        );
        assert_ne!(
            key(&[], &[("resource", "r1")]),
            key(&[], &[("resource", "r2")])
        );
    }

    #[test]
    fn identity_round_trips_through_the_canonical_text() {
        let k = key(&["s"], &[("resource", "r")]);
        let id = KeyIdentity::parse(k.canonical());
        assert_eq!(id.server, "http://127.0.0.1/token");
        assert_eq!(
            (
                id.client_id.as_str(),
                id.grant.as_str(),
                id.subject.as_str()
            ),
            ("c", "client_credentials", "")
        );
        let odd = CacheKey::new(&KeyParts {
            token_url: "http://h/t",
            client_id: "a b\\c",
            grant: "g",
            subject: "x\ny",
            ..Default::default()
        });
        let id = KeyIdentity::parse(odd.canonical());
        assert_eq!(
            (id.client_id.as_str(), id.subject.as_str()),
            ("a b\\c", "x\ny")
        );
    }

    #[test]
    fn credentials_split_keys_and_stay_out_of_them() {
        let base = key(&["s"], &[]);
        let right = credential_fingerprint("t c", &[("client_secret", "right")]);
        let wrong = credential_fingerprint("t c", &[("client_secret", "wrong")]);
        assert_eq!(
            right,
            credential_fingerprint("t c", &[("client_secret", "right")])
        );
        assert_ne!(base.bound_to(&right), base.bound_to(&wrong));
        assert_ne!(
            right,
            credential_fingerprint("t c", &[("api_key", "right")]),
            "which credential it is counts"
        );
        assert_ne!(
            right,
            credential_fingerprint("t d", &[("client_secret", "right")])
        );
        assert!(!base.bound_to(&right).canonical().contains("right"));
        assert_eq!(base.bound_to(""), base);
        let id = KeyIdentity::parse(base.bound_to(&right).canonical());
        assert_eq!(id, KeyIdentity::parse(base.canonical()));
    }

    #[test]
    fn separators_cannot_collide() {
        assert_ne!(key(&["a b"], &[]), key(&["a", "b"], &[]));
    }
}
