//! Configuration: named profiles from a TOML file or a binding's dict, plus cache and HTTP
//! settings. Everything is checked here, so a bad value fails before any request is sent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::config_fields::Fields;
use crate::error::{Error, Result};
pub use crate::http::HttpConfig;
use crate::limits;
use crate::profile::Profile;

mod cache;
mod redis;
mod secrets;

pub use cache::{CacheConfig, StoreKind};
pub use secrets::SecretsConfig;

/// Most retries `[http] max_retries` may ask for.
const MAX_RETRIES: u64 = 10;

/// A whole configuration: profiles by name, cache and HTTP settings.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Profiles by name.
    pub(crate) profiles: BTreeMap<String, Profile>,
    /// Cache settings.
    pub(crate) cache: CacheConfig,
    /// HTTP settings.
    pub(crate) http: HttpConfig,
    /// `[secrets]`: an external secret store (credential helper) for refresh and
    /// registration tokens, instead of the cache tier.
    pub(crate) secrets: Option<SecretsConfig>,
    /// Profiles that failed to load, with why: each reports its error when used, and the
    /// others work. `doctor` lists them.
    pub(crate) broken: BTreeMap<String, Error>,
}

impl Config {
    /// Finds the config file (explicit path, then `TOKENBROKER_CONFIG`, then
    /// `~/.config/tokenbroker/config.toml`) and loads it.
    pub fn discover(path: Option<&Path>) -> Result<Self> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => match std::env::var_os("TOKENBROKER_CONFIG") {
                Some(p) => PathBuf::from(p),
                None => dirs::config_dir()
                    .map(|d| d.join("tokenbroker").join("config.toml"))
                    .ok_or_else(|| Error::config("config", "no user config directory"))?,
            },
        };
        Self::load(&path)
    }

    /// Loads a TOML file. Literal secrets are refused when the file is readable by others.
    pub fn load(path: &Path) -> Result<Self> {
        let where_ = path.display().to_string();
        let text = crate::regular_file::read_text(path)
            .map_err(|e| Error::config(&where_, format!("cannot read: {e}")))?;
        let parsed = parse_toml(&text).map_err(|e| match e {
            Error::Config { location, reason } if location == "config" => {
                Error::config(&where_, reason)
            }
            other => other,
        })?;
        let config = Self::from_parsed(parsed)?;
        // A broken profile was never parsed, so it may hold a literal secret too.
        let secret_inside =
            !config.broken.is_empty() || config.profiles.values().any(Profile::has_literal_secret);
        if secret_inside && shared_readable(path) {
            return Err(Error::config(
                &where_,
                "holds a literal secret (or a profile that does not load, which may) but is \
                 readable by group or others; run `chmod 600` on it or use env:NAME / file:PATH",
            ));
        }
        Ok(config)
    }

    /// Parses TOML text (no file permission check).
    pub fn from_toml_str(text: &str) -> Result<Self> {
        Self::from_parsed(parse_toml(text)?)
    }

    fn from_parsed((value, broken): (Value, BTreeMap<String, Error>)) -> Result<Self> {
        let mut config = Self::from_value(value)?;
        config.broken.extend(broken);
        Ok(config)
    }

    /// Builds a configuration from a dict/object of the same shape as the TOML file. A
    /// profile that does not load goes to [`Config::broken`]; a bad section fails the whole.
    pub fn from_value(value: Value) -> Result<Self> {
        let Value::Object(mut top) = value else {
            return Err(Error::config("config", "must be a table/object"));
        };
        let mut config = Config::default();
        if let Some(profiles) = top.remove("profiles") {
            let Value::Object(profiles) = profiles else {
                return Err(Error::config("config", "'profiles' must be a table"));
            };
            for (name, raw) in profiles {
                let loaded = match raw {
                    Value::Object(raw) => Profile::from_map(&name, raw),
                    _ => Err(Error::config(
                        format!("profile '{name}'"),
                        "must be a table",
                    )),
                };
                match loaded {
                    Ok(profile) => config.profiles.insert(name, profile).map(drop),
                    Err(e) => config.broken.insert(name, e).map(drop),
                };
            }
        }
        if let Some(cache) = top.remove("cache") {
            config.cache = cache::parse(table(cache, "cache")?)?;
        }
        if let Some(http) = top.remove("http") {
            config.http = parse_http(table(http, "http")?)?;
        }
        if let Some(secrets) = top.remove("secrets") {
            config.secrets = Some(secrets::parse(table(secrets, "secrets")?)?);
        }
        if let Some(key) = top.keys().next() {
            return Err(Error::config(
                "config",
                format!("unknown section '{key}' (known: profiles, cache, http, secrets)"),
            ));
        }
        Ok(config)
    }

    /// The profiles that loaded, by name.
    pub fn profiles(&self) -> impl Iterator<Item = (&str, &Profile)> {
        self.profiles.iter().map(|(name, p)| (name.as_str(), p))
    }

    /// The profiles that failed to load, with why (each reports its error when used).
    pub fn broken(&self) -> impl Iterator<Item = (&str, &Error)> {
        self.broken.iter().map(|(name, why)| (name.as_str(), why))
    }

    /// The `[cache]` settings.
    pub fn cache(&self) -> &CacheConfig {
        &self.cache
    }

    /// The profile called `name`; for a broken one, its own error; else a config error
    /// listing the known ones.
    pub fn profile(&self, name: &str) -> Result<&Profile> {
        if let Some(why) = self.broken.get(name) {
            return Err(why.clone());
        }
        self.profiles.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
            Error::config(
                format!("profile '{name}'"),
                format!("no such profile (known: {})", known.join(", ")),
            )
        })
    }
}

