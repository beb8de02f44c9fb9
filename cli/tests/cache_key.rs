//! Where the cache key comes from, on a machine without an OS keyring (no D-Bus session
//! bus): the 0600 fallback file in the config dir, one warning, `doctor` naming it; and the
//! environment variable keeping precedence. The keyring path: tests/keyring_cli.rs.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{Env, new_client};

fn profile(id: &str, secret: &str) -> String {
    format!(
        "[profiles.aos]\nprovider = \"alliance\"\nclient_id = \"{id}\"\nclient_secret = \"{secret}\"\nscopes = [\"a\"]\ntoken_url = \"{{P}}/API/v2/OAuth/token\"\n"
    )
}

/// The CLI without TOKENBROKER_CACHE_KEY, with its own config home and a session bus
/// address that leads nowhere: the "no keyring" case, whatever the host has.
fn without_keyring(env: &Env, config_home: &Path, args: &[&str]) -> Command {
    let mut cmd = env.cmd(args);
    cmd.env_remove("TOKENBROKER_CACHE_KEY")
        .env("XDG_CONFIG_HOME", config_home)
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", env.dir.join("no-bus").display()),
        );
    cmd
}

fn doctor_key_detail(stdout: &str) -> String {
    let json: Value = serde_json::from_str(stdout).unwrap();
    let checks = json["checks"].as_array().unwrap();
    let key = checks
        .iter()
        .find(|c| c["check"] == "cache key")
        .unwrap_or_else(|| panic!("no cache key check in {json}"));
    assert_eq!(key["ok"], true, "{key}");
    key["detail"].as_str().unwrap().to_owned()
}

#[test]
fn without_a_keyring_the_key_goes_to_a_private_file_in_the_config_dir_with_one_warning() {
    let (id, secret) = new_client("cachekey");
    let env = Env::new(&profile(&id, &secret));
    let config_home = env.dir.join("xdg-config");
    let key_file: PathBuf = config_home.join("tokenbroker").join("cache-key");

    let first = without_keyring(&env, &config_home, &["token", "--profile", "aos"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("the cache key is kept in").count(),
        1,
        "one warning: {stderr}"
    );
    assert!(stderr.contains(&key_file.display().to_string()), "{stderr}");
    let meta = std::fs::metadata(&key_file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), 32);
    assert!(
        !env.dir.join("cache").join("key").exists(),
        "no key beside the entries"
    );

    // The next process finds the file at once: no warning, the cached token is served.
    let second = without_keyring(&env, &config_home, &["doctor", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!stderr.contains("cache key is kept"), "{stderr}");
    let detail = doctor_key_detail(&String::from_utf8_lossy(&second.stdout));
    assert_eq!(detail, format!("key file {}", key_file.display()));
}

#[test]
fn an_old_key_file_in_the_cache_dir_moves_to_the_config_dir() {
    let env = Env::new("");
    let config_home = env.dir.join("xdg-config");
    let cache = env.dir.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    let old_key = [0x42u8; 32];
    support::write_private(&cache.join("key"), "");
    std::fs::write(cache.join("key"), old_key).unwrap();

    let run = without_keyring(&env, &config_home, &["doctor", "--json"])
        .output()
        .unwrap();
    let key_file = config_home.join("tokenbroker").join("cache-key");
    let detail = doctor_key_detail(&String::from_utf8_lossy(&run.stdout));
    assert_eq!(detail, format!("key file {}", key_file.display()));
    assert_eq!(
        std::fs::read(&key_file).unwrap(),
        old_key,
        "the same key, moved"
    );
    assert!(!cache.join("key").exists());
}

#[test]
fn the_environment_variable_keeps_precedence() {
    let env = Env::new("");
    let config_home = env.dir.join("xdg-config");
    let mut cmd = env.cmd(&["doctor", "--json"]);
    cmd.env("XDG_CONFIG_HOME", &config_home);
    let run = cmd.output().unwrap();
    let detail = doctor_key_detail(&String::from_utf8_lossy(&run.stdout));
    assert_eq!(detail, "environment variable TOKENBROKER_CACHE_KEY");
    assert!(
        !config_home.join("tokenbroker").exists(),
        "no key file made"
    );
}
