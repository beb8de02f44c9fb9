//! The cache key in a real OS keyring: gnome-keyring's Secret Service inside the private
//! D-Bus session of `tests/keyring/session.sh` (`make test-keyring`).
//!
//! Outside that harness these tests fail, unless `TB_SKIP_KEYRING_TESTS=1` says to skip them
//! (the "no keyring" run of `make test-rust`).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokenbroker::Secret;
use tokenbroker::advanced::cache::{
    CacheCipher, FileStore, KEYRING_ACCOUNT, KEYRING_SERVICE, KeySource, KeyringEntry, SecretStore,
    UserKey,
};

/// Whether the Secret Service harness is around; panics when it is not and skipping was not
/// asked for, so a keyring test never passes without a keyring.
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

/// A private scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("tb-keyring-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o700)).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A user key under its own keyring account (tests run in parallel), its fallback file in `tmp`.
fn user_key(tmp: &Path, account: &str) -> UserKey {
    UserKey {
        keyring: Some(KeyringEntry::new(KEYRING_SERVICE, account)),
        fallback_file: tmp.join("config").join("cache-key"),
    }
}

/// What `secret-tool` (libsecret, an independent client) finds under service/account.
fn secret_tool_has(service: &str, account: &str) -> bool {
    let out = Command::new("secret-tool")
        .args(["search", "--all", "service", service, "username", account])
        .output()
        .expect("secret-tool runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.contains(account)
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    fs::set_permissions(to, fs::Permissions::from_mode(0o700)).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[tokio::test]
async fn the_key_is_created_in_the_secret_service_and_a_copied_cache_dir_does_not_decrypt() {
    if !harness() {
        return;
    }
    let tmp = TempDir::new();
    let cache = tmp.0.join("cache");
    let account = "cache-key-test-created";
    let user = user_key(&tmp.0, account);

    let cipher = user.load_for(&cache).unwrap();
    assert!(
        cipher.key_source().contains("OS keyring") && cipher.key_source().contains(account),
        "{}",
        cipher.key_source()
    );
    assert!(
        secret_tool_has(KEYRING_SERVICE, account),
        "libsecret sees the entry"
    );
    let store = FileStore::with_cipher(cache.clone(), cipher).unwrap();
    store
        .set_secret("refresh:alice", &Secret::new("rt-in-keyring-1"))
        .await
        .unwrap();
    assert!(!cache.join("key").exists(), "no key beside the entries");
    assert!(
        !user.fallback_file.exists(),
        "no fallback file when the keyring works"
    );

    // A new process finds the same key in the keyring.
    let again = FileStore::with_cipher(cache.clone(), user.load_for(&cache).unwrap()).unwrap();
    let got = again.get_secret("refresh:alice").await.unwrap().unwrap();
    assert_eq!(got.expose(), "rt-in-keyring-1");

    // The cache dir alone (a backup, a synced home) opened where that keyring entry is not:
    // another user's keyring, simulated by another account.
    let copy = tmp.0.join("copy");
    copy_dir(&cache, &copy);
    let elsewhere = user_key(&tmp.0.join("elsewhere"), "cache-key-test-elsewhere");
    let stranger =
        FileStore::with_cipher(copy.clone(), elsewhere.load_for(&copy).unwrap()).unwrap();
    assert!(
        stranger
            .get_secret("refresh:alice")
            .await
            .unwrap()
            .is_none()
    );
    for entry in [user.keyring.unwrap(), elsewhere.keyring.unwrap()] {
        entry_delete(&entry);
    }
}

#[tokio::test]
async fn the_default_source_is_the_keyring_and_an_old_key_file_moves_into_it() {
    if !harness() {
        return;
    }
    let tmp = TempDir::new();
    let cache = tmp.0.join("cache");
    // An older version's cache: entries sealed with `cache/key`.
    let old = FileStore::with_cipher(
        cache.clone(),
        CacheCipher::from_key_file(&cache.join("key")).unwrap(),
    )
    .unwrap();
    old.set_secret("refresh:bob", &Secret::new("rt-from-before"))
        .await
        .unwrap();
    drop(old);
    assert!(cache.join("key").exists());

    // The harness gives this process a throwaway HOME, so the default entry is ours.
    let source = KeySource::default_for(&cache).unwrap();
    let cipher = source.load().unwrap();
    assert!(
        cipher.key_source().contains("OS keyring (Secret Service)")
            && cipher.key_source().contains(KEYRING_ACCOUNT),
        "{}",
        cipher.key_source()
    );
    assert!(!cache.join("key").exists(), "the old key file is removed");
    let store = FileStore::with_cipher(cache.clone(), cipher).unwrap();
    let got = store.get_secret("refresh:bob").await.unwrap().unwrap();
    assert_eq!(got.expose(), "rt-from-before", "old entries stay readable");
    assert!(secret_tool_has(KEYRING_SERVICE, KEYRING_ACCOUNT));
}

fn entry_delete(entry: &KeyringEntry) {
    let _ = Command::new("secret-tool")
        .args([
            "clear",
            "service",
            &entry.service,
            "username",
            &entry.account,
        ])
        .status();
}

#[tokio::test]
async fn the_secret_tool_helper_keeps_secrets_in_the_secret_service() {
    if !harness() {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/secret-helpers/secret-tool.sh")
        .canonicalize()
        .unwrap();
    let store = tokenbroker::advanced::cache::HelperSecrets::new(
        tokenbroker::advanced::config::SecretsConfig {
            command: vec![script.display().to_string()],
            timeout: std::time::Duration::from_secs(20),
        },
        vec![],
    );
    let name = "refresh_token:0123abcd";
    assert!(store.get_secret(name).await.unwrap().is_none());
    store
        .set_secret(name, &Secret::new("rt-in-vault-1"))
        .await
        .unwrap();
    store
        .set_secret(name, &Secret::new("rt-in-vault-2"))
        .await
        .unwrap();
    // libsecret itself finds the value the helper stored, under the recipe's attributes.
    let out = Command::new("secret-tool")
        .args(["lookup", "service", "tokenbroker-secret", "name", name])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "rt-in-vault-2");
    let got = store.get_secret(name).await.unwrap().unwrap();
    assert_eq!(got.expose(), "rt-in-vault-2");
    store.delete_secret(name).await.unwrap();
    assert!(store.get_secret(name).await.unwrap().is_none());
    store.delete_secret(name).await.unwrap();
}
