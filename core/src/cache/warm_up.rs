//! Work a binding starts when it is loaded, so that a process's first lookup does not wait
//! for it.

use crate::cache::{CacheCipher, KEY_LEN};

/// Starts, on `handle`'s blocking pool, what a process's first lookup in a shared tier would
/// otherwise wait for: the pool's first thread (which then serves that lookup's file reads)
/// and the one-time set-up of the cache's crypto. The calling thread starts the pool's thread
/// and returns; nothing waits for the set-up. For a binding to call from a thread of its own
/// when it is loaded, while the host goes on loading its code. Not for a host that may
/// `fork()` right after loading (Python's `multiprocessing`): a child forked while a one-time
/// set-up runs would wait for it forever.
pub fn warm_up(handle: &tokio::runtime::Handle) {
    drop(handle.spawn_blocking(warm_up_crypto));
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