/// Parses TOML into the dict shape. `nan` and `inf` are refused here, naming the key, since
/// JSON (and so [`Config::from_value`]) would see them as absent; in a profile they break that
/// profile only (returned by name, and left out of the value).
fn parse_toml(text: &str) -> Result<(Value, BTreeMap<String, Error>)> {
    let not_toml =
        |e: toml::de::Error| Error::config("config", format!("not valid TOML: {}", e.message()));
    let table: toml::Table = toml::from_str(text).map_err(not_toml)?;
    let mut broken = BTreeMap::new();
    for (name, value) in &table {
        match (name.as_str(), value) {
            ("profiles", toml::Value::Table(profiles)) => {
                for (profile, raw) in profiles {
                    if let Err(e) = check_finite(raw, &mut vec!["profiles", profile.as_str()]) {
                        broken.insert(profile.clone(), e);
                    }
                }
            }
            _ => check_finite(value, &mut vec![name.as_str()])?,
        }
    }
    let mut value: Value = toml::from_str(text).map_err(not_toml)?;
    if let Some(Value::Object(profiles)) = value.get_mut("profiles") {
        profiles.retain(|name, _| !broken.contains_key(name));
    }
    Ok((value, broken))
}

fn check_finite<'a>(value: &'a toml::Value, path: &mut Vec<&'a str>) -> Result<()> {
    match value {
        toml::Value::Float(f) if !f.is_finite() => {
            let location = match path.as_slice() {
                ["profiles", name, key @ ..] => {
                    format!("profile '{name}', key '{}'", key.join("."))
                }
                [section, key @ ..] => format!("[{section}], key '{}'", key.join(".")),
                [] => "config".into(),
            };
            Err(Error::config(location, "must be a finite number"))
        }
        toml::Value::Table(t) => t.iter().try_for_each(|(k, v)| {
            path.push(k);
            let r = check_finite(v, path);
            path.pop();
            r
        }),
        toml::Value::Array(items) => items.iter().try_for_each(|v| check_finite(v, path)),
        _ => Ok(()),
    }
}

fn table(value: Value, section: &str) -> Result<Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(Error::config(section, "must be a table")),
    }
}

fn shared_readable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o077 != 0)
        .unwrap_or(false)
}

fn parse_http(map: Map<String, Value>) -> Result<HttpConfig> {
    let mut f = Fields::new("[http]", map);
    let mut h = HttpConfig::default();
    let positive = |f: &Fields, key: &str, v: f64| match limits::span(v) {
        Some(span) if !span.is_zero() => Ok(v),
        _ => Err(f.error(
            key,
            format!(
                "must be a positive number of seconds, at most {} (10 years)",
                limits::MAX_SECONDS
            ),
        )),
    };
    if let Some(v) = f.number("connect_timeout")? {
        h.connect_timeout_secs = positive(&f, "connect_timeout", v)?;
    }
    if let Some(v) = f.number("timeout")? {
        h.timeout_secs = positive(&f, "timeout", v)?;
    }
    if let Some(v) = f.number("deadline")? {
        h.deadline_secs = positive(&f, "deadline", v)?;
    }
    if let Some(v) = f.number("max_retries")? {
        h.max_retries = limits::count(v, 0..=MAX_RETRIES).ok_or_else(|| {
            f.error(
                "max_retries",
                format!("must be a whole number from 0 to {MAX_RETRIES}"),
            )
        })? as u32;
    }
    if let Some(v) = f.number("max_retry_wait")? {
        h.max_retry_wait_secs = positive(&f, "max_retry_wait", v)?;
    }
    h.ca_file = f.string("ca_file")?.map(PathBuf::from);
    f.finish(&[
        "connect_timeout",
        "timeout",
        "deadline",
        "max_retries",
        "max_retry_wait",
        "ca_file",
    ])?;
    Ok(h)
}
