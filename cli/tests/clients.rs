//! `tokenbroker clients …`: RFC 7591/7592 at oidc-provider, and the Alvaria organisation
//! client API at the test provider. Secrets are printed by register/create only, once.

mod support;

use serde_json::{Value, json};
use support::{Env, admin};

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn rfc7591_register_get_update_delete_at_oidc_provider() {
    let env = Env::new(
        "[profiles.reg]\nprovider = \"oidc\"\nissuer = \"{ISSUER}\"\nclient_id = \"registrar\"\n",
    );
    let run = env.run(&[
        "clients",
        "register",
        "--name",
        "cli test",
        "--grant-type",
        "client_credentials",
        "--no-response-types",
        "--auth-method",
        "client_secret_basic",
        "--scope",
        "api:read",
    ]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let created = json_of(&run.stdout());
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"]
        .as_str()
        .expect("secret shown once")
        .to_owned();
    assert_eq!(created["client_name"], "cli test");
    assert!(!run.stderr().contains(&secret), "{}", run.stderr());

    // The issued credentials work: a profile for them gets a token.
    let issued = Env::new(&format!(
        "[profiles.issued]\nprovider = \"oidc\"\nissuer = \"{{ISSUER}}\"\nclient_id = \"{id}\"\nclient_secret = \"{secret}\"\nscopes = [\"api:read\"]\n"
    ));
    let token = json_of(&issued.ok(&["token", "-f", "json"]));
    assert_eq!(token["scopes"], json!(["api:read"]));

    // get and update never print the secret; update keeps the other fields.
    let got = env.ok(&["clients", "get", &id]);
    assert_eq!(json_of(&got)["scope"], "api:read");
    let updated = env.ok(&["clients", "update", &id, "--name", "renamed"]);
    let updated_json = json_of(&updated);
    assert_eq!(updated_json["client_name"], "renamed");
    assert_eq!(updated_json["scope"], "api:read");
    for text in [&got, &updated] {
        assert!(!text.contains(&secret), "secret printed again: {text}");
        assert!(!text.contains("registration_access_token"), "{text}");
    }
    assert_eq!(
        json_of(&env.ok(&["clients", "get", &id]))["client_name"],
        "renamed"
    );

    let deleted = json_of(&env.ok(&["clients", "delete", &id]));
    assert_eq!(deleted, json!({"client_id": id, "deleted": true}));
    let run = issued.run(&["token", "--force-refresh"]);
    assert_eq!(
        run.code(),
        3,
        "a deleted client is refused: {}",
        run.stderr()
    );

    // Metadata the core refuses never leaves the machine: exit 2.
    let run = env.run(&[
        "clients",
        "register",
        "--metadata",
        r#"{"client_id": "mine"}"#,
    ]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    // RFC 7592 has no list: a config error.
    assert_eq!(env.run(&["clients", "list"]).code(), 2);
}

#[test]
fn rfc7591_register_can_print_a_profile_table_with_the_secret_in_a_file() {
    let env = Env::new(
        "[profiles.reg]\nprovider = \"oidc\"\nissuer = \"{ISSUER}\"\nclient_id = \"registrar\"\n",
    );
    let secret_file = env.dir.join("new-client-secret");
    let toml = env.ok(&[
        "clients",
        "register",
        "--metadata",
        r#"{"grant_types":["client_credentials"],"response_types":[],"scope":"api:read"}"#,
        "--toml",
        "issued",
        "--secret-file",
        secret_file.to_str().unwrap(),
    ]);
    assert!(toml.contains("[profiles.issued]"), "{toml}");
    assert!(
        toml.contains(&format!("file:{}", secret_file.display())),
        "{toml}"
    );
    let config = std::fs::read_to_string(&env.config).unwrap();
    let both = Env::new(&format!("{config}\n{toml}"));
    both.ok(&["token", "--profile", "issued"]);
}

const ALL_SCOPES: [&str; 5] = [
    "myaccount.clients.list",
    "myaccount.clients.create",
    "myaccount.clients.view",
    "myaccount.clients.modify",
    "myaccount.clients.delete",
];

fn alvaria_env(id: &str, secret: &str) -> Env {
    let n: u64 = rand::random();
    Env::new(&format!(
        r#"[profiles.alv]
provider = "alvaria"
region = "us"
client_id = "{id}"
client_secret = "{secret}"
api_key = "alvaria-api-key"
token_url = "{{P}}/tokenservice/oauth2/access_token"
registration_url = "{{P}}/via/v1/organizations/org{n:x}/oauth/clients"
"#
    ))
}

#[test]
fn alvaria_create_list_get_update_delete() {
    let n: u64 = rand::random();
    let (mid, msecret) = (format!("alv-cli-{n:x}"), format!("alv-cli-secret-{n:x}"));
    admin(
        "clients",
        Some(json!({"client_id": mid, "client_secret": msecret, "scopes": ALL_SCOPES})),
    );
    let env = alvaria_env(&mid, &msecret);

    let run = env.run(&[
        "clients",
        "create",
        "--name",
        "cli-made",
        "--grant-type",
        "client_credentials",
        "--no-response-types",
        "--scope",
        "myaspect.users",
    ]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let created = json_of(&run.stdout());
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"]
        .as_str()
        .expect("secret once")
        .to_owned();
    // Only the client secret is printed: not the API key the server sent back.
    assert!(created.get("x_api_key").is_none(), "{created}");
    assert!(
        created.get("registration_access_token").is_none(),
        "{created}"
    );

    // The new client gets tokens at the Alvaria token endpoint.
    let new = alvaria_env(&id, &secret);
    new.ok(&["token"]);

    let list = env.ok(&["clients", "list"]);
    let listed = json_of(&list);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["client_id"] == id.as_str()),
        "{list}"
    );
    let got = env.ok(&["clients", "get", &id]);
    let updated = env.ok(&[
        "clients",
        "update",
        &id,
        "--scope",
        "myaspect.users",
        "--scope",
        "myaspect.teams",
    ]);
    assert_eq!(json_of(&updated)["scope"], "myaspect.users myaspect.teams");
    for text in [&list, &got, &updated] {
        assert!(!text.contains(&secret), "{text}");
        assert!(!text.contains("alvaria-api-key"), "{text}");
    }
    env.ok(&["clients", "delete", &id]);
    let run = new.run(&["token", "--force-refresh"]);
    assert_eq!(run.code(), 3, "deleted: {}", run.stderr());

    // A client without the create scope is refused by the provider: exit 3.
    let ro = alvaria_env("alvaria-readonly", "alvaria-readonly-secret");
    let run = ro.run(&[
        "clients",
        "create",
        "--scope",
        "x",
        "--grant-type",
        "client_credentials",
        "--no-response-types",
    ]);
    assert_eq!(run.code(), 3, "{}", run.stderr());
    assert!(
        !run.stderr().contains("alvaria-readonly-secret"),
        "{}",
        run.stderr()
    );
}

/// Client ids are random text and may start with `-` (oidc-provider issues such ids): they
/// are taken as the id, not as an option.
#[test]
fn a_client_id_starting_with_a_dash_is_an_id() {
    let env = Env::new("[profiles.p]\nissuer = \"http://127.0.0.1:9/none\"\nclient_id = \"c\"\n");
    for command in ["get", "delete"] {
        let run = env.run(&["clients", command, "-aqV86KbQ", "--profile", "nowhere"]);
        assert!(
            !run.stderr().contains("unexpected argument"),
            "{command}: {}",
            run.stderr()
        );
        assert!(
            run.stderr().contains("nowhere"),
            "{command}: {}",
            run.stderr()
        );
    }
}
