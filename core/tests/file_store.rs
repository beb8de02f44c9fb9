//! The file tier against a real directory, with real child processes for the cross-process
//! lease and crash-safety tests (the test binary re-executes itself in a child mode).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/lease.rs"]
mod lease;

use base64::Engine;
use tokenbroker::advanced::cache::{CacheCipher, CacheKey, FileStore, SecretStore, SharedStore};
use tokenbroker::{ErrorKind, Secret, TokenSet};

const KEY: [u8; 32] = [0x5a; 32];
const CHILD_MODE: &str = "TB_FILE_STORE_CHILD";
const PAD: usize = 512 * 1024;

/// A private scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("tb-file-{}-{n}-{nanos}", std::process::id()));
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

/// A child process that is SIGKILLed and reaped on drop, whatever the test outcome.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn key(subject: &str) -> CacheKey {
    fixtures::cache_key(subject, &["read", "write"])
}

fn token(access: &str, expires_in: i64, refresh: Option<&str>) -> TokenSet {
    let now = SystemTime::now();
    let offset = Duration::from_secs(expires_in.unsigned_abs());
    TokenSet {
        access_token: Secret::new(access),
        token_type: "Bearer".into(),
        expires_at: if expires_in >= 0 {
            now + offset
        } else {
            now - offset
        },
        issued_at: now - Duration::from_secs(3600),
        scopes: vec!["read".into(), "write".into()],
        refresh_token: refresh.map(Secret::new),
        id_token: None,
        refresh_in: None,
    }
}

fn store(dir: &Path) -> FileStore {
    FileStore::with_cipher(dir.to_path_buf(), CacheCipher::from_bytes(&KEY).unwrap()).unwrap()
}

/// The name of `key`'s entry, lease and failure record under [`KEY`].
fn name(key: &CacheKey) -> String {
    CacheCipher::from_bytes(&KEY).unwrap().entry_name(key)
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn spawn_child(mode: &str, dir: &Path, extra: &[(&str, &str)]) -> ChildGuard {
    let key_b64 = base64::engine::general_purpose::STANDARD.encode(KEY);
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "child_process",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_MODE, mode)
    .env("TB_CHILD_DIR", dir)
    .env("TOKENBROKER_CACHE_KEY", key_b64)
    .stdout(Stdio::null());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    ChildGuard(cmd.spawn().unwrap())
}

#[tokio::test]
async fn round_trip_with_private_modes_and_no_plaintext_on_disk() {
    let tmp = TempDir::new();
    let root = tmp.0.join("cache");
    let store = FileStore::open(Some(root.clone())).unwrap();
    let k = key("alice");
    assert!(store.get(&k).await.unwrap().is_none());
    store
        .put(
            &k,
            &token("at-secret-value-1", 3600, Some("rt-secret-value-1")),
        )
        .await
        .unwrap();

    let got = store.get(&k).await.unwrap().expect("stored entry");
    assert_eq!(got.access_token.expose(), "at-secret-value-1");
    assert_eq!(got.refresh_token.unwrap().expose(), "rt-secret-value-1");
    assert_eq!(got.scopes, ["read", "write"]);

    let entry = store.entry_path(&k);
    assert_eq!(entry.parent().unwrap(), root.join("tokens"));
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(&root.join("tokens")), 0o700);
    assert_eq!(mode(&entry), 0o600);
    // The key lives in the OS keyring or the config dir, never beside the entries.
    assert!(!root.join("key").exists());
    let raw = fs::read(&entry).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(raw.starts_with(b"TBKC\x01"));
    assert!(!text.contains("at-secret-value-1") && !text.contains("rt-secret"));
    assert!(
        !text.contains("login.example"),
        "the canonical key is encrypted too"
    );

    store.remove(&k).await.unwrap();
    assert!(store.get(&k).await.unwrap().is_none());
    assert!(!entry.exists());
}

#[tokio::test]
async fn expired_entries_are_served_only_with_a_refresh_token() {
    let tmp = TempDir::new();
    let store = store(&tmp.0);
    let (recent, old, refreshable) = (key("recent"), key("old"), key("refreshable"));
    store
        .put(&recent, &token("at-recent", -1, None))
        .await
        .unwrap();
    store.put(&old, &token("at-old", -600, None)).await.unwrap();
    store
        .put(&refreshable, &token("at-r", -600, Some("rt-r")))
        .await
        .unwrap();

    assert!(store.get(&recent).await.unwrap().is_none());
    assert!(
        store.entry_path(&recent).exists(),
        "kept during the grace period"
    );
    assert!(store.get(&old).await.unwrap().is_none());
    assert!(
        !store.entry_path(&old).exists(),
        "long-expired entries are deleted"
    );
    let served = store
        .get(&refreshable)
        .await
        .unwrap()
        .expect("refreshable entry");
    assert_eq!(served.refresh_token.unwrap().expose(), "rt-r");
}

