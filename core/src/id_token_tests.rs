use super::*;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

const ISS: &str = "https://issuer.test";

/// A P-256 key generated for the test, and its public half as a JWKS.
fn signer(kid: &str) -> (EncodingKey, JwkSet) {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let point = pair.public_key().as_ref().to_vec(); // 0x04 || x || y
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])});
    let key = EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref());
    (
        key,
        serde_json::from_value(json!({ "keys": [jwk] })).unwrap(),
    )
}

fn sign(key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn claims() -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({"iss": ISS, "aud": ["client-1", "other"], "azp": "client-1", "sub": "user-1",
        "iat": now, "nbf": now, "exp": now + 300, "nonce": "nonce-123"})
}

fn reason(result: Result<Value>) -> String {
    match result {
        Err(Error::InvalidResponse { reason, .. }) => reason,
        other => panic!("expected InvalidResponse, got {other:?}"),
    }
}

#[test]
fn accepts_a_valid_token_and_returns_its_claims() {
    let (key, jwks) = signer("k1");
    let check = IdTokenCheck::new(ISS, "client-1", &jwks).with_nonce("nonce-123");
    let got = validate(&sign(&key, Some("k1"), &claims()), &check).unwrap();
    assert_eq!(got["sub"], "user-1");
    // Without a kid every fitting key is tried.
    assert!(validate(&sign(&key, None, &claims()), &check).is_ok());
}

#[test]
fn each_failed_check_is_named_without_quoting_the_token() {
    let (key, jwks) = signer("k1");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let cases: [(&str, Value, &str); 8] = [
        ("aud", json!("someone-else"), "'aud' does not contain"),
        (
            "iss",
            json!("https://evil.test"),
            "'iss' is 'https://evil.test'",
        ),
        ("nonce", json!("replayed"), "'nonce' does not match"),
        ("nonce", Value::Null, "'nonce' is missing"),
        ("exp", json!(now - 120), "expired"),
        ("nbf", json!(now + 600), "'nbf'"),
        ("iat", json!(now + 600), "'iat'"),
        ("azp", json!("other"), "'azp'"),
    ];
    let check = IdTokenCheck::new(ISS, "client-1", &jwks).with_nonce("nonce-123");
    for (claim, value, expected) in cases {
        let mut c = claims();
        match value {
            Value::Null => c.as_object_mut().unwrap().remove(claim),
            v => c.as_object_mut().unwrap().insert(claim.into(), v),
        };
        let token = sign(&key, Some("k1"), &c);
        let why = reason(validate(&token, &check));
        assert!(why.contains(expected), "{claim}: {why}");
        assert!(!why.contains(&token[..20]), "token leaked: {why}");
    }
    // 30 s past `exp` is inside the default skew.
    let mut c = claims();
    c["exp"] = json!(now - 30);
    assert!(validate(&sign(&key, Some("k1"), &c), &check).is_ok());
}

#[test]
fn bad_signatures_and_unknown_keys_are_refused() {
    let (key, jwks) = signer("k1");
    let (other_key, _) = signer("k1");
    let check = IdTokenCheck::new(ISS, "client-1", &jwks);
    let forged = sign(&other_key, Some("k1"), &claims());
    assert!(reason(validate(&forged, &check)).contains("signature does not verify"));
    let unknown = sign(&key, Some("k9"), &claims());
    assert!(reason(validate(&unknown, &check)).contains("no key with kid 'k9'"));
    let hmac = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
    )
    .unwrap();
    assert!(reason(validate(&hmac, &check)).contains("not accepted"));
    assert!(reason(validate("abc.def", &check)).contains("not a signed JWT"));
}

#[test]
fn c_hash_binds_the_code_of_a_hybrid_response() {
    let (key, jwks) = signer("k1");
    let check = IdTokenCheck::new(ISS, "client-1", &jwks);
    let mut c = claims();
    // Left half of SHA-256("the-code"), computed independently with Python's hashlib.
    assert_eq!(
        half_hash(Algorithm::ES256, "the-code"),
        "7DGrz5DFcFFtWOE5NDHy8Q"
    );
    c["c_hash"] = json!("7DGrz5DFcFFtWOE5NDHy8Q");
    let token = sign(&key, Some("k1"), &c);
    assert!(validate_with_code(&token, &check, "the-code").is_ok());
    let why = reason(validate_with_code(&token, &check, "another-code"));
    assert!(why.contains("'c_hash'"), "{why}");
}
