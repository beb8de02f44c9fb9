//! The endpoints of a profile, named by a typed [`Endpoint`].

use url::Url;

use crate::provider::Preset;

/// One endpoint a profile may have; [`Endpoint::key`] is its configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    /// The token endpoint (`token_url`).
    Token,
    /// The authorization endpoint (`authorize_url`).
    Authorize,
    /// The device authorization endpoint (`device_url`).
    Device,
    /// The registration / client-management endpoint (`registration_url`).
    Registration,
    /// The revocation endpoint (`revocation_url`).
    Revocation,
    /// The JWKS of ID token signatures (`jwks_url`).
    Jwks,
}

impl Endpoint {
    /// Every endpoint, in configuration order.
    pub const ALL: [Endpoint; 6] = [
        Endpoint::Token,
        Endpoint::Authorize,
        Endpoint::Device,
        Endpoint::Registration,
        Endpoint::Revocation,
        Endpoint::Jwks,
    ];

    /// The configuration key that overrides this endpoint (`"token_url"`, …).
    pub fn key(self) -> &'static str {
        match self {
            Endpoint::Token => "token_url",
            Endpoint::Authorize => "authorize_url",
            Endpoint::Device => "device_url",
            Endpoint::Registration => "registration_url",
            Endpoint::Revocation => "revocation_url",
            Endpoint::Jwks => "jwks_url",
        }
    }

    /// The preset's URL template of this endpoint.
    pub(super) fn template(self, preset: &Preset) -> Option<&String> {
        match self {
            Endpoint::Token => preset.token_url.as_ref(),
            Endpoint::Authorize => preset.authorize_url.as_ref(),
            Endpoint::Device => preset.device_url.as_ref(),
            Endpoint::Registration => preset.registration_url.as_ref(),
            Endpoint::Revocation => preset.revocation_url.as_ref(),
            Endpoint::Jwks => preset.jwks_url.as_ref(),
        }
    }
}

/// Endpoints of a profile after template expansion and overrides.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    /// Token endpoint.
    pub token: Option<Url>,
    /// Authorization endpoint.
    pub authorize: Option<Url>,
    /// Device authorization endpoint.
    pub device: Option<Url>,
    /// Registration / client-management endpoint.
    pub registration: Option<Url>,
    /// Revocation endpoint.
    pub revocation: Option<Url>,
    /// JWKS for ID token signatures.
    pub jwks: Option<Url>,
}

impl Endpoints {
    /// The URL of `endpoint`, when there is one.
    pub fn get(&self, endpoint: Endpoint) -> Option<&Url> {
        match endpoint {
            Endpoint::Token => self.token.as_ref(),
            Endpoint::Authorize => self.authorize.as_ref(),
            Endpoint::Device => self.device.as_ref(),
            Endpoint::Registration => self.registration.as_ref(),
            Endpoint::Revocation => self.revocation.as_ref(),
            Endpoint::Jwks => self.jwks.as_ref(),
        }
    }

    /// The slot of `endpoint`, to fill in.
    pub(crate) fn slot_mut(&mut self, endpoint: Endpoint) -> &mut Option<Url> {
        match endpoint {
            Endpoint::Token => &mut self.token,
            Endpoint::Authorize => &mut self.authorize,
            Endpoint::Device => &mut self.device,
            Endpoint::Registration => &mut self.registration,
            Endpoint::Revocation => &mut self.revocation,
            Endpoint::Jwks => &mut self.jwks,
        }
    }
}
