//! uniffi binding of tokenbroker for Kotlin (package `dev.tokenbroker`) and Swift (module
//! `TokenBroker`): type and error conversion only, every behaviour lives in the core.
//!
//! Every operation of `api/operations.json` is a method of [`Broker`]: those that do I/O are
//! `async` (Kotlin `suspend fun`, Swift `async`), each with a `...Blocking` twin. Async methods run
//! the core future on the core's one runtime ([`tokenbroker::advanced::runtime::handle`]) and await
//! its `JoinHandle`, so the future uniffi hands to Kotlin or Swift needs no runtime of its own.

// `TokenBrokerError` is the shape Kotlin and Swift see (uniffi lowers it by value, on the error
// path only); boxing its fields would change nothing for them.
#![allow(clippy::result_large_err)]

uniffi::setup_scaffolding!("tokenbroker");

mod bearer;
mod broker;
mod calls;
mod errors;
mod logging;
mod login;
mod registration;
mod secret_store;
mod token;

pub use bearer::{keeps_token, retry_with_new_token};
pub use broker::Broker;
pub use errors::TokenBrokerError;
pub use logging::{LogLevel, LogRecord, Logger, set_logger};
pub use login::{DeviceCode, DeviceCodeListener, LoginUrlListener, PendingLogin};
pub use registration::RegisteredClient;
pub use secret_store::SecretStore;
pub use token::{AccessToken, CacheEntry, Stats};
