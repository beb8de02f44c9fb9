//! Work a binding starts when it is loaded, so that a process's first lookup does not wait
//! for it.

use crate::cache::{CacheCipher, KEY_LEN};

/// Starts, in the background on `handle`'s blocking pool, what a process's first lookup in a
/// shared tier would otherwise wait for: the pool's first thread (which then serves that
/// lookup's file reads) and the one-time set-up of the cache's crypto. For a binding to call
/// when it is loaded, while the host goes on loading its own code; nothing waits for it. Not
/// for a host that may `fork()` right after loading (Python's `multiprocessing`): a child
/// forked while a one-time set-up runs would wait for it forever.
pub fn warm_up(handle: &tokio::runtime::Handle) {
    // A worker starts the pool's thread: the caller only wakes the worker.
    drop(handle.spawn(async {
        let _ = tokio::task::spawn_blocking(warm_up_crypto).await;
    }));
}

/// Seals and opens an empty value under a throwaway key: the first real lookup then finds the
/// crypto library set up (CPU feature detection, its one-time tables) instead of paying for it.
fn warm_up_crypto() {
    const NAME: &[u8] = b"tokenbroker warm-up";
    if let Ok(cipher) = CacheCipher::with_origin(&[0; KEY_LEN], "warm-up") {
        if let Ok(sealed) = cipher.seal(NAME, b"") {
            let _ = cipher.open(NAME, &sealed);
        }
    }
}
