//! Opening files that must be regular files. Every config, secret, key, certificate, cache
//! entry and lock file is opened here: with `O_NONBLOCK`, so a FIFO or a device in its place
//! cannot stall the open, then checked with `fstat` and read up to a size cap, so that
//! `/dev/zero` or a pipe is an error naming the path instead of a hang.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Largest config, secret, key or certificate file read (1 MiB).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Opens `path` with `options` (plus `flags` and `O_NONBLOCK`) and refuses anything that is
/// not a regular file.
pub(crate) fn open(path: &Path, options: &mut OpenOptions, flags: i32) -> io::Result<File> {
    let file = options.custom_flags(flags | libc::O_NONBLOCK).open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// Reads at most `max` bytes of an open file; more is an error.
pub(crate) fn read_capped(file: &mut File, max: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("larger than {} KiB", max / 1024),
        ));
    }
    Ok(bytes)
}

/// The text of the regular file at `path` (following symlinks), at most
/// [`MAX_FILE_BYTES`].
pub fn read_text(path: &Path) -> io::Result<String> {
    let mut file = open(path, OpenOptions::new().read(true), 0)?;
    let bytes = read_capped(&mut file, MAX_FILE_BYTES)?;
    String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// The bytes of the regular file at `path` (following symlinks), at most
/// [`MAX_FILE_BYTES`].
pub fn read_bytes(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = open(path, OpenOptions::new().read(true), 0)?;
    read_capped(&mut file, MAX_FILE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_fifos_and_directories_are_refused_without_blocking() {
        let dir = std::env::temp_dir().join(format!("tb-regular-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        let _ = std::fs::remove_file(&fifo);
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for path in [Path::new("/dev/zero"), fifo.as_path(), dir.as_path()] {
            let err = read_text(path).unwrap_err();
            assert_eq!(err.to_string(), "not a regular file", "{}", path.display());
        }
        let big = dir.join("big");
        std::fs::write(&big, vec![b'a'; MAX_FILE_BYTES as usize + 1]).unwrap();
        assert_eq!(
            read_text(&big).unwrap_err().kind(),
            io::ErrorKind::FileTooLarge
        );
        std::fs::write(&big, "ok\n").unwrap();
        assert_eq!(read_text(&big).unwrap(), "ok\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
