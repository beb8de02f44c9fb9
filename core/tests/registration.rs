//! Client registration against real servers: RFC 7591/7592 at panva's oidc-provider, and the
//! Alvaria client-management API (seed 002) at the test provider.

mod support;

use serde_json::{Value, json};
use tokenbroker::advanced::profile::Endpoint;
use tokenbroker::advanced::registration::{
    ClientMetadata, RegisteredClient, SecretPlacement, alvaria, registration_token_name, rfc7592,
};
use tokenbroker::{Broker, Error, ErrorKind, Secret, TokenOptions};

use support::{admin, broker, client_requests, provider_url};

// ------------------------------------------------------------------ helpers

fn registration_status(err: &Error) -> Option<u16> {
    match err {
        Error::Registration { status, .. } => *status,
        other => panic!("expected a registration error, got {other:?}"),
    }
}

fn machine_metadata(scope: &str) -> ClientMetadata {
    ClientMetadata::new()
        .with_grant_types(["client_credentials"])
        .with_response_types(Vec::<String>::new())
        .with_token_endpoint_auth_method("client_secret_basic")
        .with_scope(scope)
        .with_client_name("tokenbroker registration test")
        .with_contacts(["ops@tokenbroker.example"])
}

fn oidc_broker() -> (Broker, String) {
    let issuer = support::oidc().get("issuer");
    let b = broker(&format!(
        r#"[cache]
store = "memory"
[profiles.reg]
provider = "oidc"
issuer = "{issuer}"
client_id = "registrar""#
    ));
    (b, issuer)
}

/// A broker over one new profile TOML snippet.
fn broker_from_snippet(snippet: &str) -> Broker {
    let text = format!("[cache]\nstore = \"memory\"\n{snippet}");
    Broker::new(tokenbroker::Config::from_toml_str(&text).expect("generated profile parses"))
        .expect("broker")
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let n: u64 = rand::random();
    std::env::temp_dir().join(format!("tb-reg-{name}-{n:x}"))
}

// ------------------------------------------------------------------ RFC 7591 / 7592

