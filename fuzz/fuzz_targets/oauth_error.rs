//! A non-2xx body of any OAuth endpoint (RFC 6749 §5.2 error, HTML page, anything).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenbroker::advanced::fuzzing as fz;

fuzz_target!(|input: (u16, bool, &[u8])| {
    let (status, html, body) = input;
    let ct = if html { "text/html" } else { "application/json" };
    let _ = fz::error_response(&fz::response(status, Some(ct), body)).to_string();
});
