//! The Alvaria Cloud client-management API (seed 002): list, create, get, update and delete
//! OAuth clients of an organisation at `/via/v1/organizations/{org}/oauth/clients[/{id}]`.
//!
//! Every call carries `Authorization: Bearer` with a client-credentials token holding the
//! operation's `myaccount.clients.*` scope, and the organisation's `x-api-key`. `scope` is
//! required on create and update. The client secret appears once, in the create response;
//! list and get never return it.

use reqwest::Method;
use url::Url;

use crate::error::{Error, Result};
use crate::http::{HttpClient, Request, Retry, check_endpoint};
use crate::registration::client::RegisteredClient;
use crate::registration::metadata::ClientMetadata;
use crate::registration::response::{json_request, send_checked};
use crate::secret::Secret;

/// One operation of the API, each with the scope its token needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `GET …/clients`.
    List,
    /// `POST …/clients`.
    Create,
    /// `GET …/clients/{id}`.
    View,
    /// `PUT …/clients/{id}`.
    Modify,
    /// `DELETE …/clients/{id}`.
    Delete,
}

impl Operation {
    /// The scope a token needs for this operation, e.g. `myaccount.clients.create`.
    pub fn scope(self) -> &'static str {
        match self {
            Operation::List => "myaccount.clients.list",
            Operation::Create => "myaccount.clients.create",
            Operation::View => "myaccount.clients.view",
            Operation::Modify => "myaccount.clients.modify",
            Operation::Delete => "myaccount.clients.delete",
        }
    }
}

/// The credentials of one call: a bearer token with the operation's scope and the API key.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    /// A client-credentials access token from the Alvaria token service.
    pub access_token: &'a Secret,
    /// The organisation's API key, sent as `x-api-key`.
    pub api_key: &'a Secret,
}

impl Credentials<'_> {
    fn request(
        &self,
        method: Method,
        url: Url,
        body: Option<serde_json::Value>,
        retry: Retry,
    ) -> Request {
        let mut request = json_request(method, url, body, Some(self.access_token), retry);
        request
            .headers
            .push(("x-api-key".into(), self.api_key.clone()));
        request
    }
}

/// Lists the organisation's clients (no secrets).
pub async fn list(
    http: &HttpClient,
    clients_url: &Url,
    credentials: Credentials<'_>,
) -> Result<Vec<RegisteredClient>> {
    let url = checked(clients_url)?;
    let request = credentials.request(Method::GET, url, None, Retry::Idempotent);
    let resp = send_checked(http, &request).await?;
    RegisteredClient::list_from_response(&resp)
}

/// Creates a client. The response holds its `client_secret`, the only time it is shown.
///
/// Retried only when the request surely did not take effect (connection refused, 429, 503):
/// repeating a processed create would make a second client.
pub async fn create(
    http: &HttpClient,
    clients_url: &Url,
    credentials: Credentials<'_>,
    metadata: &ClientMetadata,
) -> Result<RegisteredClient> {
    check_metadata(metadata)?;
    let url = checked(clients_url)?;
    let body = Some(metadata.to_json());
    let request = credentials.request(Method::POST, url, body, Retry::OnlyUnprocessed);
    let resp = send_checked(http, &request).await?;
    RegisteredClient::from_response(&resp)
}

/// Reads one client (no secret).
pub async fn get(
    http: &HttpClient,
    clients_url: &Url,
    credentials: Credentials<'_>,
    client_id: &str,
) -> Result<RegisteredClient> {
    let url = client_url(clients_url, client_id)?;
    let request = credentials.request(Method::GET, url, None, Retry::Idempotent);
    let resp = send_checked(http, &request).await?;
    RegisteredClient::from_response(&resp)
}

/// Replaces one client's metadata (`scope` required; fields left out are reset).
pub async fn update(
    http: &HttpClient,
    clients_url: &Url,
    credentials: Credentials<'_>,
    client_id: &str,
    metadata: &ClientMetadata,
) -> Result<RegisteredClient> {
    check_metadata(metadata)?;
    let url = client_url(clients_url, client_id)?;
    let body = Some(metadata.to_json());
    let request = credentials.request(Method::PUT, url, body, Retry::Idempotent);
    let resp = send_checked(http, &request).await?;
    RegisteredClient::from_response(&resp)
}

/// Deletes one client; it can no longer get tokens.
pub async fn delete(
    http: &HttpClient,
    clients_url: &Url,
    credentials: Credentials<'_>,
    client_id: &str,
) -> Result<()> {
    let url = client_url(clients_url, client_id)?;
    let request = credentials.request(Method::DELETE, url, None, Retry::Idempotent);
    send_checked(http, &request).await?;
    Ok(())
}

/// RFC 7591 checks plus Alvaria's rule that `scope` is required.
pub fn check_metadata(metadata: &ClientMetadata) -> Result<()> {
    metadata.validate()?;
    match metadata.scope() {
        Some(scope) if !scope.trim().is_empty() => Ok(()),
        _ => Err(Error::config(
            "client metadata, field 'scope'",
            "is required by the Alvaria client-management API (space-separated scopes)",
        )),
    }
}

fn checked(url: &Url) -> Result<Url> {
    check_endpoint(url.as_str()).map_err(|reason| Error::config("registration_url", reason))
}

/// `{clients_url}/{client_id}`, the id percent-encoded as one path segment.
fn client_url(clients_url: &Url, client_id: &str) -> Result<Url> {
    if client_id.is_empty() || client_id == "." || client_id == ".." {
        return Err(Error::config(
            "client_id",
            format!("'{client_id}' is not a client id"),
        ));
    }
    let mut url = checked(clients_url)?;
    url.path_segments_mut()
        .map_err(|()| Error::config("registration_url", "cannot be a base URL"))?
        .pop_if_empty()
        .push(client_id);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_urls_encode_the_id_as_one_segment() {
        let base =
            Url::parse("https://api.example/via/v1/organizations/acme/oauth/clients").unwrap();
        assert_eq!(
            client_url(&base, "abc").unwrap().as_str(),
            "https://api.example/via/v1/organizations/acme/oauth/clients/abc"
        );
        assert_eq!(
            client_url(&base, "../x?y").unwrap().path(),
            "/via/v1/organizations/acme/oauth/clients/..%2Fx%3Fy"
        );
        let slash = Url::parse("https://api.example/clients/").unwrap();
        assert_eq!(client_url(&slash, "a").unwrap().path(), "/clients/a");
        assert!(client_url(&base, "").is_err());
        assert!(client_url(&base, "..").is_err());
        let http = Url::parse("http://api.example/clients").unwrap();
        assert!(client_url(&http, "a").is_err());
    }

    #[test]
    fn scope_is_required() {
        let m = ClientMetadata::new()
            .with_grant_types(["client_credentials"])
            .with_response_types(Vec::<String>::new());
        let err = check_metadata(&m).unwrap_err().to_string();
        assert!(err.contains("field 'scope'"), "{err}");
        check_metadata(&m.with_scope("a")).unwrap();
        assert_eq!(Operation::Modify.scope(), "myaccount.clients.modify");
    }
}
