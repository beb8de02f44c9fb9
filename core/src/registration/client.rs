//! A registered client as the server describes it (RFC 7591 §3.2.1), secrets kept apart.

use serde_json::{Map, Value};
use url::Url;

use crate::error::{Error, Result};
use crate::http::Response;
use crate::registration::metadata::ClientMetadata;
use crate::secret::Secret;

/// A client the server registered: its identifiers, its credentials, and the metadata the
/// server kept (which may differ from what was sent).
///
/// `Debug` never shows a credential; [`RegisteredClient::to_json`] includes them only when
/// asked.
#[derive(Clone, Debug)]
pub struct RegisteredClient {
    /// The client identifier.
    pub client_id: String,
    /// The client secret: sent when the client is created (and by some servers on a read or
    /// update that rotates it), never by Alvaria's list or get.
    pub client_secret: Option<Secret>,
    /// The RFC 7592 registration access token, when the server issued (or rotated) one.
    pub registration_access_token: Option<Secret>,
    /// The RFC 7592 client configuration endpoint.
    pub registration_client_uri: Option<Url>,
    /// When the client id was issued, in seconds since the Unix epoch.
    pub client_id_issued_at: Option<u64>,
    /// When the client secret expires, in seconds since the Unix epoch; `0` means never.
    pub client_secret_expires_at: Option<u64>,
    /// Alvaria's `x_api_key` for the new client (treated as a credential).
    pub api_key: Option<Secret>,
    /// Every other field of the response: the metadata the server kept.
    pub metadata: ClientMetadata,
}

impl RegisteredClient {
    /// Reads a client information response (a JSON object).
    pub fn from_response(resp: &Response) -> Result<Self> {
        let map = crate::validate::json_object(resp)?;
        Self::from_map(map, resp)
    }

    /// Reads a list of clients (a JSON array of objects), as Alvaria's list answers.
    pub fn list_from_response(resp: &Response) -> Result<Vec<Self>> {
        let items = match serde_json::from_slice::<Value>(&resp.body) {
            Ok(Value::Array(items)) => items,
            _ => {
                return Err(invalid(
                    resp,
                    format!(
                        "expected a JSON array of clients: {}",
                        crate::validate::excerpt(resp)
                    ),
                ));
            }
        };
        items
            .into_iter()
            .map(|item| match item {
                Value::Object(map) => Self::from_map(map, resp),
                _ => Err(invalid(resp, "a list entry is not a JSON object".into())),
            })
            .collect()
    }

    fn from_map(mut map: Map<String, Value>, resp: &Response) -> Result<Self> {
        let client_id = match map.remove("client_id") {
            Some(Value::String(id)) if !id.is_empty() => id,
            Some(_) => return Err(invalid(resp, "'client_id' is not a string".into())),
            None => return Err(invalid(resp, "'client_id' is missing".into())),
        };
        let mut secret = |key: &str| match map.remove(key) {
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(Secret::new(s))),
            None | Some(Value::Null) | Some(Value::String(_)) => Ok(None),
            Some(_) => Err(invalid(resp, format!("'{key}' is not a string"))),
        };
        let client_secret = secret("client_secret")?;
        let registration_access_token = secret("registration_access_token")?;
        let api_key = secret("x_api_key")?;
        let registration_client_uri = match map.remove("registration_client_uri") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(Url::parse(&s).map_err(|e| {
                invalid(resp, format!("'registration_client_uri' is not a URL: {e}"))
            })?),
            Some(_) => {
                return Err(invalid(
                    resp,
                    "'registration_client_uri' is not a string".into(),
                ));
            }
        };
        let mut epoch = |key: &str| match map.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
            Some(Value::Number(n)) if n.as_f64().is_some_and(|f| f >= 0.0) => {
                Ok(n.as_f64().map(|f| f as u64))
            }
            Some(Value::String(s)) if s.trim().parse::<u64>().is_ok() => {
                Ok(s.trim().parse::<u64>().ok())
            }
            Some(_) => Err(invalid(
                resp,
                format!("'{key}' is not a time in seconds since the epoch"),
            )),
        };
        Ok(Self {
            client_id,
            client_secret,
            registration_access_token,
            registration_client_uri,
            client_id_issued_at: epoch("client_id_issued_at")?,
            client_secret_expires_at: epoch("client_secret_expires_at")?,
            api_key,
            metadata: ClientMetadata::from(map),
        })
    }

    /// The client as one JSON object in the server's field names. Credentials
    /// (`client_secret`, `registration_access_token`, `x_api_key`) are included only when
    /// `include_secrets` is true; otherwise they are left out entirely.
    pub fn to_json(&self, include_secrets: bool) -> Value {
        let mut map = self.metadata.as_map().clone();
        map.insert("client_id".into(), Value::String(self.client_id.clone()));
        if let Some(uri) = &self.registration_client_uri {
            map.insert("registration_client_uri".into(), uri.as_str().into());
        }
        if let Some(at) = self.client_id_issued_at {
            map.insert("client_id_issued_at".into(), at.into());
        }
        if let Some(at) = self.client_secret_expires_at {
            map.insert("client_secret_expires_at".into(), at.into());
        }
        if include_secrets {
            for (key, value) in [
                ("client_secret", &self.client_secret),
                ("registration_access_token", &self.registration_access_token),
                ("x_api_key", &self.api_key),
            ] {
                if let Some(secret) = value {
                    map.insert(key.into(), secret.expose().into());
                }
            }
        }
        Value::Object(map)
    }

    /// The credentials this client holds, for scrubbing text that quotes a response.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        [
            &self.client_secret,
            &self.registration_access_token,
            &self.api_key,
        ]
        .into_iter()
        .flatten()
        .map(Secret::expose)
    }
}

