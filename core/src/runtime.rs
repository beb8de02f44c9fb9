//! The one tokio runtime of a process, shared by every broker and every binding.
//!
//! All network and store I/O runs on it, so connection pools and Redis connections are bound
//! to a single reactor. A host that already has a multi-thread runtime (napi-rs) hands its
//! handle over with [`adopt`]; otherwise one is created on first use. After `fork()` the
//! parent's runtime threads do not exist in the child: a runtime is created again the first
//! time the child asks for one.

use std::future::Future;
use std::sync::Arc;

use std::sync::Mutex;
use tokio::runtime::{Handle, Runtime};

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
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tokenbroker")
            .enable_all()
            .build()
            .expect("cannot start the tokenbroker runtime"),
    );
    let handle = rt.handle().clone();
    *slot = Some(Current {
        pid,
        handle: handle.clone(),
        _owned: Some(rt),
    });
    handle
}

/// Makes tokenbroker use the host's multi-thread runtime instead of creating its own.
/// Returns false (and changes nothing) when a runtime is already in use in this process.
pub fn adopt(handle: Handle) -> bool {
    let pid = std::process::id();
    let mut slot = crate::locks::lock(&CURRENT);
    if slot.as_ref().is_some_and(|c| c.pid == pid) {
        return false;
    }
    *slot = Some(Current {
        pid,
        handle,
        _owned: None,
    });
    true
}

/// Runs `future` to completion from synchronous code (bindings' blocking calls).
///
/// Must not be called from inside an async task; bindings call it from their own threads.
pub fn block_on<F: Future>(future: F) -> F::Output {
    handle().block_on(future)
}

/// Locks the runtime slot until the guard drops (held across a fork, see `crate::fork`).
pub(crate) fn lock_for_fork() -> impl Sized + 'static {
    crate::locks::lock(&CURRENT)
}
