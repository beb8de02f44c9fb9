//! The file tier's housekeeping (temp files of writers that died, failure records no longer in
//! force) belongs to processes that write: opening the store and reading a token never lists
//! a directory, so a new process's cached token costs the same however many entries the cache
//! holds. A writer sweeps at most once an hour per cache directory (the `swept` file's time),
//! and looks at that time at most once an hour itself (a unit test in `file_sweep.rs` covers
//! the hour after).

mod support;

use std::fs::{self, File};
use std::path::Path;
use std::time::{Duration, SystemTime};

use tokenbroker::TokenSet;
use tokenbroker::advanced::cache::{CacheCipher, CacheKey, FileStore, SharedStore};

fn store(dir: &Path) -> FileStore {
    FileStore::with_cipher(
        dir.to_owned(),
        CacheCipher::from_bytes(&[0x3c; 32]).unwrap(),
    )
    .unwrap()
}

fn key(subject: &str) -> CacheKey {
    support::fixtures::cache_key(subject, &["read"])
}

fn token() -> TokenSet {
    support::fixtures::token_set("at-sweep", Duration::from_secs(3600), &["read"], None)
}

/// A file written two hours ago.
fn plant_old(path: &Path) {
    fs::write(path, b"left behind").unwrap();
    let old = SystemTime::now() - Duration::from_secs(2 * 3600);
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(old)
        .unwrap();
}

#[tokio::test]
async fn reads_never_sweep_and_writers_sweep_at_most_hourly() {
    let dir = support::private_dir("sweep");
    let k = key("sweep");
    store(&dir).put(&k, &token()).await.unwrap();
    let orphan = dir.join("tokens").join(".tmp-4242-deadbeef");
    let lapsed = dir
        .join("failures")
        .join(format!("{}.bin", "ab".repeat(32)));
    plant_old(&orphan);
    plant_old(&lapsed);

    // A new process's store: opening it and reading the token leave both files alone.
    let reader = store(&dir);
    assert!(reader.get(&k).await.unwrap().is_some());
    assert!(
        orphan.exists(),
        "opening or reading the store swept a temp file"
    );
    assert!(
        lapsed.exists(),
        "opening or reading the store swept a failure record"
    );

    // The writer before swept less than an hour ago: this writer leaves them too.
    reader.put(&k, &token()).await.unwrap();
    assert!(
        orphan.exists() && lapsed.exists(),
        "swept twice within the hour"
    );

    // An hour on, the next process to write sweeps both, once.
    plant_old(&dir.join("swept"));
    let writer = store(&dir);
    writer.put(&k, &token()).await.unwrap();
    assert!(
        !orphan.exists(),
        "the writer left a dead writer's temp file"
    );
    assert!(!lapsed.exists(), "the writer left a lapsed failure record");
    plant_old(&orphan);
    plant_old(&dir.join("swept"));
    writer.put(&k, &token()).await.unwrap();
    assert!(orphan.exists(), "one process swept twice within the hour");
    let _ = fs::remove_dir_all(dir);
}
