//! A `Retry-After` header value (delay-seconds or an HTTP date).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenbroker::advanced::fuzzing as fz;

fuzz_target!(|value: &str| {
    let _ = fz::retry_after(value);
});
