//! Property tests of every parser of untrusted input, through `tokenbroker::advanced::fuzzing` (the
//! same entry points as the cargo-fuzz targets in `fuzz/`): whatever a provider, a config
//! file, a cache file or a browser redirect holds, the parser returns a value or a typed error
//! that names what was wrong, never panics, and never quotes a secret.
//!
//! `PROPTEST_CASES` sets the cases per property (proptest's default, 256, in `make test`).

#[path = "parsers_prop/strategies.rs"]
mod strategies;

use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::{Value, json};
use strategies::*;
use tokenbroker::ErrorKind;
use tokenbroker::advanced::fuzzing::{self as fz, ISSUER, SECRET};

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The error is of `kind` and its message is bounded.
fn typed(err: &tokenbroker::Error, kind: ErrorKind) -> Result<(), TestCaseError> {
    let text = err.to_string();
    prop_assert_eq!(err.kind(), kind, "{}", text);
    prop_assert!(text.len() < 4096, "message of {} bytes", text.len());
    Ok(())
}

/// As [`typed`], and the secret the request carried is not quoted.
fn typed_secret_free(err: &tokenbroker::Error, kind: ErrorKind) -> Result<(), TestCaseError> {
    typed(err, kind)?;
    prop_assert!(
        !err.to_string().contains(SECRET),
        "secret in message: {}",
        err
    );
    Ok(())
}