#[tokio::test]
async fn unreadable_entries_read_as_absent_are_counted_and_kept() {
    let tmp = TempDir::new();
    let store = store(&tmp.0);
    let k = key("victim");
    store
        .put(&k, &token("at-victim", 3600, None))
        .await
        .unwrap();
    let good = fs::read(store.entry_path(&k)).unwrap();

    let other = FileStore::with_cipher(tmp.0.clone(), CacheCipher::generate().unwrap()).unwrap();
    other
        .put(&k, &token("at-other-key", 3600, None))
        .await
        .unwrap();
    let other_key = fs::read(other.entry_path(&k)).unwrap();

    let mut wrong_magic = good.clone();
    wrong_magic[0] ^= 0xff;
    let mut flipped = good.clone();
    *flipped.last_mut().unwrap() ^= 1;
    let cases: [(&str, Vec<u8>); 6] = [
        ("truncated", good[..good.len() / 2].to_vec()),
        ("header only", good[..5].to_vec()),
        (
            "garbage",
            b"this is not a cache entry at all, just garbage".to_vec(),
        ),
        ("wrong magic", wrong_magic),
        ("flipped bit", flipped),
        ("other key", other_key),
    ];
    for (n, (what, bytes)) in cases.into_iter().enumerate() {
        fs::write(store.entry_path(&k), &bytes).unwrap();
        assert!(store.get(&k).await.unwrap().is_none(), "{what}");
        assert!(store.entry_path(&k).exists(), "{what}: file must be kept");
        assert_eq!(store.undecryptable(), n as u64 + 1, "{what}");
    }
    fs::write(store.entry_path(&k), &good).unwrap();
    assert_eq!(
        store.get(&k).await.unwrap().unwrap().access_token.expose(),
        "at-victim"
    );
}

#[tokio::test]
async fn an_entry_renamed_to_another_key_fails_to_decrypt() {
    let tmp = TempDir::new();
    let store = store(&tmp.0);
    let (a, b) = (key("a"), key("b"));
    store.put(&a, &token("at-a", 3600, None)).await.unwrap();
    fs::copy(store.entry_path(&a), store.entry_path(&b)).unwrap();
    assert!(store.get(&b).await.unwrap().is_none());
    assert!(store.entry_path(&b).exists(), "kept, only skipped");
    assert_eq!(store.undecryptable(), 1);
    assert_eq!(
        store.get(&a).await.unwrap().unwrap().access_token.expose(),
        "at-a"
    );
}

#[tokio::test]
async fn list_describes_entries_without_secrets_and_clear_keeps_secrets() {
    let tmp = TempDir::new();
    let store = store(&tmp.0);
    store
        .put(&key("x"), &token("at-list-x", 3600, Some("rt-list-x")))
        .await
        .unwrap();
    store
        .put(&key("y"), &token("at-list-y", 3600, None))
        .await
        .unwrap();
    let junk = tmp
        .0
        .join("tokens")
        .join(format!("{}.bin", name(&key("junk"))));
    fs::write(&junk, b"junk").unwrap();
    store
        .set_secret("kept", &Secret::new("secret-kept"))
        .await
        .unwrap();

    let list = store.list().await.unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(
        junk.exists(),
        "list skips unreadable entries and keeps them"
    );
    assert_eq!(store.undecryptable(), 1);
    let mut keys: Vec<_> = [key("x"), key("y")]
        .iter()
        .map(|k| k.canonical().to_owned())
        .collect();
    keys.sort();
    assert_eq!(list.iter().map(|e| e.key.clone()).collect::<Vec<_>>(), keys);
    assert_eq!(list.iter().filter(|e| e.has_refresh_token).count(), 1);
    let text = format!("{list:?} {store:?}");
    for secret in ["at-list-x", "rt-list-x", "at-list-y", "WlpaWl", "ZZZZ"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }

    store.clear().await.unwrap();
    assert!(store.list().await.unwrap().is_empty());
    assert_eq!(
        store.get_secret("kept").await.unwrap().unwrap().expose(),
        "secret-kept"
    );
}

#[tokio::test]
async fn secrets_round_trip_and_survive_a_fresh_store() {
    let tmp = TempDir::new();
    let root = tmp.0.join("cache");
    let first = FileStore::open(Some(root.clone())).unwrap();
    first
        .set_secret("refresh:alice", &Secret::new("rt-rotated-1"))
        .await
        .unwrap();
    first
        .set_secret("refresh:alice", &Secret::new("rt-rotated-2"))
        .await
        .unwrap();
    assert_eq!(mode(&first.secret_path("refresh:alice")), 0o600);
    drop(first);

    let fresh = FileStore::open(Some(root.clone())).unwrap();
    let got = fresh.get_secret("refresh:alice").await.unwrap().unwrap();
    assert_eq!(got.expose(), "rt-rotated-2");
    assert!(fresh.get_secret("refresh:bob").await.unwrap().is_none());
    // A secret file copied under another name does not open as that name.
    fs::copy(
        fresh.secret_path("refresh:alice"),
        fresh.secret_path("refresh:bob"),
    )
    .unwrap();
    assert!(fresh.get_secret("refresh:bob").await.unwrap().is_none());
    fresh.delete_secret("refresh:alice").await.unwrap();
    assert!(fresh.get_secret("refresh:alice").await.unwrap().is_none());
}

