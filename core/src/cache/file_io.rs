//! File-system steps of the file store: atomic durable writes, bounded reads, removals that
//! spare a concurrent writer's file, `flock` attempts, and the listings and temp-file test
//! the sweeps of leftovers use (`file_sweep`).

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::file_lease::read_fence;
use crate::cache::{crypto, disk};
use crate::error::{Error, Result};
use crate::regular_file;

/// Temp files older than this belong to a writer that died; they are swept.
const ORPHAN_AFTER: Duration = Duration::from_secs(60);
/// Anything bigger is not an entry we wrote.
const MAX_ENTRY_BYTES: u64 = 16 << 20;
const TMP_PREFIX: &str = ".tmp-";

pub(super) fn try_lock(file: &File) -> std::io::Result<bool> {
    // SAFETY: the descriptor is open for the lifetime of `file`.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EWOULDBLOCK) | Some(libc::EINTR) => Ok(false),
        _ => Err(err),
    }
}

/// Reads, increments and durably rewrites the decimal counter in a locked lock file. The
/// counter is at least the clock in microseconds, so it keeps growing even when a lock file
/// is deleted and made afresh.
pub(super) fn bump_fence(file: &File) -> std::io::Result<u64> {
    let current = read_fence(file)?;
    let clock = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let next = current.saturating_add(1).max(clock);
    let text = format!("{next}\n");
    file.set_len(0)?;
    file.write_at(text.as_bytes(), 0)?;
    file.sync_data()?;
    Ok(next)
}

/// The bytes and inode of a regular file, or `None` when it does not exist.
pub(super) fn read_file(path: &Path) -> Result<Option<(Vec<u8>, u64)>> {
    let mut file = match regular_file::open(path, OpenOptions::new().read(true), libc::O_NOFOLLOW) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("open", path, e)),
    };
    let meta = file.metadata().map_err(|e| io_error("stat", path, e))?;
    let mut bytes = Vec::with_capacity(meta.len().min(MAX_ENTRY_BYTES) as usize);
    (&mut file)
        .take(MAX_ENTRY_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error("read", path, e))?;
    Ok(Some((bytes, meta.ino())))
}

/// Writes `bytes` to `path` atomically and durably (temp file, fsync, rename, fsync dir).
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = disk::parent_dir(path);
    let tmp = dir.join(format!(
        "{TMP_PREFIX}{}-{}",
        std::process::id(),
        crypto::random_hex(8)?
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        disk::sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| io_error("write", path, e))
}

pub(super) fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(io_error("remove", path, e)),
        _ => Ok(()),
    }
}

pub(super) fn remove_durably(path: &Path) -> Result<()> {
    remove(path)?;
    let dir = disk::parent_dir(path);
    disk::sync_dir(dir).map_err(|e| io_error("sync", dir, e))
}

/// Removes `path` only if it is still the file we read (inode `ino`), so that an entry a
/// concurrent writer just renamed into place is not deleted by mistake.
pub(super) fn remove_if_same(path: &Path, ino: u64) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.ino() == ino => remove(path),
        _ => Ok(()),
    }
}

pub(super) fn entry_names(dir: &Path) -> Result<Vec<String>> {
    let entries = fs::read_dir(dir).map_err(|e| io_error("list", dir, e))?;
    Ok(entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect())
}

pub(super) fn is_orphan(path: &Path) -> bool {
    let is_tmp = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(TMP_PREFIX));
    is_tmp
        && fs::symlink_metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > ORPHAN_AFTER)
}

pub(super) fn io_error(op: &str, path: &Path, e: std::io::Error) -> Error {
    Error::cache(format!("cannot {op} {}: {e}", path.display()))
}