#[tokio::test]
async fn oidc_register_read_update_delete() {
    let (b, issuer) = oidc_broker();
    let created = b
        .register_client("reg", &machine_metadata("api:read"), None)
        .await
        .unwrap();
    let id = created.client_id.clone();
    let secret = created.client_secret.clone().expect("client_secret issued");
    let rat1 = created
        .registration_access_token
        .clone()
        .expect("registration access token issued");
    let uri = created.registration_client_uri.clone().unwrap();
    assert_eq!(uri.as_str(), format!("{issuer}/reg/{id}"));
    assert_eq!(
        created.metadata.client_name(),
        Some("tokenbroker registration test")
    );
    assert!(!format!("{created:?}").contains(secret.expose()));
    assert!(!created.to_json(false).to_string().contains(secret.expose()));
    assert_eq!(created.to_json(true)["client_secret"], secret.expose());
    let store = b.secret_store().await;
    assert_eq!(
        store
            .get_secret(&registration_token_name(&id))
            .await
            .unwrap(),
        Some(rat1.clone()),
        "registration access token kept in the secret store"
    );

    // The issued credentials work straight away, through a generated profile.
    let file = temp_path("oidc-secret");
    let snippet = created
        .to_profile_toml(
            "issued",
            &b.resolved_profile("reg").await.unwrap(),
            &SecretPlacement::File(file.clone()),
        )
        .unwrap();
    assert!(
        snippet.contains(&format!("client_secret = \"file:{}\"", file.display())),
        "{snippet}"
    );
    assert!(!snippet.contains(secret.expose()), "{snippet}");
    let issued = broker_from_snippet(&snippet);
    let token = issued
        .token("issued", &TokenOptions::default())
        .await
        .unwrap();
    assert_eq!(token.scopes(), ["api:read"]);

    let read = b.read_client("reg", &id).await.unwrap();
    assert_eq!(read.client_id, id);
    assert_eq!(read.metadata.scope(), Some("api:read"));

    // Full-replacement update from the read metadata; the token rotates.
    let mut changed = read.metadata.clone();
    changed.set("client_name", "renamed");
    let updated = b.update_client("reg", &id, &changed).await.unwrap();
    assert_eq!(updated.metadata.client_name(), Some("renamed"));
    let rat2 = updated
        .registration_access_token
        .clone()
        .expect("oidc-provider rotates the registration access token on update");
    assert_ne!(rat1, rat2);
    assert_eq!(
        store
            .get_secret(&registration_token_name(&id))
            .await
            .unwrap(),
        Some(rat2.clone()),
        "the rotated token replaced the stored one"
    );
    let err = rfc7592::read(&b.http(), &uri, &rat1).await.unwrap_err();
    assert_eq!(registration_status(&err), Some(401), "{err}");
    assert!(!err.to_string().contains(rat1.expose()));
    // The broker keeps working with the rotated token.
    let again = b.read_client("reg", &id).await.unwrap();
    assert_eq!(again.metadata.client_name(), Some("renamed"));

    b.delete_client("reg", &id).await.unwrap();
    assert_eq!(
        store
            .get_secret(&registration_token_name(&id))
            .await
            .unwrap(),
        None,
        "delete forgets the stored token"
    );
    let err = rfc7592::read(&b.http(), &uri, &rat2).await.unwrap_err();
    assert_eq!(registration_status(&err), Some(401), "{err}");
    let err = b.read_client("reg", &id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");

    // The deleted client is refused at the token endpoint.
    let force = TokenOptions::default().with_force_refresh(true);
    let err = issued.token("issued", &force).await.unwrap_err();
    assert_eq!(
        err.oauth().map(|o| o.error.as_str()),
        Some("invalid_client"),
        "{err}"
    );
    std::fs::remove_file(file).ok();
}

#[tokio::test]
async fn oidc_rfc7591_error_bodies_become_reasons() {
    let (b, _) = oidc_broker();
    // Valid for RFC 7591, refused by the server: an implicit web client on http.
    let implicit = ClientMetadata::new()
        .with_application_type("web")
        .with_redirect_uris(["http://127.0.0.1/cb"])
        .with_grant_types(["implicit"])
        .with_response_types(["id_token"]);
    let err = b.register_client("reg", &implicit, None).await.unwrap_err();
    assert_eq!(registration_status(&err), Some(400), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("invalid_redirect_uri (a redirect URI was refused)"),
        "{text}"
    );
    assert!(text.contains("https scheme"), "{text}");

    let err = b
        .register_client("reg", &machine_metadata("no:such-scope"), None)
        .await
        .unwrap_err();
    assert_eq!(registration_status(&err), Some(400), "{err}");
    assert!(err.to_string().contains("invalid_client_metadata"), "{err}");
}

#[tokio::test]
async fn oidc_management_needs_a_stored_token_and_has_no_list() {
    let (b, _) = oidc_broker();
    let err = b.read_client("reg", "oidc-basic").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string().contains("registration_token:oidc-basic"),
        "{err}"
    );
    let err = b.list_clients("reg").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("no list operation"), "{err}");
    // Bad metadata is refused before sending.
    let bad = machine_metadata("api:read").with_redirect_uris(["http://app.example.com/cb"]);
    let err = b.register_client("reg", &bad, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("field 'redirect_uris'"), "{err}");
}

// ------------------------------------------------------------------ Alvaria (seed 002)

/// Serialises the tests that use `alvaria.clients` (faults are queued per route).
static ALVARIA: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const ALL_SCOPES: [&str; 5] = [
    "myaccount.clients.list",
    "myaccount.clients.create",
    "myaccount.clients.view",
    "myaccount.clients.modify",
    "myaccount.clients.delete",
];

/// A fresh management client with every `myaccount.clients.*` scope, so that token counts
/// by client id are this test's own.
async fn management_client() -> (String, String) {
    let n: u64 = rand::random();
    let (id, secret) = (format!("alv-mgmt-{n:x}"), format!("alv-mgmt-secret-{n:x}"));
    admin(
        "clients",
        Some(json!({"client_id": id, "client_secret": secret, "scopes": ALL_SCOPES})),
    )
    .await;
    (id, secret)
}

fn new_org() -> String {
    let n: u64 = rand::random();
    format!("org{n:x}")
}

