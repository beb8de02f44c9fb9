//! RFC 7591 registration and RFC 7592 management (read, update, delete) of one client.
//!
//! Registration is a POST of the metadata to the registration endpoint, optionally with an
//! initial access token. Management goes to the client's `registration_client_uri` with the
//! registration access token the server issued. A server may rotate that token on a read or
//! an update: the new one arrives in the response and the old one stops working, so callers
//! must keep the newest (the broker does, see `Broker::update_client`).

use reqwest::Method;
use serde_json::Value;
use url::Url;

use crate::error::{Error, Result};
use crate::http::{HttpClient, Retry, check_endpoint};
use crate::registration::client::RegisteredClient;
use crate::registration::metadata::ClientMetadata;
use crate::registration::response::{json_request, send_checked};
use crate::secret::Secret;

/// Registers a client (RFC 7591 §3.1) and returns what the server issued.
///
/// The metadata is validated first (a config error, nothing sent). The POST is retried only
/// when it surely did not take effect (connection refused, 429, 503), since repeating a
/// registration the server did process would create a second client.
pub async fn register(
    http: &HttpClient,
    registration_url: &Url,
    metadata: &ClientMetadata,
    initial_access_token: Option<&Secret>,
) -> Result<RegisteredClient> {
    metadata.validate()?;
    let url = checked(registration_url, "registration_url")?;
    let request = json_request(
        Method::POST,
        url,
        Some(metadata.to_json()),
        initial_access_token,
        Retry::OnlyUnprocessed,
    );
    let resp = send_checked(http, &request).await?;
    let client = RegisteredClient::from_response(&resp)?;
    if let Some(uri) = &client.registration_client_uri {
        check_endpoint(uri.as_str()).map_err(|r| Error::InvalidResponse {
            endpoint: resp.endpoint.clone(),
            status: Some(resp.status),
            reason: format!("'registration_client_uri': {r}"),
        })?;
    }
    Ok(client)
}

/// Reads a client's current registration (RFC 7592 §2.1). The response may carry a new
/// client secret or a rotated registration access token.
pub async fn read(
    http: &HttpClient,
    registration_client_uri: &Url,
    registration_access_token: &Secret,
) -> Result<RegisteredClient> {
    let url = checked(registration_client_uri, "registration_client_uri")?;
    let request = json_request(
        Method::GET,
        url,
        None,
        Some(registration_access_token),
        Retry::Idempotent,
    );
    let resp = send_checked(http, &request).await?;
    RegisteredClient::from_response(&resp)
}

/// Replaces a client's metadata (RFC 7592 §2.2): a PUT of the full metadata plus
/// `client_id`. Fields left out are removed or reset by the server, so start from the
/// metadata of the last read. The response may carry a rotated registration access token,
/// which then replaces the old one (the old one stops working).
pub async fn update(
    http: &HttpClient,
    registration_client_uri: &Url,
    registration_access_token: &Secret,
    client_id: &str,
    metadata: &ClientMetadata,
) -> Result<RegisteredClient> {
    metadata.validate()?;
    if client_id.is_empty() {
        return Err(Error::config("client_id", "must not be empty"));
    }
    let url = checked(registration_client_uri, "registration_client_uri")?;
    let mut body = metadata.as_map().clone();
    body.insert("client_id".into(), Value::String(client_id.to_owned()));
    let request = json_request(
        Method::PUT,
        url,
        Some(Value::Object(body)),
        Some(registration_access_token),
        Retry::Idempotent,
    );
    let resp = send_checked(http, &request).await?;
    let client = RegisteredClient::from_response(&resp)?;
    if client.client_id != client_id {
        return Err(Error::InvalidResponse {
            endpoint: resp.endpoint,
            status: Some(resp.status),
            reason: format!(
                "the update of client '{client_id}' answered for client '{}'",
                client.client_id
            ),
        });
    }
    Ok(client)
}

/// Deletes a client (RFC 7592 §2.3). Afterwards the server refuses its client id everywhere,
/// and its registration access token no longer works.
pub async fn delete(
    http: &HttpClient,
    registration_client_uri: &Url,
    registration_access_token: &Secret,
) -> Result<()> {
    let url = checked(registration_client_uri, "registration_client_uri")?;
    let request = json_request(
        Method::DELETE,
        url,
        None,
        Some(registration_access_token),
        Retry::Idempotent,
    );
    send_checked(http, &request).await?;
    Ok(())
}

/// The URL when it is https, or http on loopback; else a config error naming `what`.
fn checked(url: &Url, what: &str) -> Result<Url> {
    check_endpoint(url.as_str()).map_err(|reason| Error::config(what, reason))
}
