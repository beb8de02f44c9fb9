//! Housekeeping of the file tier: temp files of writers that died mid-write, and failure
//! records written longer ago than any record applies.
//!
//! Only a process that writes sweeps, before its first write: both kinds of leftovers come
//! from writes, and the read path (opening the store, reading a token) then never lists a
//! directory, so a new process's cached token costs the same however many entries the cache
//! holds. A sweep lists every entry, so it runs at most once per process and once per
//! [`SWEEP_EVERY`] per cache directory: the `swept` file's modification time says when the
//! last one ran.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use super::file_io::{entry_names, is_orphan};

/// The least time between two sweeps of one cache directory.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);
const MARKER: &str = "swept";

/// Sweeps a cache directory before the first write of this process, when one is due.
#[derive(Default)]
pub(super) struct Sweeper {
    tried: AtomicBool,
}

impl Sweeper {
    /// Called before each write: sweeps `root`'s `dirs` for orphans and `failures` for lapsed
    /// records, the first time only, and only if no process did in the last [`SWEEP_EVERY`].
    /// Best effort: a file that cannot be listed or removed is left for the next sweep.
    pub(super) fn before_write(&self, root: &Path, dirs: &[&str], failures: &str) {
        if self.tried.swap(true, Ordering::Relaxed) || !due(root) {
            return;
        }
        // Marked first: concurrent writers of other processes then skip the listing.
        mark(root);
        for dir in dirs {
            sweep_orphans(&root.join(dir));
        }
        sweep_lapsed_failures(&root.join(failures));
    }
}

fn due(root: &Path) -> bool {
    fs::symlink_metadata(root.join(MARKER))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|at| SystemTime::now().duration_since(at).ok())
        .is_none_or(|age| age >= SWEEP_EVERY)
}

fn mark(root: &Path) {
    // O_NOFOLLOW and O_NONBLOCK: a link or a FIFO put there is neither followed nor waited on.
    let marker = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(root.join(MARKER));
    if let Ok(file) = marker {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// Deletes temp files left by writers that died mid-write.
fn sweep_orphans(dir: &Path) {
    for name in entry_names(dir).unwrap_or_default() {
        let path = dir.join(name);
        if is_orphan(&path) {
            let _ = fs::remove_file(path);
        }
    }
}

/// Deletes failure records written longer ago than any record applies.
fn sweep_lapsed_failures(dir: &Path) {
    for name in entry_names(dir).unwrap_or_default() {
        let path = dir.join(name);
        let lapsed = fs::symlink_metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > crate::limits::MAX_FAILURE_HOLD);
        if lapsed {
            let _ = fs::remove_file(path);
        }
    }
}
