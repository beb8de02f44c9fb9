//! Private directories on disk: created 0700, checked for ownership and permissions, and
//! synced after renames so an entry survives a crash.

use std::fs::{self, File};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::Path;

use crate::error::{Error, Result};

/// Creates `dir` (mode 0700) if missing, and checks an existing one: it must be a directory
/// owned by the current user and not writable by group or others. A directory merely
/// readable by others is tightened to 0700 when `tighten`, else logged.
pub(crate) fn ensure_private_dir(dir: &Path, tighten: bool) -> Result<()> {
    let location = dir.display().to_string();
    // One `stat` for a directory that exists (every open but the first): creating first would
    // cost a `mkdir` and the builder's own `stat` as well.
    let meta = match fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| Error::cache(format!("cannot create {location}: {e}")))?;
            fs::metadata(dir)
        }
        found => found,
    }
    .map_err(|e| Error::cache(format!("cannot stat {location}: {e}")))?;
    if !meta.is_dir() {
        return Err(Error::config(location, "cache path is not a directory"));
    }
    if meta.uid() != current_uid() {
        return Err(Error::config(
            location,
            "cache directory is owned by another user",
        ));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(Error::config(
            &location,
            format!(
                "cache directory is writable by group or others (mode {mode:o}); run `chmod 700 {location}`"
            ),
        ));
    }
    if mode & 0o077 != 0 {
        if tighten {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::cache(format!("cannot chmod {location}: {e}")))?;
        } else {
            tracing::warn!(dir = %location, mode = %format!("{mode:o}"),
                "cache directory is readable by others; consider `chmod 700`");
        }
    }
    Ok(())
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Flushes a directory so that a rename or unlink in it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

pub(crate) fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_where_the_cache_directory_should_be_is_named_as_such() {
        let file =
            std::env::temp_dir().join(format!("tb-disk-{}", crate::cache::random_hex(6).unwrap()));
        fs::write(&file, b"not a directory").unwrap();
        let err = ensure_private_dir(&file, false).unwrap_err();
        let _ = fs::remove_file(&file);
        match err {
            Error::Config { location, reason } => {
                assert_eq!(location, file.display().to_string());
                assert_eq!(reason, "cache path is not a directory");
            }
            other => panic!("expected a config error naming the path, got {other:?}"),
        }
    }
}
