//! The one tokio runtime of a process, shared by every broker and every binding.
//!
//! All network and store I/O runs on it, so connection pools and Redis connections are bound
//! to a single reactor. A host that already has a runtime hands its handle over with
//! [`adopt`]: the CLI a current-thread one that its main thread drives (one command per
//! process: no worker thread to start, no hand-off to one). Otherwise a multi-thread runtime
//! is created on first use. After `fork()` the parent's runtime threads do not exist in the
//! child: a runtime is created again the first time the child asks for one.

use std::future::Future;
use std::sync::Arc;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::runtime::{Handle, Runtime, RuntimeFlavor};

struct Current {
    pid: u32,
    handle: Handle,
    /// Keeps a runtime we created alive; `None` for an adopted one.
    _owned: Option<Arc<Runtime>>,
}

static CURRENT: Mutex<Option<Current>> = Mutex::new(None);

/// A handle to the process's runtime, created on first use (and again in a forked child).
pub fn handle() -> Handle {
    let pid = std::process::id();
    let mut slot = crate::locks::lock(&CURRENT);
    if let Some(current) = slot.as_ref() {
        if current.pid == pid {
            return current.handle.clone();
        }
    }
    if let Some(stale) = slot.take() {
        // The parent's worker threads are gone in a child; its runtime can only be leaked.
        std::mem::forget(stale);
    }
    let rt = Arc::new(build().expect("cannot start the tokenbroker runtime"));
    let handle = rt.handle().clone();
    *slot = Some(Current {
        pid,
        handle: handle.clone(),
        _owned: Some(rt),
    });
    handle
}

/// Worker threads of the runtime tokenbroker creates: its tasks are short (a request sent, a
/// file read handed to the blocking pool, an answer parsed), and two keep one busy worker from
/// delaying the others. A fixed number also spares each new process tokio's default, the CPU
/// count, which it reads from the cgroup files under /proc and /sys.
pub const WORKER_THREADS: usize = 2;

/// A new multi-thread runtime as tokenbroker creates one: [`WORKER_THREADS`] workers named
/// `tokenbroker`, timers and I/O enabled. [`handle`] builds the process's runtime with it.
pub fn build() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .thread_name("tokenbroker")
        .enable_all()
        .build()
}

/// Makes tokenbroker use the host's runtime instead of creating its own. A current-thread
/// runtime runs tokenbroker's tasks (fetches, refresh-ahead) only while the host drives it
/// with `Runtime::block_on`, and runs the stores' blocking work inline (see [`blocking`]).
/// Returns false (and changes nothing) when a runtime is already in use in this process.
pub fn adopt(handle: Handle) -> bool {
    let pid = std::process::id();
    let mut slot = crate::locks::lock(&CURRENT);
    if slot.as_ref().is_some_and(|c| c.pid == pid) {
        return false;
    }
    if handle.runtime_flavor() == RuntimeFlavor::CurrentThread {
        INLINE_PID.store(pid, Ordering::Relaxed);
    }
    *slot = Some(Current {
        pid,
        handle,
        _owned: None,
    });
    true
}

/// The process that adopted a current-thread runtime (0: none), whose blocking work runs inline.
static INLINE_PID: AtomicU32 = AtomicU32::new(0);

/// Runs `future` to completion from synchronous code (bindings' blocking calls).
///
/// Must not be called from inside an async task; bindings call it from their own threads.
pub fn block_on<F: Future>(future: F) -> F::Output {
    handle().block_on(future)
}

/// Runs blocking work of the stores (small file reads and writes, a keyring lookup) from async
/// code: inline on a current-thread runtime in a process that [`adopt`]ed one (the CLI), whose
/// one thread would otherwise hand the work to a blocking-pool thread (started for it) and
/// sleep until it is done; on the blocking pool everywhere else, so that no worker of a
/// multi-thread runtime, and no application's own current-thread runtime, ever blocks on it.
pub async fn blocking<T, F>(work: F) -> Result<T, tokio::task::JoinError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let inline = INLINE_PID.load(Ordering::Relaxed) == std::process::id()
        && Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::CurrentThread);
    if inline {
        return Ok(work());
    }
    tokio::task::spawn_blocking(work).await
}

/// Locks the runtime slot until the guard drops (held across a fork, see `crate::fork`).
pub(crate) fn lock_for_fork() -> impl Sized + 'static {
    crate::locks::lock(&CURRENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_tokenbroker_builds_has_its_fixed_workers_and_runs_timers() {
        let rt = build().expect("runtime");
        assert_eq!(rt.metrics().num_workers(), WORKER_THREADS);
        let slept = rt.block_on(async {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            tokio::runtime::Handle::current().runtime_flavor()
        });
        assert_eq!(slept, RuntimeFlavor::MultiThread);
    }
}
