//! `doctor` and a token fetch with the cache key in a real OS keyring: gnome-keyring's Secret
//! Service inside tests/keyring/session.sh (`make test-keyring`). Outside that harness these
//! tests fail, unless `TB_SKIP_KEYRING_TESTS=1` says to skip them.

mod support;

use std::process::Command;

use serde_json::Value;
use support::{Env, client_requests, new_client};

fn harness() -> bool {
    if std::env::var_os("TB_KEYRING_HARNESS").is_some_and(|v| v == "1") {
        return true;
    }
    if std::env::var_os("TB_SKIP_KEYRING_TESTS").is_some_and(|v| v == "1") {
        eprintln!(
            "SKIPPED: OS keyring test outside tests/keyring/session.sh (TB_SKIP_KEYRING_TESTS=1)"
        );
        return false;
    }
    panic!(
        "this test needs the OS keyring: run it through tests/keyring/session.sh \
         (make test-keyring), or set TB_SKIP_KEYRING_TESTS=1 to skip it"
    );
}

#[test]
fn doctor_names_the_secret_service_and_a_second_process_reuses_the_key() {
    if !harness() {
        return;
    }
    let (id, secret) = new_client("keyringcli");
    let env = Env::new(&format!(
        "[profiles.aos]\nprovider = \"alliance\"\nclient_id = \"{id}\"\nclient_secret = \"{secret}\"\nscopes = [\"a\"]\ntoken_url = \"{{P}}/API/v2/OAuth/token\"\n"
    ));
    let run = |args: &[&str]| {
        let mut cmd: Command = env.cmd(args);
        cmd.env_remove("TOKENBROKER_CACHE_KEY");
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("cache key is kept"),
            "no fallback: {stderr}"
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = run(&["token", "--profile", "aos"]);
    let second = run(&["token", "--profile", "aos"]);
    assert_eq!(
        first, second,
        "the second process decrypts the first one's entry"
    );
    assert_eq!(client_requests(&id), 1);

    let json: Value = serde_json::from_str(&run(&["doctor", "--json"])).unwrap();
    let key = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "cache key")
        .unwrap_or_else(|| panic!("{json}"))
        .clone();
    assert_eq!(
        key["detail"], "OS keyring (Secret Service), entry tokenbroker/cache-key",
        "{key}"
    );
    assert!(!env.dir.join("cache").join("key").exists());
}
