//! The `[secrets]` table: an external secret store behind a credential helper (see
//! `cache::helper` for how the helper is run).

use std::time::Duration;

use serde_json::{Map, Value};

use crate::config_fields::Fields;
use crate::error::Result;

/// The default `[secrets] timeout`, in seconds.
const DEFAULT_TIMEOUT_SECS: f64 = 10.0;

/// `[secrets]` settings: the credential helper's argument vector and its timeout.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretsConfig {
    /// The program and its leading arguments; the operation is appended.
    pub command: Vec<String>,
    /// How long one helper run may take.
    pub timeout: Duration,
}

/// Parses the `[secrets]` table.
pub(crate) fn parse(map: Map<String, Value>) -> Result<SecretsConfig> {
    let mut f = Fields::new("[secrets]", map.clone());
    if map.get("command").is_some_and(|c| !c.is_array()) {
        return Err(f.error(
            "command",
            "must be an array: the program, then its arguments (no shell is used)",
        ));
    }
    let command = f.strings("command")?.ok_or_else(|| {
        f.error(
            "command",
            "is required: the helper program and its arguments",
        )
    })?;
    if command.first().is_none_or(|p| p.is_empty()) {
        return Err(f.error("command", "must start with the helper program"));
    }
    let secs = f.number("timeout")?.unwrap_or(DEFAULT_TIMEOUT_SECS);
    if !(secs > 0.0 && secs <= 600.0) {
        return Err(f.error("timeout", "must be between 0 and 600 seconds"));
    }
    f.finish(&["command", "timeout"])?;
    Ok(SecretsConfig {
        command,
        timeout: Duration::from_secs_f64(secs),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_table_is_checked_and_errors_name_the_key() {
        let parse = |v: Value| parse(v.as_object().unwrap().clone());
        let ok = parse(json!({"command": ["helper", "--vault", "v"], "timeout": 2})).unwrap();
        assert_eq!(ok.command, ["helper", "--vault", "v"]);
        assert_eq!(ok.timeout, Duration::from_secs(2));
        for (bad, key) in [
            (json!({}), "command"),
            (json!({"command": []}), "command"),
            (json!({"command": "helper get"}), "command"),
            (json!({"command": ["h"], "timeout": 0}), "timeout"),
            (json!({"command": ["h"], "shell": true}), "shell"),
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains("[secrets]") && err.contains(key), "{err}");
        }
    }
}
