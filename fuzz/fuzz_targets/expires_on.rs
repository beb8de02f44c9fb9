//! `expires_on` (epoch seconds, HTTP date or RFC 3339), as JSON and as plain text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tokenbroker::advanced::fuzzing as fz;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        let _ = fz::instant(&value);
    }
    let text = String::from_utf8_lossy(data).into_owned();
    let _ = fz::instant(&Value::String(text));
});