fn alvaria_broker(org: &str, id: &str, secret: &str, api_key: Option<&str>) -> Broker {
    let key = api_key
        .map(|k| format!("api_key = \"{k}\"\n"))
        .unwrap_or_default();
    broker(&format!(
        r#"[cache]
store = "memory"
[profiles.alv]
provider = "alvaria"
region = "us"
client_id = "{id}"
client_secret = "{secret}"
token_url = "{{P}}/tokenservice/oauth2/access_token"
registration_url = "{{P}}/via/v1/organizations/{org}/oauth/clients"
{key}"#
    ))
}

/// Requests the test provider logged for this organisation's client API.
async fn org_requests(org: &str) -> Vec<Value> {
    let log = admin("requests?route=alvaria.clients", None).await;
    let prefix = format!("/via/v1/organizations/{org}/");
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["path"]
                .as_str()
                .is_some_and(|p| p.starts_with(&prefix) || p == prefix.trim_end_matches('/'))
        })
        .cloned()
        .collect()
}

fn alvaria_metadata() -> ClientMetadata {
    machine_metadata("myaspect.users myaspect.teams")
        .with("client_description", "made by the registration test")
}

#[tokio::test]
async fn alvaria_five_operations() {
    let _guard = ALVARIA.lock().await;
    let (mid, msecret) = management_client().await;
    let org = new_org();
    let b = alvaria_broker(&org, &mid, &msecret, Some("alvaria-api-key"));

    let created = b
        .register_client("alv", &alvaria_metadata(), None)
        .await
        .unwrap();
    let secret = created
        .client_secret
        .clone()
        .expect("create shows the secret once");
    assert!(
        created.api_key.is_some(),
        "x_api_key is kept as a credential"
    );
    assert_eq!(
        created.metadata.scope(),
        Some("myaspect.users myaspect.teams")
    );
    assert!(created.registration_access_token.is_none());

    // The issued credentials work at the Alvaria token service.
    let snippet = created
        .to_profile_toml(
            "issued",
            &b.resolved_profile("alv").await.unwrap(),
            &SecretPlacement::Literal,
        )
        .unwrap();
    let issued = broker_from_snippet(&snippet);
    let t = issued
        .token("issued", &TokenOptions::default())
        .await
        .unwrap();
    assert_eq!(t.scopes(), ["myaspect.users", "myaspect.teams"]);

    let listed = b.list_clients("alv").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].client_id, created.client_id);
    assert!(
        listed.iter().all(|c| c.client_secret.is_none()),
        "list never shows the secret"
    );
    let got = b.read_client("alv", &created.client_id).await.unwrap();
    assert!(got.client_secret.is_none(), "get never shows the secret");
    assert!(!got.to_json(true).to_string().contains(secret.expose()));
    assert_eq!(
        got.metadata.get("client_description"),
        Some(&json!("made by the registration test"))
    );

    let changed = alvaria_metadata()
        .with_scope("myaspect.users")
        .with_client_name("renamed");
    let updated = b
        .update_client("alv", &created.client_id, &changed)
        .await
        .unwrap();
    assert_eq!(updated.metadata.scope(), Some("myaspect.users"));
    assert_eq!(updated.metadata.client_name(), Some("renamed"));
    assert!(updated.client_secret.is_none());

    b.delete_client("alv", &created.client_id).await.unwrap();
    let err = b.read_client("alv", &created.client_id).await.unwrap_err();
    assert_eq!(registration_status(&err), Some(404), "{err}");
    assert!(err.to_string().contains("no such client"), "{err}");
    let force = TokenOptions::default().with_force_refresh(true);
    let err = issued.token("issued", &force).await.unwrap_err();
    assert_eq!(
        err.oauth().map(|o| o.error.as_str()),
        Some("invalid_client"),
        "{err}"
    );

    // What went over the wire: one token per operation scope, bearer and x-api-key each time.
    let sent = org_requests(&org).await;
    let methods: Vec<&str> = sent.iter().map(|e| e["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["POST", "GET", "GET", "PUT", "DELETE", "GET"]);
    for e in &sent {
        assert_eq!(e["headers"]["x-api-key"], "alvaria-api-key");
        assert!(
            e["headers"]["authorization"]
                .as_str()
                .unwrap()
                .starts_with("Bearer ")
        );
    }
    assert_eq!(
        client_requests(&mid).await,
        5,
        "one token per operation scope"
    );
}

#[tokio::test]
async fn alvaria_api_key_missing_or_wrong() {
    let _guard = ALVARIA.lock().await;
    let (mid, msecret) = management_client().await;
    let org = new_org();
    let b = alvaria_broker(&org, &mid, &msecret, None);
    let err = b.list_clients("alv").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("key 'api_key'"), "{err}");
    assert_eq!(org_requests(&org).await.len(), 0);
    assert_eq!(client_requests(&mid).await, 0, "no token fetched either");

    let b = alvaria_broker(&org, &mid, &msecret, Some("wrong-api-key"));
    let err = b.list_clients("alv").await.unwrap_err();
    assert_eq!(registration_status(&err), Some(403), "{err}");
    assert!(err.to_string().contains("x-api-key"), "{err}");
    assert!(!err.to_string().contains("wrong-api-key"), "{err}");
}