#[tokio::test]
async fn loose_permissions_are_refused_with_a_chmod_hint() {
    let tmp = TempDir::new();
    let key_file = tmp.0.join("keys").join("key");
    let a = CacheCipher::from_key_file(&key_file).unwrap();
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(mode(key_file.parent().unwrap()), 0o700);
    let b = CacheCipher::from_key_file(&key_file).unwrap();
    assert_eq!(
        &b.open(b"n", &a.seal(b"n", b"same key").unwrap()).unwrap()[..],
        b"same key"
    );

    fs::set_permissions(&key_file, fs::Permissions::from_mode(0o640)).unwrap();
    let err = CacheCipher::from_key_file(&key_file).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("chmod 600"), "{err}");

    fs::write(tmp.0.join("short"), b"short").unwrap();
    fs::set_permissions(tmp.0.join("short"), fs::Permissions::from_mode(0o600)).unwrap();
    assert!(CacheCipher::from_key_file(&tmp.0.join("short")).is_err());

    let shared = tmp.0.join("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).unwrap();
    let err = FileStore::with_cipher(shared, CacheCipher::generate().unwrap()).unwrap_err();
    assert!(err.to_string().contains("chmod 700"), "{err}");
}

#[tokio::test]
async fn lease_excludes_a_second_holder_in_the_same_process() {
    let tmp = TempDir::new();
    let store = store(&tmp.0);
    lease::check_lease_exclusion(
        &store,
        &store,
        &key("lease"),
        &key("other"),
        Duration::from_millis(150),
        Duration::ZERO,
    )
    .await;
}

#[tokio::test]
async fn lease_excludes_another_process_and_frees_promptly_when_it_is_killed() {
    let tmp = TempDir::new();
    let store = store(&tmp.0);
    let k = key("cross-process");
    let mut child = spawn_child("hold", &tmp.0, &[]);
    let marker = tmp.0.join("child-held");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "child never took the lease");
        assert!(child.0.try_wait().unwrap().is_none(), "child exited early");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let child_fence: u64 = fs::read_to_string(&marker).unwrap().trim().parse().unwrap();

    let err = store
        .lease(&k, Duration::from_millis(300))
        .await
        .err()
        .expect("child holds it");
    assert!(err.to_string().contains("timed out"), "{err}");

    let waiter = tokio::spawn({
        let (store, k) = (store.clone(), k.clone());
        async move { store.lease(&k, Duration::from_secs(20)).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiter.is_finished(),
        "parent got the lease while the child held it"
    );

    let killed = Instant::now();
    child.0.kill().unwrap(); // SIGKILL: the child gets no chance to unlock
    child.0.wait().unwrap();
    let lease = waiter.await.unwrap().unwrap();
    let delay = killed.elapsed();
    assert!(
        delay < Duration::from_secs(1),
        "took {delay:?} after the kill"
    );
    assert!(lease.fencing_token() > child_fence);
    eprintln!("lease acquired {delay:?} after SIGKILL of the holder");
}

fn check_consistent(token: &TokenSet) -> String {
    let at = token.access_token.expose();
    let (head, pad) = at.split_at(at.find("gen-").expect("generation tag") + 4);
    let (generation, rest) = pad.split_once('-').expect("generation number");
    assert_eq!(
        rest.len(),
        PAD,
        "access token of {head}{generation} is partial"
    );
    assert!(rest.bytes().all(|b| b == b'x'));
    let expected_rt = format!("rt-{head}{generation}");
    assert_eq!(token.refresh_token.as_ref().unwrap().expose(), expected_rt);
    assert_eq!(token.scopes, [format!("s{generation}")]);
    head.trim_end_matches("gen-").to_owned()
}

fn big_token(round: &str, generation: u64) -> TokenSet {
    let mut t = token(
        &format!("{round}gen-{generation}-{}", "x".repeat(PAD)),
        3600,
        None,
    );
    t.refresh_token = Some(Secret::new(format!("rt-{round}gen-{generation}")));
    t.scopes = vec![format!("s{generation}")];
    t
}

#[tokio::test]
async fn a_writer_killed_mid_put_never_leaves_a_corrupt_entry() {
    let tmp = TempDir::new();
    let store = store(&tmp.0);
    let k = key("crash");
    store.put(&k, &big_token("r0-", 0)).await.unwrap();
    let (rounds, mut mid_write) = (6, 0);
    for round in 1..=rounds {
        let tag = format!("r{round}-");
        let mut child = spawn_child("write", &tmp.0, &[("TB_CHILD_ROUND", &tag)]);
        // Read continuously while the child rewrites the entry: never partial, never absent.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen_child_writes = 0;
        while seen_child_writes < 2 + round {
            assert!(Instant::now() < deadline, "child made no progress");
            let got = store.get(&k).await.unwrap().expect("entry always present");
            if check_consistent(&got) == tag {
                seen_child_writes += 1;
            }
            tokio::time::sleep(Duration::from_millis(rand::random_range(0..15))).await;
        }
        // Odd rounds kill as soon as a temp file shows a write in flight; even rounds at once.
        while round % 2 == 1 && temp_files(&tmp.0) == 0 {
            assert!(Instant::now() < deadline, "never saw a write in flight");
        }
        child.0.kill().unwrap();
        child.0.wait().unwrap();
        mid_write += usize::from(temp_files(&tmp.0) > 0);
        for orphan in fs::read_dir(tmp.0.join("tokens")).unwrap() {
            let path = orphan.unwrap().path();
            if path.to_string_lossy().contains("/.tmp-") {
                fs::remove_file(path).unwrap(); // so the next round counts afresh
            }
        }
        let fresh = FileStore::with_cipher(tmp.0.clone(), CacheCipher::from_bytes(&KEY).unwrap());
        let got = fresh
            .unwrap()
            .get(&k)
            .await
            .unwrap()
            .expect("entry survives the kill");
        check_consistent(&got);
        assert_eq!(
            store.list().await.unwrap().len(),
            1,
            "temp files are never listed"
        );
    }
    eprintln!("{mid_write}/{rounds} kills left a half-written temp file behind");
    assert!(
        mid_write > 0,
        "no kill landed mid-write, so this run proved nothing"
    );
}

fn temp_files(dir: &Path) -> usize {
    fs::read_dir(dir.join("tokens"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".tmp-")
        })
        .count()
}

