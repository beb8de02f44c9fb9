//! A response with its body read, within a size bound.

use std::fmt;

use reqwest::StatusCode;

use crate::error::{Error, Result};
use crate::redact::Redactor;

/// Largest response body read from any endpoint.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A response with its body read (at most [`MAX_BODY_BYTES`]). Its `Debug` shows the body's
/// length only.
#[derive(Clone)]
pub struct Response {
    /// The URL that answered, without query or fragment (safe to put in messages).
    pub endpoint: String,
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The `Cache-Control`, if any (how long a public document may be kept).
    pub cache_control: Option<String>,
    /// The body.
    pub body: Vec<u8>,
    /// Every secret the request carried and every token the body carries: whatever quotes
    /// this response goes through it.
    pub redactor: Redactor,
}

impl Response {
    /// A JSON document kept from an earlier fetch (the shared tier's copy), read again as the
    /// `200` it was; `endpoint` names it in messages.
    pub(crate) fn kept(endpoint: String, body: &str) -> Self {
        Self {
            endpoint,
            status: 200,
            content_type: Some("application/json".into()),
            cache_control: None,
            body: body.as_bytes().to_vec(),
            redactor: Redactor::default(),
        }
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("endpoint", &self.endpoint)
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("cache_control", &self.cache_control)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

pub(super) async fn read_limited(
    mut response: reqwest::Response,
    endpoint: &str,
    status: StatusCode,
) -> Result<Vec<u8>> {
    let too_big = || Error::InvalidResponse {
        endpoint: endpoint.to_owned(),
        status: Some(status.as_u16()),
        reason: format!("body is larger than {} KiB", MAX_BODY_BYTES / 1024),
    };
    if response
        .content_length()
        .is_some_and(|n| n as usize > MAX_BODY_BYTES)
    {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| Error::Transport {
        endpoint: endpoint.to_owned(),
        reason: format!("body could not be read: {e}"),
    })? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
