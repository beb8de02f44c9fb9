//! Builders of the option types, for Rust callers: the types are `#[non_exhaustive]`, so a
//! new option never breaks a caller, and each starts from its `Default`.
//!
//! ```
//! use std::time::Duration;
//! use tokenbroker::TokenOptions;
//!
//! let options = TokenOptions::default()
//!     .with_scopes(["read", "write"])
//!     .with_min_ttl(Duration::from_secs(60));
//! assert_eq!(options.scopes.as_deref(), Some(&["read".to_owned(), "write".to_owned()][..]));
//! ```
//!
//! A struct literal would break when an option is added, so it does not compile:
//!
//! ```compile_fail
//! let options = tokenbroker::TokenOptions { force_refresh: true, ..Default::default() };
//! ```

use std::time::Duration;

use crate::broker::{DeviceLoginOptions, LoginOptions, TokenOptions, UrlCallback};

fn owned<S: Into<String>>(scopes: impl IntoIterator<Item = S>) -> Option<Vec<String>> {
    Some(scopes.into_iter().map(Into::into).collect())
}

impl TokenOptions {
    /// Requests these scopes instead of the profile's.
    pub fn with_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = owned(scopes);
        self
    }

    /// The token must stay valid at least this long.
    pub fn with_min_ttl(mut self, min_ttl: Duration) -> Self {
        self.min_ttl = min_ttl;
        self
    }

    /// Fetches a new token even if a valid one is cached.
    pub fn with_force_refresh(mut self, force_refresh: bool) -> Self {
        self.force_refresh = force_refresh;
        self
    }

    /// The [`AccessToken::id`](crate::AccessToken::id) of a token the API refused (HTTP 401).
    pub fn with_rejected(mut self, token_id: u64) -> Self {
        self.rejected = Some(token_id);
        self
    }
}

impl LoginOptions {
    /// Whether to open the system browser on the authorization URL.
    pub fn with_open_browser(mut self, open_browser: bool) -> Self {
        self.open_browser = open_browser;
        self
    }

    /// How long to wait for the browser to come back.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Requests these scopes instead of the profile's.
    pub fn with_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = owned(scopes);
        self
    }

    /// Told the authorization URL (to print it, or to drive a browser).
    pub fn with_on_url(mut self, on_url: UrlCallback) -> Self {
        self.on_url = Some(on_url);
        self
    }
}

impl DeviceLoginOptions {
    /// Requests these scopes instead of the profile's.
    pub fn with_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = owned(scopes);
        self
    }

    /// How long to wait for the user's approval (default: until the device code expires).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}
