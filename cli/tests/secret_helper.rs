//! `[secrets] command`: refresh tokens kept by an external credential helper. A recording
//! helper (sh + jq) shows what the broker asks, in which order, and that a rotated refresh
//! token is stored before the access token is handed out. The secret-tool recipe against a
//! real Secret Service: core/tests/keyring.rs.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;
use support::{Env, azure_refresh_token, new_client};

const RECORDER: &str = r#"#!/bin/sh
# Records each call in $dir/log and keeps secrets as files in $dir/s.
dir=$(dirname "$0"); input=$(cat)
name=$(printf %s "$input" | jq -r .name)
echo "$1 $name key=${TOKENBROKER_CACHE_KEY:-unset}" >> "$dir/log"
case "$1" in
get) if [ -f "$dir/s/$name" ]; then jq -Rs '{secret: .}' < "$dir/s/$name"; else echo '{}'; fi ;;
store) if [ -f "$dir/fail-store" ]; then echo "refusing $input" >&2; echo "$input"; exit 1; fi
       printf %s "$input" | jq -j .secret > "$dir/s/$name" ;;
erase) rm -f "$dir/s/$name" ;;
*) exit 2 ;;
esac
"#;

fn install_recorder(dir: &Path) -> String {
    std::fs::create_dir_all(dir.join("s")).unwrap();
    let path = dir.join("recorder");
    std::fs::write(&path, RECORDER).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
    path.display().to_string()
}

fn stored_refresh_token(dir: &Path) -> String {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir.join("s")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with("refresh_token:") && !name.contains(":sub") {
            found.push(std::fs::read_to_string(dir.join("s").join(name)).unwrap());
        }
    }
    assert_eq!(found.len(), 1, "one refresh token kept by the helper");
    found.remove(0)
}

#[test]
fn rotated_refresh_tokens_go_to_the_helper_before_the_access_token_is_handed_out() {
    let (id, secret) = new_client("helper");
    let rt = azure_refresh_token(&id, &secret);
    let helper_dir = support::temp_dir("tb-helper");
    let recorder = install_recorder(&helper_dir);
    let env = Env::new(&format!(
        r#"[secrets]
command = ["{recorder}"]
timeout = 20

[profiles.pc]
provider = "azure-ad-v1"
tenant = "contoso"
resource = "https://api.partnercenter.microsoft.com"
grant = "refresh_token"
refresh_token = "{rt}"
client_id = "{id}"
client_secret = "{secret}"
token_url = "{{P}}/contoso/oauth2/token"
jwks_url = "{{P}}/contoso/discovery/keys"
issuer = "{{P}}/contoso/"
"#
    ));
    let mut previous = rt.clone();
    for round in 0..2 {
        let json: Value =
            serde_json::from_str(&env.ok(&["token", "-f", "json", "--force-refresh"])).unwrap();
        assert!(json["access_token"].is_string(), "{json}");
        let stored = stored_refresh_token(&helper_dir);
        assert_ne!(
            stored, previous,
            "round {round}: the rotated token is stored"
        );
        previous = stored;
    }
    let log = std::fs::read_to_string(helper_dir.join("log")).unwrap();
    assert!(
        log.lines().any(|l| l.starts_with("get refresh_token:")),
        "{log}"
    );
    assert!(
        log.lines().any(|l| l.starts_with("store refresh_token:")),
        "{log}"
    );
    assert!(
        log.lines().all(|l| l.ends_with("key=unset")),
        "no cache key: {log}"
    );
    assert!(!log.contains(&rt), "names only in the log: {log}");

    // When the helper cannot store the rotated token, no access token comes out, and the
    // error names the helper without quoting what it printed (the value itself).
    std::fs::write(helper_dir.join("fail-store"), "").unwrap();
    let run = env.run(&["token", "-f", "json", "--force-refresh"]);
    assert_ne!(run.code(), 0);
    assert!(
        run.stdout().trim().is_empty(),
        "no token handed out: {}",
        run.stdout()
    );
    let stderr = run.stderr();
    assert!(
        stderr.contains("secret helper") && stderr.contains("store"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("refusing") && !stderr.contains(&previous),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&helper_dir);
}
