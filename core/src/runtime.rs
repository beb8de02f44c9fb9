//! The one tokio runtime of a process, shared by every broker and every binding.
//!
//! All network and store I/O runs on it, so connection pools and Redis connections are bound
//! to a single reactor. After `fork()` the parent's runtime threads do not exist in the child:
//! the runtime is rebuilt the first time the child asks for it.

use std::future::Future;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::runtime::{Handle, Runtime};

static RUNTIME: Mutex<Option<(u32, Arc<Runtime>)>> = Mutex::new(None);

/// The process's runtime, created on first use (and again in a forked child).
pub fn runtime() -> Arc<Runtime> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock();
    match slot.as_ref() {
        Some((owner, rt)) if *owner == pid => rt.clone(),
        stale => {
            if let Some((_, old)) = stale {
                // The parent's worker threads are gone; its runtime can only be leaked.
                std::mem::forget(old.clone());
            }
            let rt = Arc::new(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("tokenbroker")
                    .enable_all()
                    .build()
                    .expect("cannot start the tokenbroker runtime"),
            );
            *slot = Some((pid, rt.clone()));
            rt
        }
    }
}

/// A handle to the process's runtime.
pub fn handle() -> Handle {
    runtime().handle().clone()
}

/// Whether the runtime was created by this process (false right after a fork).
pub fn is_current_process() -> bool {
    RUNTIME
        .lock()
        .as_ref()
        .is_some_and(|(pid, _)| *pid == std::process::id())
}

/// Runs `future` to completion from synchronous code (bindings' blocking calls).
///
/// Must not be called from inside an async task; bindings call it from their own threads.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let rt = runtime();
    rt.block_on(future)
}
