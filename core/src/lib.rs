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

pub mod advanced {
    //! Building blocks the bindings, the CLI and the tests use directly: single flows, the
    //! HTTP policy, cache tiers and keys, presets, resolved profiles, the shared runtime. An
    //! application normally needs none of them; they may change between minor versions.

    pub use crate::{
        broker, cache, child_env, config, discovery, flow, http, id_token, local_server, logs,
        profile, provider, redact, registration, regular_file, runtime,
    };
}

pub mod bearer;
#[doc(hidden)]
pub mod broker;
#[doc(hidden)]
pub mod cache;
#[doc(hidden)]
pub mod child_env;
#[doc(hidden)]
pub mod config;
mod config_fields;
#[doc(hidden)]
pub mod discovery;
mod error;
#[doc(hidden)]
pub mod flow;
mod fork;
#[doc(hidden)]
pub mod fuzzing;
#[doc(hidden)]
pub mod http;
#[doc(hidden)]
pub mod id_token;
mod limits;
#[doc(hidden)]
pub mod local_server;
mod locks;
#[doc(hidden)]
pub mod logs;
mod options;
#[doc(hidden)]
pub mod profile;
#[doc(hidden)]
pub mod provider;
#[doc(hidden)]
pub mod redact;
mod redis_config;
#[doc(hidden)]
pub mod registration;
#[doc(hidden)]
pub mod regular_file;
#[doc(hidden)]
pub mod runtime;
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
pub use options::ScopesArg;
pub use registration::{ClientMetadata, RegisteredClient, SecretPlacement};
pub use secret::Secret;
pub use stats::{StatEntry, Stats};
pub use token::{AccessToken, TokenSet};
