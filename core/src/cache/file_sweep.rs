//! Housekeeping of the file tier: temp files of writers that died mid-write, and failure
//! records written longer ago than any record applies.
//!
//! Only a process that writes sweeps, before a write: both kinds of leftovers come from
//! writes, and the read path (opening the store, reading a token) then never lists a
//! directory, so a new process's cached token costs the same however many entries the cache
//! holds. A sweep lists every entry, so it runs at most once per [`SWEEP_EVERY`] per cache
//! directory (the `swept` file's modification time says when the last one ran), and a process
//! looks at that time at most once per [`SWEEP_EVERY`] too: a long-running writer still sweeps
//! now and then, and its other writes cost no `stat`.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::file_io::{entry_names, is_orphan};

/// The least time between two sweeps of one cache directory.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);
const MARKER: &str = "swept";

/// Sweeps a cache directory before a write of this process, when one is due.
#[derive(Default)]
pub(super) struct Sweeper {
    /// When this process last looked at the `swept` file; `None` before its first write.
    looked: Mutex<Option<Instant>>,
}

impl Sweeper {
    /// Called before each write: sweeps `root`'s `dirs` for orphans and `failures` for lapsed
    /// records when no process did in the last [`SWEEP_EVERY`], looking at most once per
    /// [`SWEEP_EVERY`]. Best effort: a file that cannot be listed or removed is left for the
    /// next sweep.
    pub(super) fn before_write(&self, root: &Path, dirs: &[&str], failures: &str) {
        self.before_write_at(Instant::now(), root, dirs, failures);
    }

    fn before_write_at(&self, now: Instant, root: &Path, dirs: &[&str], failures: &str) {
        if !self.time_to_look(now) || !due(root) {
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

impl Sweeper {
    fn time_to_look(&self, now: Instant) -> bool {
        let mut looked = crate::locks::lock(&self.looked);
        if looked.is_some_and(|at| now.duration_since(at) < SWEEP_EVERY) {
            return false;
        }
        *looked = Some(now);
        true
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

#[cfg(test)]
mod tests {
    use std::fs::File;

    use super::*;

    fn plant_old(path: &Path) {
        fs::write(path, b"left behind").unwrap();
        let old = SystemTime::now() - 2 * SWEEP_EVERY;
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }

    #[test]
    fn a_long_running_writer_sweeps_again_once_its_last_look_is_an_hour_old() {
        let root = std::env::temp_dir().join(format!("tb-sweep-{:x}", rand::random::<u64>()));
        fs::create_dir_all(root.join("tokens")).unwrap();
        fs::create_dir_all(root.join("failures")).unwrap();
        let orphan = root.join("tokens").join(".tmp-4242-deadbeef");
        let sweeper = Sweeper::default();
        let start = Instant::now();
        let write = |at: Instant| sweeper.before_write_at(at, &root, &["tokens"], "failures");

        plant_old(&orphan);
        write(start);
        assert!(!orphan.exists(), "the first write did not sweep");

        // The directory's last sweep is old again, but this process looked a moment ago.
        plant_old(&orphan);
        plant_old(&root.join(MARKER));
        write(start + SWEEP_EVERY / 2);
        assert!(orphan.exists(), "looked again within the hour");

        // An hour after its last look, the same process sweeps again.
        write(start + SWEEP_EVERY);
        assert!(!orphan.exists(), "a long-running writer never swept again");
        let _ = fs::remove_dir_all(root);
    }
}
