//! ID tokens: header and claims signed with the fixed test key (so fuzzed claims reach the
//! claim checks), or the raw token text (header decoding, signature parsing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenbroker::advanced::fuzzing as fz;

fuzz_target!(|input: (bool, &[u8], &[u8])| {
    let (signed, header, claims) = input;
    let jwks = fz::signing_jwks();
    let token = if signed {
        fz::signed_id_token(header, claims)
    } else {
        String::from_utf8_lossy(claims).into_owned()
    };
    let _ = fz::id_token(&token, &jwks);
});
