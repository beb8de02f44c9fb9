//! `uniffi-bindgen generate --library target/debug/libtokenbroker_uniffi.so --language kotlin|swift --out-dir DIR`

fn main() {
    uniffi::uniffi_bindgen_main()
}
