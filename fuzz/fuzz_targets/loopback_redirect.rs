//! What reaches the loopback listener and `complete_login`: a `form_post` body and a redirect
//! URL (query and fragment).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenbroker::advanced::fuzzing as fz;

fuzz_target!(|data: &[u8]| {
    let _ = fz::form_post(data);
    let _ = fz::callback_url(&String::from_utf8_lossy(data));
});
