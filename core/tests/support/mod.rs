//! Core test support: the shared testkit (test servers and their admin API) and a broker built
//! from TOML with `{P}` standing for the test provider's URL.
#![allow(dead_code, unused_imports)]

pub use tokenbroker_testkit::*;

/// A broker over TOML text with `{P}` replaced by the test provider's URL.
pub fn broker(toml: &str) -> tokenbroker::Broker {
    let text = toml.replace("{P}", &provider_url());
    let config = tokenbroker::Config::from_toml_str(&text).expect("test config");
    tokenbroker::Broker::new(config).expect("broker")
}
