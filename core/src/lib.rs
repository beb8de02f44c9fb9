//! tokenbroker: one OAuth 2.0 credential broker for every language.
//!
//! The core holds every piece of logic: provider presets, token flows, validation, the HTTP
//! policy and the token cache. The Python, Node, Kotlin and Swift bindings only convert types.
//!
//! An application needs what the crate root exports: a [`Broker`] built from a [`Config`];
//! [`TokenOptions`], [`LoginOptions`] and [`DeviceLoginOptions`] (each with a `from_args` that
//! parses and checks a caller's values); the [`AccessToken`] it hands out; the sign-in types
//! ([`PendingLogin`], [`DeviceAuthorization`]); client registration ([`ClientMetadata`],
//! [`RegisteredClient`]); a custom [`SecretStore`]; [`Error`] / [`ErrorKind`]; and the
//! [`bearer`] rules an HTTP client adapter follows. The building blocks the bindings, the CLI
//! and the tests use on their own (flows, the HTTP policy, cache tiers, presets, log
//! forwarding) are in [`advanced`].

pub mod advanced;
pub mod bearer;
mod broker;
mod cache;
mod child_env;
mod config;
mod config_fields;
mod discovery;
mod error;
mod flow;
mod fork;
mod fuzzing;
mod http;
mod id_token;
mod limits;
mod local_server;
mod locks;
mod logs;
mod options;
mod options_builders;
mod profile;
mod provider;
mod redact;
mod registration;
mod regular_file;
mod runtime;
mod scopes;
mod secret;
mod stats;
mod token;
mod untrusted_text;
mod validate;

pub use broker::{
    Broker, DeviceLoginOptions, LoginFlow, LoginOptions, PendingLogin, ProfileHandle, TokenOptions,
    UrlCallback,
};
pub use cache::{EntryInfo, SecretStore};
pub use config::Config;
pub use error::{Error, ErrorKind, OAuthError, Result};
pub use flow::device::DeviceAuthorization;
pub use limits::seconds_arg;
pub use registration::{ClientMetadata, RegisteredClient, SecretPlacement};
pub use scopes::ScopesArg;
pub use secret::Secret;
pub use stats::{StatEntry, Stats};
pub use token::{AccessToken, TokenSet};
