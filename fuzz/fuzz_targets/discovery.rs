//! An OpenID Connect / RFC 8414 metadata document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenbroker::advanced::fuzzing as fz;

fuzz_target!(|body: &[u8]| {
    let _ = fz::discovery_document(&fz::response(200, None, body));
});
