//! Cache entries as read back from a file or Redis: the sealed bytes (framing, decryption)
//! and the decrypted token and secret records.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenbroker::advanced::fuzzing as fz;

fuzz_target!(|data: &[u8]| {
    let _ = fz::cache_entry("00", data);
    let _ = fz::cache_token_record(data);
    let _ = fz::cache_secret_record("name", data);
});