fn invalid(resp: &Response, reason: String) -> Error {
    Error::InvalidResponse {
        endpoint: resp.endpoint.clone(),
        status: Some(resp.status),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn response(body: Value) -> Response {
        Response {
            endpoint: "https://as.example/reg".into(),
            status: 201,
            content_type: Some("application/json".into()),
            cache_control: None,
            body: serde_json::to_vec(&body).unwrap(),
            redactor: Default::default(),
        }
    }

    #[test]
    fn secrets_are_split_off_and_redacted() {
        let resp = response(json!({
            "client_id": "c1",
            "client_secret": "s3cr3t-value-1234",
            "registration_access_token": "rat-value-5678",
            "registration_client_uri": "https://as.example/reg/c1",
            "client_id_issued_at": 1659104786,
            "client_secret_expires_at": 0,
            "x_api_key": "APIKEY-abcdef",
            "grant_types": ["client_credentials"],
            "scope": "a b",
        }));
        let c = RegisteredClient::from_response(&resp).unwrap();
        assert_eq!(c.client_id, "c1");
        assert_eq!(
            c.client_secret.as_ref().unwrap().expose(),
            "s3cr3t-value-1234"
        );
        assert_eq!(c.client_id_issued_at, Some(1659104786));
        assert_eq!(c.client_secret_expires_at, Some(0));
        assert_eq!(c.metadata.scope(), Some("a b"));
        assert!(c.metadata.get("client_secret").is_none());
        let dbg = format!("{c:?}");
        for s in ["s3cr3t-value-1234", "rat-value-5678", "APIKEY-abcdef"] {
            assert!(!dbg.contains(s), "{dbg}");
        }
        let hidden = c.to_json(false).to_string();
        for s in ["s3cr3t-value-1234", "rat-value-5678", "APIKEY-abcdef"] {
            assert!(!hidden.contains(s), "{hidden}");
        }
        let shown = c.to_json(true);
        assert_eq!(shown["client_secret"], "s3cr3t-value-1234");
        assert_eq!(shown["registration_access_token"], "rat-value-5678");
        assert_eq!(shown["x_api_key"], "APIKEY-abcdef");
        assert_eq!(shown["client_id"], "c1");
        assert_eq!(
            shown["registration_client_uri"],
            "https://as.example/reg/c1"
        );
        assert_eq!(c.secrets().count(), 3);
    }

    #[test]
    fn bad_responses_are_invalid_response_errors() {
        let err = RegisteredClient::from_response(&response(json!({"scope": "a"}))).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidResponse);
        assert!(err.to_string().contains("'client_id' is missing"), "{err}");
        let err = RegisteredClient::from_response(&response(
            json!({"client_id": "c", "client_id_issued_at": "soon"}),
        ))
        .unwrap_err();
        assert!(err.to_string().contains("client_id_issued_at"), "{err}");
        let list = RegisteredClient::list_from_response(&response(
            json!([{"client_id": "a"}, {"client_id": "b"}]),
        ))
        .unwrap();
        assert_eq!(list.len(), 2);
        let err =
            RegisteredClient::list_from_response(&response(json!({"client_id": "a"}))).unwrap_err();
        assert!(err.to_string().contains("JSON array"), "{err}");
    }
}