#[tokio::test]
async fn alvaria_bearer_invalid_or_insufficient() {
    let _guard = ALVARIA.lock().await;
    let org = new_org();
    let b = alvaria_broker(
        &org,
        "alvaria-readonly",
        "alvaria-readonly-secret",
        Some("alvaria-api-key"),
    );
    let url = b
        .resolved_profile("alv")
        .await
        .unwrap()
        .endpoint(Endpoint::Registration)
        .unwrap()
        .clone();
    let key = Secret::new("alvaria-api-key");

    // Not a token of the Alvaria token service: 401.
    let bogus = Secret::new("not-a-real-access-token");
    let creds = alvaria::Credentials {
        access_token: &bogus,
        api_key: &key,
    };
    let err = alvaria::list(&b.http(), &url, creds).await.unwrap_err();
    assert_eq!(registration_status(&err), Some(401), "{err}");
    assert!(err.to_string().contains("invalid_token"), "{err}");
    assert!(
        !err.to_string().contains("not-a-real-access-token"),
        "{err}"
    );

    // The read-only client may list and view…
    assert!(b.list_clients("alv").await.unwrap().is_empty());
    // …but its token lacks the create scope: 403 from the API.
    let list_token = b
        .token(
            "alv",
            &TokenOptions::default().with_scopes(["myaccount.clients.list"]),
        )
        .await
        .unwrap();
    let access = list_token.token_set().access_token.clone();
    let creds = alvaria::Credentials {
        access_token: &access,
        api_key: &key,
    };
    let err = alvaria::create(&b.http(), &url, creds, &alvaria_metadata())
        .await
        .unwrap_err();
    assert_eq!(registration_status(&err), Some(403), "{err}");
    assert!(err.to_string().contains("insufficient_scope"), "{err}");
    // Through the broker, the token service already refuses the create scope.
    let before = org_requests(&org).await.len();
    let err = b
        .register_client("alv", &alvaria_metadata(), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.oauth().map(|o| o.error.as_str()),
        Some("invalid_scope"),
        "{err}"
    );
    assert_eq!(
        org_requests(&org).await.len(),
        before,
        "nothing sent to the client API"
    );
}

#[tokio::test]
async fn alvaria_validation_happens_before_sending() {
    let _guard = ALVARIA.lock().await;
    let (mid, msecret) = management_client().await;
    let org = new_org();
    let b = alvaria_broker(&org, &mid, &msecret, Some("alvaria-api-key"));
    let cases = [
        (
            alvaria_metadata().with_redirect_uris(["http://app.example.com/cb"]),
            "field 'redirect_uris'",
        ),
        (
            alvaria_metadata().with_response_types(["code"]),
            "field 'grant_types'",
        ),
        (
            ClientMetadata::new()
                .with_grant_types(["client_credentials"])
                .with_response_types(Vec::<String>::new()),
            "field 'scope'",
        ),
        (
            alvaria_metadata().with_contacts(["nobody"]),
            "field 'contacts'",
        ),
    ];
    for (metadata, field) in cases {
        let err = b.register_client("alv", &metadata, None).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(err.to_string().contains(field), "{field}: {err}");
        let err = b
            .update_client("alv", "some-client", &metadata)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(field), "{field}: {err}");
    }
    assert_eq!(
        org_requests(&org).await.len(),
        0,
        "no request reached the client API"
    );
    assert_eq!(
        client_requests(&mid).await,
        0,
        "no management token was fetched"
    );
}

