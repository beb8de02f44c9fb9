//! The sidecar's secret: made per run, or kept in a private file that a running sidecar
//! re-reads on every request, so `serve --rotate-secret` takes effect at once.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::fail::{Fail, Result};

/// Shortest secret accepted from a file.
const MIN_SECRET_LEN: usize = 16;

/// Where the sidecar's secret comes from.
pub enum SecretSource {
    /// Made for this run.
    Run(String),
    /// A private file, read for each request.
    File(PathBuf),
}

impl SecretSource {
    /// The current secret; the error names the file and the problem, never its content.
    pub fn current(&self) -> std::result::Result<String, String> {
        match self {
            Self::Run(secret) => Ok(secret.clone()),
            Self::File(path) => load(path),
        }
    }
}

/// A secret from a file, checked as at start: a usage error when unusable.
pub fn read_secret_file(path: &Path) -> Result<String> {
    load(path).map_err(Fail::usage)
}

/// A secret from a file: trimmed, long enough, and not readable by group or others.
fn load(path: &Path) -> std::result::Result<String, String> {
    let shown = path.display();
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read secret file {shown}: {e}"))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "secret file {shown} is readable by group or others; run `chmod 600` on it"
        ));
    }
    let text = tokenbroker::advanced::regular_file::read_text(path)
        .map_err(|e| format!("cannot read secret file {shown}: {e}"))?;
    let secret = text.trim();
    if secret.len() < MIN_SECRET_LEN || secret.chars().any(|c| c.is_control()) {
        return Err(format!(
            "secret file {shown} must hold one line of at least {MIN_SECRET_LEN} printable characters"
        ));
    }
    Ok(secret.to_owned())
}

/// Writes a new random secret to `path` (mode 0600; its directory is made 0700 when
/// missing), replacing the old one atomically.
pub fn rotate(path: &Path) -> Result<()> {
    let shown = path.display();
    let fail = |what: &str, e: std::io::Error| Fail::other(format!("cannot {what} {shown}: {e}"));
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| fail("create the directory of", e))?;
    }
    let name = path
        .file_name()
        .ok_or_else(|| Fail::usage(format!("secret file {shown} names no file")))?;
    let temp = dir.join(format!(
        ".{}.{:016x}.tmp",
        name.to_string_lossy(),
        rand::random::<u64>()
    ));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(format!("{}\n", random_secret()).as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(fail("write", e));
    }
    Ok(())
}

/// 32 random bytes as 64 hex digits.
pub fn random_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal strings, in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