/// Not a test on its own: the body of the child processes spawned above.
#[tokio::test]
#[ignore = "child process for the cross-process tests"]
async fn child_process() {
    let Ok(mode) = std::env::var(CHILD_MODE) else {
        return;
    };
    let dir = PathBuf::from(std::env::var_os("TB_CHILD_DIR").unwrap());
    // The key comes from TOKENBROKER_CACHE_KEY, as a real broker process would take it.
    let store = FileStore::open(Some(dir.clone())).unwrap();
    match mode.as_str() {
        "hold" => {
            let lease = store
                .lease(&key("cross-process"), Duration::from_secs(5))
                .await
                .unwrap();
            let tmp = dir.join("child-held.tmp");
            fs::write(&tmp, lease.fencing_token().to_string()).unwrap();
            fs::rename(tmp, dir.join("child-held")).unwrap();
            tokio::time::sleep(Duration::from_secs(120)).await;
        }
        "write" => {
            let round = std::env::var("TB_CHILD_ROUND").unwrap();
            for generation in 1.. {
                store
                    .put(&key("crash"), &big_token(&round, generation))
                    .await
                    .unwrap();
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}

#[tokio::test]
async fn lease_is_held_while_its_holder_works() {
    let tmp = TempDir::new();
    let (a, b) = (store(&tmp.0), store(&tmp.0));
    lease::check_lease_renewed_while_held(&a, &b, &key("renewed"), Duration::from_millis(100))
        .await;
}

#[tokio::test]
async fn writes_under_a_lost_lease_are_refused() {
    let tmp = TempDir::new();
    let (a, b) = (store(&tmp.0), store(&tmp.0));
    let k = key("fenced");
    let lock = tmp.0.join("locks").join(format!("{}.lock", name(&k)));
    // The lock file replaced under the holder: its flock no longer excludes anyone.
    let lose = async move { fs::remove_file(&lock).unwrap() };
    lease::check_fenced_writes(&a, &b, &k, lose).await;
}

#[tokio::test]
async fn a_lease_holder_never_replaces_a_newer_entry() {
    let tmp = TempDir::new();
    let store = store(&tmp.0);
    let k = key("newer");
    let older = lease::fresh_token("at-old", "rt-old");
    tokio::time::sleep(Duration::from_millis(20)).await;
    store
        .put(&k, &lease::fresh_token("at-new", "rt-new"))
        .await
        .unwrap();
    let held = store.lease(&k, Duration::ZERO).await.unwrap();
    assert!(!held.put_fenced(&k, &older).await.unwrap());
    assert_eq!(
        store.get(&k).await.unwrap().unwrap().access_token.expose(),
        "at-new"
    );
}
