use serde_json::json;

use super::*;

fn meta(value: Value) -> ClientMetadata {
    ClientMetadata::from_json(value).unwrap()
}

fn fails(value: Value, field: &str, needle: &str) {
    let err = meta(value.clone()).validate().unwrap_err();
    let text = err.to_string();
    assert_eq!(err.kind(), crate::ErrorKind::Config, "{text}");
    assert!(
        text.contains(&format!("field '{field}'")),
        "{value}: expected field {field}: {text}"
    );
    assert!(
        text.contains(needle),
        "{value}: expected '{needle}': {text}"
    );
}

#[test]
fn machine_and_web_clients_pass() {
    meta(json!({"grant_types": ["client_credentials"], "response_types": [], "scope": "a b"}))
        .validate()
        .unwrap();
    meta(json!({
        "redirect_uris": ["https://app.example.com/cb", "http://127.0.0.1:8080/cb",
                          "http://[::1]/cb", "http://localhost/cb"],
        "grant_types": ["authorization_code", "refresh_token"],
        "contacts": ["ops@example.com"],
    }))
    .validate()
    .unwrap();
    // The seed 002 example: code + id_token without implicit is accepted.
    meta(json!({
        "redirect_uris": ["https://client.example.org/callback"],
        "grant_types": ["authorization_code", "client_credentials", "refresh_token"],
        "response_types": ["code", "id_token"],
        "scope": "myaspect.users myaspect.teams",
    }))
    .validate()
    .unwrap();
}

#[test]
fn redirect_uri_schemes() {
    fails(
        json!({"redirect_uris": ["http://app.example.com/cb"]}),
        "redirect_uris",
        "must use https",
    );
    fails(
        json!({"redirect_uris": ["https://app.example.com/cb#frag"]}),
        "redirect_uris",
        "fragment",
    );
    fails(
        json!({"redirect_uris": ["/relative/cb"]}),
        "redirect_uris",
        "not an absolute URI",
    );
    fails(
        json!({"redirect_uris": ["javascript:alert(1)"]}),
        "redirect_uris",
        "scheme 'javascript'",
    );
    meta(json!({"redirect_uris": ["com.example.app:/cb"], "application_type": "native"}))
        .validate()
        .unwrap();
    meta(json!({"redirect_uris": ["com.example.app:/cb"]}))
        .validate()
        .unwrap();
    fails(
        json!({"redirect_uris": ["com.example.app:/cb"], "application_type": "web"}),
        "redirect_uris",
        "only native apps",
    );
}

#[test]
fn redirect_grants_need_redirect_uris() {
    fails(json!({"scope": "a"}), "redirect_uris", "defaults to");
    fails(
        json!({"grant_types": ["authorization_code"]}),
        "redirect_uris",
        "is required for grant type 'authorization_code'",
    );
}

#[test]
fn grant_and_response_types_agree() {
    fails(
        json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["client_credentials"],
               "response_types": ["code"]}),
        "grant_types",
        "must include 'authorization_code' because response_types has 'code'",
    );
    fails(
        json!({"grant_types": ["client_credentials"]}),
        "response_types",
        "defaults to [\"code\"]",
    );
    fails(
        json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["code", "token"]}),
        "grant_types",
        "'implicit' because response_types has 'token' (grant_types was left out",
    );
    fails(
        json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]}),
        "grant_types",
        "'implicit'",
    );
    fails(
        json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["authorization_code"],
               "response_types": []}),
        "response_types",
        "must include 'code'",
    );
    fails(
        json!({"redirect_uris": ["https://a.example/cb"],
               "grant_types": ["authorization_code", "implicit"], "response_types": ["code"]}),
        "response_types",
        "must include 'token'",
    );
    meta(json!({"redirect_uris": ["https://a.example/cb"],
                "grant_types": ["authorization_code", "implicit"],
                "response_types": ["code", "code id_token token"]}))
    .validate()
    .unwrap();
}

#[test]
fn field_types_and_values() {
    fails(
        json!({"redirect_uris": "https://a/cb"}),
        "redirect_uris",
        "list of strings",
    );
    fails(json!({"scope": ["a"]}), "scope", "must be a string");
    fails(
        json!({"grant_types": ["client_credentials"], "response_types": [],
               "contacts": ["not-an-address"]}),
        "contacts",
        "'not-an-address' is not an e-mail address",
    );
    fails(
        json!({"grant_types": ["client_credentials"], "response_types": [],
               "contacts": ["a@localhost"]}),
        "contacts",
        "e-mail",
    );
    fails(
        json!({"grant_types": ["client_credentials"], "response_types": [],
               "scope": "ok bad\"quote"}),
        "scope",
        "bad\"quote",
    );
    fails(
        json!({"grant_types": ["client_credentials"], "response_types": [],
               "application_type": "desktop"}),
        "application_type",
        "'desktop'",
    );
    fails(
        json!({"grant_types": ["client_credentials"], "response_types": [],
               "jwks": {"keys": []}, "jwks_uri": "https://a.example/jwks"}),
        "jwks",
        "together",
    );
}

#[test]
fn server_fields_are_refused() {
    for field in SERVER_FIELDS {
        fails(json!({ field: "x" }), field, "issued by the server");
    }
}

#[test]
fn debug_redacts_secret_fields_and_setters_build_json() {
    let m = ClientMetadata::new()
        .with_grant_types(["client_credentials"])
        .with_response_types(Vec::<String>::new())
        .with_scope("api:read")
        .with_client_name("n")
        .with_contacts(["a@b.example"])
        .with_token_endpoint_auth_method("client_secret_basic")
        .with_application_type("web")
        .with_redirect_uris(["https://a.example/cb"])
        .with("client_secret", "hunter2-do-not-print");
    let dbg = format!("{m:?}");
    assert!(!dbg.contains("hunter2"), "{dbg}");
    assert!(dbg.contains("api:read"), "{dbg}");
    assert_eq!(m.grant_types().unwrap(), ["client_credentials"]);
    assert_eq!(m.response_types().unwrap(), Vec::<String>::new());
    assert_eq!(m.scope(), Some("api:read"));
    assert_eq!(m.client_name(), Some("n"));
    assert_eq!(m.contacts().unwrap(), ["a@b.example"]);
    assert_eq!(m.token_endpoint_auth_method(), Some("client_secret_basic"));
    assert_eq!(m.application_type(), Some("web"));
    assert_eq!(m.redirect_uris().unwrap(), ["https://a.example/cb"]);
    assert!(ClientMetadata::from_json(json!([1])).is_err());
    assert_eq!(
        ClientMetadata::new().effective_grant_types(),
        ["authorization_code"]
    );
    assert_eq!(ClientMetadata::new().effective_response_types(), ["code"]);
}
