//! The HTTP policy: connection pools built on first use and shared by brokers with the same
//! settings, timeouts, HTTPS except on loopback, no redirects on token calls, bounded bodies,
//! and retries with backoff that honour `Retry-After`.

mod client;
mod config;
mod endpoint;
mod request;
mod response;
mod retry;
mod transport;

pub use client::HttpClient;
pub use config::HttpConfig;
pub use endpoint::{check_endpoint, endpoint_name, is_loopback};
pub use request::{Body, FormValue, Request};
pub use response::{MAX_BODY_BYTES, Response};
pub use retry::{Retry, parse_retry_after};
pub(crate) use transport::lock_for_fork;
