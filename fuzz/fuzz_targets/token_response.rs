//! A token endpoint's body (any status the flows accept as a token answer).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenbroker::advanced::fuzzing as fz;

fuzz_target!(|body: &[u8]| {
    let _ = fz::token_response(&fz::response(200, Some("application/json"), body));
});
