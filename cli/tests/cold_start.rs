//! Zero network for a cached token, across processes: a new `tokenbroker` process with an
//! `issuer` profile whose token another process put in the file cache sends no request, not
//! even discovery; a token not cached yet costs the token request only.

mod support;

use support::{Env, client_requests, new_client, requests_at};

/// Requests the test provider logged for `/plain/{tag}/.well-known/openid-configuration`.
fn discovery_requests(tag: &str) -> usize {
    let path = format!("/plain/{tag}/.well-known/openid-configuration");
    requests_at("plain.discovery", &path)
}

#[test]
fn a_new_process_with_a_cached_token_sends_no_request() {
    let tag = format!("max-age-600.t{:x}", rand::random::<u32>());
    let (id, secret) = new_client("generic");
    let env = Env::new(&format!(
        r#"[profiles.p]
provider = "oidc"
grant = "client_credentials"
issuer = "{{P}}/plain/{tag}"
client_id = "{id}"
client_secret = "{secret}"
scopes = ["read"]
"#
    ));
    let first = env.ok(&["token", "-p", "p"]);
    assert_eq!((discovery_requests(&tag), client_requests(&id)), (1, 1));

    assert_eq!(env.ok(&["token", "-p", "p"]), first);
    assert_eq!(
        (discovery_requests(&tag), client_requests(&id)),
        (1, 1),
        "a new process with a cached token sent a request"
    );

    let other = env.ok(&["token", "-p", "p", "--scope", "write"]);
    assert_ne!(other, first);
    assert_eq!(
        (discovery_requests(&tag), client_requests(&id)),
        (1, 2),
        "a miss sends the token request only"
    );
}
