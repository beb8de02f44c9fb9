//! A config file's text, and the HTTP client built from its `[http]` section.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenbroker::advanced::fuzzing as fz;

fuzz_target!(|text: &str| {
    let _ = fz::config_toml(text);
});
