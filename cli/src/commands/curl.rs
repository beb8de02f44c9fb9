//! `tokenbroker curl`: runs curl with the Authorization header added.
//!
//! The header reaches curl through an inherited pipe (`-H @/dev/fd/N`), never through curl's
//! argument list, which any local user can read in `ps` or `/proc/PID/cmdline`.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;

use crate::args::{CurlArgs, Global};
use crate::fail::{Fail, Result};
use crate::output;

pub async fn run(global: &Global, args: CurlArgs) -> Result<u8> {
    let (broker, token) = super::token(global, &args.select).await?;
    let header = format!("{}\r\n", output::header_line(&token));
    let (read, write) = pipe()?;
    // A header line is far below the pipe's buffer, so this never blocks.
    let mut write = File::from(write);
    write
        .write_all(header.as_bytes())
        .map_err(|e| Fail::other(format!("cannot pass the header to curl: {e}")))?;
    drop(write);
    let program = std::env::var_os("TOKENBROKER_CURL").unwrap_or_else(|| "curl".into());
    let mut command = Command::new(&program);
    // curl inherits neither the cache key nor any `env:` secret of the config.
    tokenbroker::advanced::child_env::remove_secrets(&mut command, broker.config());
    command
        .arg("-H")
        .arg(format!("@/dev/fd/{}", read.as_raw_fd()))
        .args(&args.args);
    let status = tokio::task::spawn_blocking(move || {
        let status = command.status();
        drop(read);
        status
    })
    .await
    .map_err(|e| Fail::other(format!("curl task failed: {e}")))?
    .map_err(|e| {
        Fail::other(format!(
            "cannot run {}: {e}",
            std::path::Path::new(&program).display()
        ))
    })?;
    Ok(exit_code(status))
}

/// curl's exit code, or 128 + the signal that ended it.
fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(1),
        _ => 1,
    }
}

/// A pipe whose read end a child inherits and whose write end it does not.
fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe(2) to fill.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(Fail::other(format!(
            "cannot create a pipe: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: pipe(2) succeeded, so both descriptors are open and owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: fcntl on a descriptor we own.
    unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    Ok((read, write))
}
