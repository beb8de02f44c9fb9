//! tokenbroker: one OAuth 2.0 credential broker for every language.
//!
//! The core holds every piece of logic: provider presets, token flows, validation, the HTTP
//! policy and the token cache. The Python, Node, Kotlin and Swift bindings only convert types.

pub mod broker;
pub mod cache;
pub mod child_env;
pub mod config;
mod config_fields;
pub mod discovery;
pub mod error;
pub mod flow;
mod fork;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod id_token;
pub mod limits;
pub mod local_server;
mod locks;
pub mod profile;
pub mod provider;
pub mod redact;
mod redis_config;
pub mod registration;
pub mod regular_file;
pub mod runtime;
pub mod secret;
pub mod stats;
pub mod token;
mod untrusted_text;
pub mod validate;

pub use broker::{Broker, LoginOptions, PendingLogin, ProfileHandle, TokenOptions};
pub use config::Config;
pub use error::{Error, ErrorKind, OAuthError, Result};
pub use limits::seconds_arg;
pub use secret::Secret;
pub use stats::Stats;
pub use token::{AccessToken, TokenSet};
