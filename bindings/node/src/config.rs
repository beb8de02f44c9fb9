//! The config a `Broker` is built from, as JavaScript hands it over.

use serde_json::Value;
use tokenbroker::Config;

use crate::errors::to_napi;

/// A config object of the same shape as the TOML file, or TOML text; without one
/// (`undefined`/`null`), the config file (`TOKENBROKER_CONFIG`, else the user's default).
pub(crate) fn from_js(config: Option<Value>) -> napi::Result<Config> {
    match config {
        None | Some(Value::Null) => Config::discover(None),
        Some(Value::String(text)) => Config::from_toml_str(&text),
        Some(value) => Config::from_value(value),
    }
    .map_err(to_napi)
}
