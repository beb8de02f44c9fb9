//! Building blocks the bindings, the CLI and the tests use directly: single flows, the HTTP
//! policy, cache tiers and keys, presets, resolved profiles, the shared runtime, log
//! forwarding. An application normally needs none of them; they may change between minor
//! versions.
//!
//! Each module here shows the public items of the crate module of the same name (for
//! `broker` and `config`, only those the crate root does not already export), so every
//! building block has one public path (`tokenbroker::advanced::cache::FileStore`) while the
//! crate's own modules stay private. Log targets keep the crate's module paths
//! (`tokenbroker::flow`, `tokenbroker::cache`, …).
//!
//! The crate's modules themselves are not a second way in:
//!
//! ```compile_fail
//! use tokenbroker::cache::FileStore;
//! ```
//!
//! ```
//! use tokenbroker::advanced::cache::FileStore;
//! ```

/// One profile's broker state, built by hand in tests of single flows.
pub mod broker {
    pub use crate::broker::ProfileState;
}

/// Cache tiers (memory, file, Redis), cache keys, the cache cipher, secret stores.
pub mod cache {
    pub use crate::cache::*;
}

/// Removing tokenbroker's secret variables from a child process's environment.
pub mod child_env {
    pub use crate::child_env::*;
}

/// The `[cache]` and `[http]` sections of a [`Config`](crate::Config).
pub mod config {
    pub use crate::config::{CacheConfig, HttpConfig, SecretsConfig, StoreKind};
}

/// OpenID Connect / RFC 8414 discovery documents.
pub mod discovery {
    pub use crate::discovery::*;
}

/// The single OAuth flows (client credentials, refresh, authorization code, device, loopback).
pub mod flow {
    pub use crate::flow::*;
}

/// Entry points for the fuzz targets and property tests; not a stable interface.
pub mod fuzzing {
    pub use crate::fuzzing::*;
}

/// The HTTP policy: requests, retries, limits, the shared transports.
pub mod http {
    pub use crate::http::*;
}

/// ID token validation.
pub mod id_token {
    pub use crate::id_token::*;
}

/// The small local HTTP server of the loopback listener and the CLI sidecar.
pub mod local_server {
    pub use crate::local_server::*;
}

/// Forwarding the core's log events to a binding's logger, redacted.
pub mod logs {
    pub use crate::logs::*;
}

/// Resolved profiles and their typed endpoints.
pub mod profile {
    pub use crate::profile::*;
}

/// Provider presets (data) and the parameters they describe.
pub mod provider {
    pub use crate::provider::*;
}

/// Redaction of secrets and untrusted text in messages.
pub mod redact {
    pub use crate::redact::*;
}

/// RFC 7591/7592 client registration and the providers' variants.
pub mod registration {
    pub use crate::registration::*;
}

/// Reading configuration and secret files that must be regular files.
pub mod regular_file {
    pub use crate::regular_file::*;
}

/// The one tokio runtime of a process.
pub mod runtime {
    pub use crate::runtime::*;
}
