//! Entry points for the fuzz targets (`fuzz/`) and the property tests
//! (`core/tests/parsers_prop.rs`): each forwards to the real parser of one kind of untrusted
//! input, with fixed settings, so that those harnesses test the code the broker runs without
//! widening the public API. Not a stable interface.

use std::time::{Duration, SystemTime};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use serde_json::{Value, json};

use crate::cache::record::{open_secret, open_token};
use crate::cache::{CacheCipher, CacheKey};
use crate::config::{Config, HttpConfig};
use crate::discovery::{self, Metadata};
use crate::error::{Error, Result};
use crate::flow::authorization::{self, Callback};
use crate::http::{self, HttpClient, Response};
use crate::id_token::{self, IdTokenCheck};
use crate::secret::Secret;
use crate::token::TokenSet;
use crate::validate::{self, Expect};

/// The issuer every fuzzed ID token and discovery document is checked against.
pub const ISSUER: &str = "https://issuer.test";
/// The client id every fuzzed ID token is checked against.
pub const CLIENT_ID: &str = "fuzz-client";
/// The nonce every fuzzed ID token must carry.
pub const NONCE: &str = "fuzz-nonce";
/// The authorization code whose `c_hash` a fuzzed ID token may carry.
pub const CODE: &str = "fuzz-code";
/// The secret the fuzzed requests "carried" (scrubbed from error messages).
pub const SECRET: &str = "fuzz-secret-value";
/// The `kid` of [`signing_jwks`]'s key.
pub const KID: &str = "fuzz-key";

/// A provider response with `status`, `content_type` and `body`.
pub fn response(status: u16, content_type: Option<&str>, body: &[u8]) -> Response {
    Response {
        endpoint: "https://issuer.test/token".into(),
        status,
        content_type: content_type.map(str::to_owned),
        cache_control: None,
        body: body.to_vec(),
        redactor: crate::redact::Redactor::new([SECRET]),
    }
}

/// A token endpoint response, checked as the flows check it.
pub fn token_response(resp: &Response) -> Result<TokenSet> {
    let scopes = ["requested".to_owned()];
    let expect = Expect {
        requested_scopes: &scopes,
        default_ttl: Duration::from_secs(300),
    };
    let set = validate::token_response(resp, &expect)?;
    // What the cache computes from every new token.
    let _ = (set.lifetime(), set.remaining_at(SystemTime::now()));
    Ok(set)
}

/// Any non-2xx answer of an OAuth endpoint.
pub fn error_response(resp: &Response) -> Error {
    validate::error_response(resp)
}

/// An instant as `expires_on` gives it (epoch seconds, HTTP date or RFC 3339).
pub fn instant(value: &Value) -> Option<SystemTime> {
    validate::parse_instant(value)
}

/// A `Retry-After` header value.
pub fn retry_after(value: &str) -> Option<Duration> {
    http::parse_retry_after(value)
}

/// A discovery (OpenID Connect or RFC 8414) document, checked against [`ISSUER`].
pub fn discovery_document(resp: &Response) -> Result<Metadata> {
    let map = validate::json_object(resp)?;
    discovery::parse(resp, &map, ISSUER)
}

/// A JWKS response.
pub fn jwks(resp: &Response) -> Result<JwkSet> {
    id_token::parse_jwks(resp)
}

/// Validates `token` against `jwks` (as the login flows do: issuer, client, nonce, `c_hash`).
pub fn id_token(token: &str, jwks: &JwkSet) -> Result<Value> {
    let check = IdTokenCheck::new(ISSUER, CLIENT_ID, jwks).with_nonce(NONCE);
    id_token::validate_with_code(token, &check, CODE)
}

fn signing_key() -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[0x42; 32]).expect("a 32-byte seed is a valid key")
}

/// The JWKS holding the public half of the key [`signed_id_token`] signs with.
pub fn signing_jwks() -> JwkSet {
    let x = URL_SAFE_NO_PAD.encode(signing_key().public_key().as_ref());
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": KID, "alg": "EdDSA",
        "use": "sig"});
    serde_json::from_value(json!({ "keys": [jwk] })).expect("a well-formed JWK")
}

/// A compact JWS of the raw `header` and `claims` bytes, signed by the [`signing_jwks`] key,
/// so that fuzzed claims get past the signature check to the claim checks.
pub fn signed_id_token(header: &[u8], claims: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = signing_key().sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
}

/// A config file's text; when it parses, the HTTP client is built from its `[http]` section
/// as the broker does (without reading CA files).
pub fn config_toml(text: &str) -> Result<Config> {
    let mut config = Config::from_toml_str(text)?;
    let default = HttpConfig::default();
    let h = &config.http;
    let http_given = h.timeout_secs != default.timeout_secs
        || h.deadline_secs != default.deadline_secs
        || h.connect_timeout_secs != default.connect_timeout_secs
        || h.max_retry_wait_secs != default.max_retry_wait_secs;
    if http_given {
        let mut http = config.http.clone();
        http.ca_file = None;
        HttpClient::new(&http, &[])?;
    }
    config.http.ca_file = None;
    Ok(config)
}

fn cipher() -> CacheCipher {
    CacheCipher::from_bytes(&[0x5a; 32]).expect("a 32-byte key")
}

/// A sealed cache entry as read from a file or Redis, stored under `name`.
pub fn cache_entry(name: &str, sealed: &[u8]) -> Result<(CacheKey, TokenSet)> {
    open_token(&cipher(), name, sealed)
}

/// A decrypted token record: `plaintext` is sealed under the entry name of the canonical key
/// it names (so that it reaches the record parser) and opened as the cache tiers open it.
pub fn cache_token_record(plaintext: &[u8]) -> Result<(CacheKey, TokenSet)> {
    let named = serde_json::from_slice::<Value>(plaintext)
        .ok()
        .and_then(|v| v.get("key").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    let name = cipher().entry_name(&CacheKey::from_canonical(named));
    let sealed = cipher().seal(name.as_bytes(), plaintext)?;
    let (key, token) = open_token(&cipher(), &name, &sealed)?;
    let _ = (token.lifetime(), token.remaining_at(SystemTime::now()));
    Ok((key, token))
}

/// A decrypted secret record stored under `name`.
pub fn cache_secret_record(name: &str, plaintext: &[u8]) -> Result<Secret> {
    let sealed = cipher().seal(
        crate::cache::record::name_digest(name).as_bytes(),
        plaintext,
    )?;
    open_secret(&cipher(), name, &sealed)
}

/// The redirect URL of a browser login (query and fragment), as `complete_login` reads it.
pub fn callback_url(url: &str) -> Result<Callback> {
    authorization::parse_callback_url(url)
}

/// A `response_mode=form_post` body posted to the loopback listener.
pub fn form_post(body: &[u8]) -> Result<Callback> {
    authorization::parse_form_post(body)
}
