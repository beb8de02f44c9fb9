//! Client registration and management: RFC 7591 dynamic registration, RFC 7592 management,
//! and the Alvaria organisation client API (seed 002).
//!
//! - [`ClientMetadata`] holds what is sent and checks it before sending;
//! - [`RegisteredClient`] is what the server answered, credentials kept as [`Secret`]s;
//! - [`rfc7592`] and [`alvaria`] are the wire protocols, usable without a broker;
//! - the `Broker` methods `register_client`, `read_client`, `update_client`,
//!   `delete_client` and `list_clients` choose the protocol from the profile's preset and
//!   keep RFC 7592 registration access tokens in the broker's secret store;
//! - [`RegisteredClient::to_profile`] turns issued credentials into a new profile.
//!
//! Every non-2xx answer is an [`Error::Registration`](crate::Error::Registration) with the
//! status and a reason; 429 and 5xx are retried by the HTTP policy where that is safe.
//!
//! [`Secret`]: crate::Secret

pub mod alvaria;
mod broker;
mod client;
mod metadata;
mod new_profile;
mod response;
pub mod rfc7592;

pub use broker::{registration_token_name, registration_uri_name};
pub use client::RegisteredClient;
pub use metadata::{ClientMetadata, SERVER_FIELDS};
pub use new_profile::{SecretPlacement, profile_toml};
pub use response::registration_error;
