//! A JWKS document; every set that parses is then used to check a validly signed ID token,
//! so fuzzed keys reach the key conversion and signature code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenbroker::advanced::fuzzing as fz;

fuzz_target!(|body: &[u8]| {
    if let Ok(set) = fz::jwks(&fz::response(200, None, body)) {
        for header in [&br#"{"alg":"EdDSA"}"#[..], br#"{"alg":"ES256","kid":"k1"}"#] {
            let _ = fz::id_token(&fz::signed_id_token(header, b"{}"), &set);
        }
    }
});