#[tokio::test]
async fn alvaria_retries_only_where_safe() {
    let _guard = ALVARIA.lock().await;
    let (mid, msecret) = management_client().await;
    let org = new_org();
    let b = alvaria_broker(&org, &mid, &msecret, Some("alvaria-api-key"));
    let fault = |status: u16| json!({"route": "alvaria.clients", "kind": "status", "status": status, "retry_after": 0});

    // A 500 on create is not repeated: the client may exist already.
    admin("faults", Some(fault(500))).await;
    let err = b
        .register_client("alv", &alvaria_metadata(), None)
        .await
        .unwrap_err();
    assert_eq!(registration_status(&err), Some(500), "{err}");
    assert_eq!(org_requests(&org).await.len(), 1);
    // 503 and 429 on create are (the request was not processed).
    admin("faults", Some(json!([fault(503), fault(429)]))).await;
    let created = b
        .register_client("alv", &alvaria_metadata(), None)
        .await
        .unwrap();
    assert_eq!(org_requests(&org).await.len(), 4);
    // A 500 on a read is retried.
    admin("faults", Some(fault(500))).await;
    assert_eq!(b.list_clients("alv").await.unwrap().len(), 1);
    assert_eq!(org_requests(&org).await.len(), 6);
    // 405 and a 400 with an RFC 7591 error body are reported, not retried.
    admin("faults", Some(fault(405))).await;
    let err = b.read_client("alv", &created.client_id).await.unwrap_err();
    assert_eq!(registration_status(&err), Some(405), "{err}");
    assert!(err.to_string().contains("method not allowed"), "{err}");
    let body = json!({"error": "invalid_client_metadata", "error_description": "scope unknown"});
    admin(
        "faults",
        Some(json!({"route": "alvaria.clients", "kind": "status", "status": 400, "body": body})),
    )
    .await;
    let err = b
        .update_client("alv", &created.client_id, &alvaria_metadata())
        .await
        .unwrap_err();
    assert_eq!(registration_status(&err), Some(400), "{err}");
    assert!(
        err.to_string().contains(
            "invalid_client_metadata (a client metadata field was refused): scope unknown"
        ),
        "{err}"
    );
    assert_eq!(org_requests(&org).await.len(), 8);
    // A 429 that outlasts the retries is reported as throttling.
    admin(
        "faults",
        Some(json!([fault(429), fault(429), fault(429), fault(429)])),
    )
    .await;
    let err = b.list_clients("alv").await.unwrap_err();
    assert_eq!(registration_status(&err), Some(429), "{err}");
    assert!(err.to_string().contains("too many requests"), "{err}");
    admin("faults/clear", Some(json!({}))).await;
    b.delete_client("alv", &created.client_id).await.unwrap();
}

#[tokio::test]
async fn issued_profile_carries_the_preset_parameters() {
    let _guard = ALVARIA.lock().await;
    let (mid, msecret) = management_client().await;
    let org = new_org();
    let b = alvaria_broker(&org, &mid, &msecret, Some("alvaria-api-key"));
    let created: RegisteredClient = b
        .register_client("alv", &alvaria_metadata(), None)
        .await
        .unwrap();
    let env = SecretPlacement::Env("TB_ISSUED_SECRET".into());
    let value = b.client_profile("alv", &created, &env).await.unwrap();
    assert_eq!(value["provider"], "alvaria");
    assert_eq!(value["region"], "us");
    assert_eq!(value["client_id"], created.client_id.as_str());
    assert_eq!(value["client_secret"], "env:TB_ISSUED_SECRET");
    assert_eq!(value["grant"], "client_credentials");
    assert_eq!(
        value["token_url"],
        format!("{}/tokenservice/oauth2/access_token", provider_url())
    );
    let file = temp_path("exists");
    std::fs::write(&file, "keep me").unwrap();
    let err = b
        .client_profile("alv", &created, &SecretPlacement::File(file.clone()))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Config,
        "an existing file is never overwritten"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    std::fs::remove_file(file).ok();
    b.delete_client("alv", &created.client_id).await.unwrap();
}