fn token_body() -> impl Strategy<Value = Vec<u8>> {
    let fields = vec![
        ("access_token", one_of(&["at-1", "", " "])),
        ("token_type", one_of(&["Bearer", "bearer", ""])),
        ("expires_in", number()),
        ("expires_on", number()),
        ("refresh_in", number()),
        ("scope", one_of(&["a b", "a,b", ""])),
        ("refresh_token", one_of(&["rt-1", ""])),
        ("error", one_of(&["invalid_grant", "invalid_client"])),
        (
            "error_description",
            hostile_text().prop_map(Value::String).boxed(),
        ),
        ("error_codes", json_value().boxed()),
    ];
    prop_oneof![
        3 => near_valid_object(fields).prop_map(|m| Value::Object(m).to_string().into_bytes()),
        1 => wire_bytes(),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// FAILS on today's code until t-inputs' range checks land: `expires_in`, `expires_on`
    /// and `refresh_in` of 1e19 or more panic in `Duration::from_secs_f64`.
    #[test]
    fn token_response_hostile_numbers(
        field in prop::sample::select(vec!["expires_in", "expires_on", "refresh_in"]),
        n in hostile_number_value(),
    ) {
        let body = json!({"access_token": "at", "token_type": "Bearer", field: n});
        let resp = fz::response(200, Some("application/json"), body.to_string().as_bytes());
        match fz::token_response(&resp) {
            Ok(set) => prop_assert!(set.expires_at >= SystemTime::UNIX_EPOCH),
            Err(e) => {
                typed_secret_free(&e, ErrorKind::InvalidResponse)?;
                prop_assert!(e.to_string().contains(field), "{}", e);
            }
        }
    }

    /// FAILS on today's code until t-inputs' range checks land (same panics as above, reached
    /// through generated near-valid bodies).
    #[test]
    fn token_response_any_body(status in prop::sample::select(vec![200u16, 201, 400, 401, 500]),
                               body in token_body()) {
        let resp = fz::response(status, Some("application/json"), &body);
        match fz::token_response(&resp) {
            Ok(set) => {
                prop_assert!((200..300).contains(&status));
                prop_assert!(!set.access_token.expose().trim().is_empty());
            }
            Err(e) => {
                let kind = e.kind();
                prop_assert!(matches!(kind, ErrorKind::OAuth | ErrorKind::InvalidResponse));
                typed_secret_free(&e, kind)?;
            }
        }
    }

    #[test]
    fn error_response_any_body(status in 300u16..600, body in token_body(),
                               html in any::<bool>()) {
        let ct = if html { "text/html" } else { "application/json" };
        let e = fz::error_response(&fz::response(status, Some(ct), &body));
        let kind = e.kind();
        prop_assert!(matches!(kind, ErrorKind::OAuth | ErrorKind::InvalidResponse));
        typed_secret_free(&e, kind)?;
        prop_assert_eq!(e.status(), Some(status));
    }

    /// FAILS on today's code until t-inputs' range checks land: epoch seconds of 1e19 or
    /// more, and RFC 3339 dates with huge years or seconds, panic.
    #[test]
    fn instants(value in prop_oneof![
        hostile_number_value(),
        hostile_text().prop_map(Value::String),
        (hostile_number(), 0u8..20, 0u8..40, 0u8..30, 0u8..70, hostile_number(),
         prop::sample::select(vec!["Z", "+01:00", "-23:59", "+99999999999:00", "+", ""]))
            .prop_map(|(y, mo, d, h, mi, s, off)|
                Value::String(format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s}{off}"))),
    ]) {
        let _ = fz::instant(&value);
    }

    #[test]
    fn retry_after(value in prop_oneof![
        hostile_number(),
        hostile_text(),
        Just("Wed, 21 Oct 2015 07:28:00 GMT".to_owned()),
        Just("Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
    ]) {
        let parsed = fz::retry_after(&value);
        if let Ok(secs) = value.trim().parse::<u64>() {
            // Whole seconds, at most ten years (the longest span anything accepts).
            prop_assert_eq!(parsed, Some(Duration::from_secs(secs.min(315_360_000))));
        }
    }

    #[test]
    fn discovery_document(body in prop_oneof![
        3 => near_valid_object(vec![
            ("issuer", one_of(&[ISSUER, "https://issuer.test/", "https://evil.test", ""])),
            ("token_endpoint", one_of(&["https://issuer.test/token", "http://evil.test/t",
                                        "http://127.0.0.1:1/t", "not a url", "javascript:x"])),
            ("jwks_uri", one_of(&["https://issuer.test/jwks", "file:///etc/passwd"])),
            ("authorization_endpoint", one_of(&["https://issuer.test/auth", "//x"])),
            ("scopes_supported", json_value().boxed()),
            ("authorization_response_iss_parameter_supported", json_value().boxed()),
        ]).prop_map(|m| Value::Object(m).to_string().into_bytes()),
        1 => wire_bytes(),
    ]) {
        match fz::discovery_document(&fz::response(200, None, &body)) {
            Ok(meta) => {
                prop_assert_eq!(meta.issuer.trim_end_matches('/'), ISSUER);
                for url in [&meta.token_endpoint, &meta.jwks_uri, &meta.authorization_endpoint]
                    .into_iter().flatten() {
                    prop_assert!(url.scheme() == "https"
                        || url.host_str() == Some("127.0.0.1"), "{}", url);
                }
            }
            Err(e) => typed(&e, ErrorKind::InvalidResponse)?,
        }
    }

    #[test]
    fn jwks_and_id_tokens_against_it(body in prop_oneof![
        3 => prop::collection::vec(near_valid_object(vec![
            ("kty", one_of(&["RSA", "EC", "OKP", "oct", "x"])),
            ("crv", one_of(&["P-256", "P-384", "Ed25519", "X25519", "secp256k1"])),
            ("alg", one_of(&["ES256", "RS256", "EdDSA", "HS256", "none"])),
            ("use", one_of(&["sig", "enc", "other"])),
            ("kid", one_of(&["k1", "fuzz-key"])),
            ("x", one_of(&["", "AAAA", "_-_-", "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"])),
            ("y", one_of(&["", "AAAA"])),
            ("n", one_of(&["", "AQAB", "AAAAAAAA"])),
            ("e", one_of(&["", "AQAB", "AA"])),
        ]), 0..4).prop_map(|keys| json!({"keys": keys}).to_string().into_bytes()),
        1 => wire_bytes(),
    ]) {
        match fz::jwks(&fz::response(200, None, &body)) {
            Ok(set) => {
                let token = fz::signed_id_token(br#"{"alg":"EdDSA","kid":"k1"}"#, b"{}");
                if let Err(e) = fz::id_token(&token, &set) {
                    typed(&e, ErrorKind::InvalidResponse)?;
                }
            }
            Err(e) => typed(&e, ErrorKind::InvalidResponse)?,
        }
    }

    #[test]
    fn id_token_claims(
        header in prop_oneof![
            Just(format!(r#"{{"alg":"EdDSA","kid":"{}"}}"#, fz::KID)),
            Just(r#"{"alg":"EdDSA"}"#.to_owned()),
            json_value().prop_map(|v| v.to_string()),
            hostile_text(),
        ],
        claims in prop_oneof![
            3 => near_valid_object(vec![
                ("iss", one_of(&[ISSUER, "https://evil.test"])),
                ("aud", one_of(&[fz::CLIENT_ID, "other"])),
                ("sub", one_of(&["user", ""])),
                ("nonce", one_of(&[fz::NONCE, "other"])),
                ("exp", number()), ("iat", number()), ("nbf", number()),
                ("c_hash", one_of(&["", "abc"])),
            ]).prop_map(|m| Value::Object(m).to_string().into_bytes()),
            1 => wire_bytes(),
        ],
        mangle in prop::option::of(hostile_text()),
    ) {
        let mut token = fz::signed_id_token(header.as_bytes(), &claims);
        if let Some(tail) = mangle {
            token.push_str(&tail);
        }
        match fz::id_token(&token, &fz::signing_jwks()) {
            Ok(claims) => prop_assert_eq!(claims["iss"].as_str(), Some(ISSUER)),
            Err(e) => typed(&e, ErrorKind::InvalidResponse)?,
        }
    }

    /// FAILS on today's code until t-inputs' range checks land: `[http]` timeouts of 1e19
    /// seconds or more pass the config checks and panic when the HTTP client is built.
    #[test]
    fn config_toml(text in prop_oneof![
        3 => (prop::sample::select(vec!["cache", "http"]),
              prop::sample::select(vec!["timeout", "connect_timeout", "max_retry_wait",
                  "max_retries", "max_entries", "default_ttl", "refresh_share",
                  "refresh_jitter"]),
              hostile_number())
            .prop_map(|(section, key, n)| format!("[{section}]\n{key} = {n}\n")),
        2 => (hostile_text(), hostile_text())
            .prop_map(|(k, v)| format!("[profiles.p]\nclient_id = \"c\"\n{k:?} = {v:?}\n")),
        1 => any::<String>(),
    ]) {
        if let Err(e) = fz::config_toml(&text) {
            typed(&e, ErrorKind::Config)?;
        }
    }

    #[test]
    fn cache_records(
        record in prop_oneof![
            3 => near_valid_object(vec![
                ("key", one_of(&["", "https://t\nc\nclient_credentials\n"])),
                ("token", near_valid_object(vec![
                    ("access_token", one_of(&["at"])),
                    ("token_type", one_of(&["Bearer"])),
                    ("expires_at", number()), ("issued_at", number()),
                    ("scopes", json_value().boxed()),
                    ("refresh_in", json_value().boxed()),
                ]).prop_map(Value::Object).boxed()),
            ]).prop_map(|m| Value::Object(m).to_string().into_bytes()),
            1 => wire_bytes(),
        ],
        sealed in wire_bytes(),
    ) {
        if let Err(e) = fz::cache_token_record(&record) {
            typed(&e, ErrorKind::Cache)?;
        }
        if let Err(e) = fz::cache_secret_record("name", &record) {
            typed(&e, ErrorKind::Cache)?;
        }
        let e = fz::cache_entry("00", &sealed).expect_err("forged entries never open");
        typed(&e, ErrorKind::Cache)?;
    }

    #[test]
    fn loopback_redirects(
        pairs in prop::collection::vec(
            (prop::sample::select(vec!["code", "state", "error", "error_description", "iss",
                                       "id_token", "x"]), hostile_text()), 0..6),
        raw in any::<String>(),
    ) {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs).finish();
        for outcome in [
            fz::form_post(query.as_bytes()),
            fz::callback_url(&format!("http://127.0.0.1:1/callback?{query}")),
            fz::callback_url(&format!("http://127.0.0.1:1/callback#{query}")),
            fz::form_post(raw.as_bytes()),
            fz::callback_url(&raw),
        ] {
            match outcome {
                Ok(cb) => prop_assert!(!cb.code.expose().is_empty()),
                Err(e) => typed(&e, ErrorKind::Interaction)?,
            }
        }
    }
}
