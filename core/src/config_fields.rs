//! Typed values read out of one table of the configuration, with errors that name the
//! section and key.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Reads typed values out of one config table, naming the section and key on error and
/// refusing keys nobody read.
pub(crate) struct Fields {
    section: String,
    map: Map<String, Value>,
}

impl Fields {
    pub(crate) fn new(section: impl Into<String>, map: Map<String, Value>) -> Self {
        Self {
            section: section.into(),
            map,
        }
    }

    /// Where `key` is, as errors name it: `profile 'p', key 'scopes'`.
    pub(crate) fn location(&self, key: &str) -> String {
        format!("{}, key '{key}'", self.section)
    }

    pub(crate) fn error(&self, key: &str, reason: impl Into<String>) -> Error {
        Error::config(self.location(key), reason)
    }

    pub(crate) fn string(&mut self, key: &str) -> Result<Option<String>> {
        match self.map.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Err(self.error(key, "must not be empty")),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(self.error(key, "must be a string")),
        }
    }

    pub(crate) fn boolean(&mut self, key: &str) -> Result<Option<bool>> {
        match self.map.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(_) => Err(self.error(key, "must be true or false")),
        }
    }

    pub(crate) fn number(&mut self, key: &str) -> Result<Option<f64>> {
        match self.map.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(_) => Err(self.error(key, "must be a number")),
        }
    }

    pub(crate) fn strings(&mut self, key: &str) -> Result<Option<Vec<String>>> {
        match self.map.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.split_whitespace().map(str::to_owned).collect())),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) if !s.is_empty() => Ok(s),
                    _ => Err(self.error(key, "must be a list of non-empty strings")),
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(_) => Err(self.error(key, "must be a list of strings")),
        }
    }

    pub(crate) fn string_map(&mut self, key: &str) -> Result<Vec<(String, String)>> {
        match self.map.remove(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Object(m)) => m
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k, s)),
                    _ => Err(self.error(key, format!("value of '{k}' must be a string"))),
                })
                .collect(),
            Some(_) => Err(self.error(key, "must be a table of strings")),
        }
    }

    pub(crate) fn remaining_keys(&self) -> impl Iterator<Item = &String> {
        self.map.keys()
    }

    pub(crate) fn finish(self, known: &[&str]) -> Result<()> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(key) => Err(self.error(
                key,
                format!("unknown key (known here: {})", known.join(", ")),
            )),
        }
    }
}
