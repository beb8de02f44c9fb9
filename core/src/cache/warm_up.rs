//! What a binding starts when it is loaded, so that a process's first read of a shared tier
//! does not wait for it.

use crate::cache::{CacheCipher, KEY_LEN};

/// Does, on the calling thread, the crypto library's one-time set-up (CPU feature detection,
/// its tables, its random generator) that a process's first read of a shared tier would
/// otherwise wait for, by sealing and opening an empty value under a throwaway key. For a
/// binding to call on a thread of its own when it is loaded, while the host goes on loading
/// its code; it starts no thread and no runtime. Not for a host that may `fork()` right after
/// loading (Python's `multiprocessing`): a child forked while a one-time set-up runs would
/// wait for it forever.
pub fn warm_up() {
    const NAME: &[u8] = b"tokenbroker warm-up";
    if let Ok(cipher) = CacheCipher::with_origin(&[0; KEY_LEN], "warm-up") {
        if let Ok(sealed) = cipher.seal(NAME, b"") {
            let _ = cipher.open(NAME, &sealed);
        }
    }
}
