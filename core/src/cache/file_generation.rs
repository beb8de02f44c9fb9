//! The file store's invalidation generation: the file `generation` in the cache directory,
//! holding 16 hex digits, replaced atomically (with a fresh random value) after each
//! `remove` and `clear`. Any change is an invalidation, so no lock is needed to bump it.

use std::path::{Path, PathBuf};

use crate::cache::crypto;
use crate::cache::file_io::{read_file, write_atomic};
use crate::error::{Error, Result};

const FILE: &str = "generation";

fn path(root: &Path) -> PathBuf {
    root.join(FILE)
}

/// The current generation; 0 while nothing was ever invalidated.
pub(super) fn read(root: &Path) -> Result<u64> {
    let path = path(root);
    let Some((bytes, _)) = read_file(&path)? else {
        return Ok(0);
    };
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| u64::from_str_radix(text.trim(), 16).ok())
        .ok_or_else(|| {
            Error::cache(format!(
                "{} is not an invalidation generation (16 hex digits); \
                 `tokenbroker cache clear` rewrites it",
                path.display()
            ))
        })
}

/// Replaces the generation with a fresh random one, durably.
pub(super) fn bump(root: &Path) -> Result<()> {
    let text = format!("{}\n", crypto::random_hex(8)?);
    write_atomic(&path(root), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_is_zero_each_bump_changes_it_and_garbage_is_named() {
        let dir = std::env::temp_dir().join(format!("tb-gen-{}", crypto::random_hex(6).unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(read(&dir).unwrap(), 0);
        bump(&dir).unwrap();
        let first = read(&dir).unwrap();
        bump(&dir).unwrap();
        assert_ne!(read(&dir).unwrap(), first);
        std::fs::write(dir.join(FILE), "not hex").unwrap();
        let err = read(&dir).unwrap_err().to_string();
        assert!(err.contains("generation"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
