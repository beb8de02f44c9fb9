//! The OS keyring (Secret Service on Linux and the BSDs, Keychain on macOS, Credential
//! Manager on Windows) through the `keyring` crate, holding binary secrets by service and
//! account name. Calls block (D-Bus or a system API); callers run them off the async runtime.

use std::fmt;

use zeroize::Zeroizing;

/// One entry in the OS keyring, named by service and account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyringEntry {
    /// The service name (Secret Service attribute `service`, Keychain service).
    pub service: String,
    /// The account name under the service.
    pub account: String,
}

/// Why the keyring could not be used. Never holds a secret: the keyring crate's messages
/// describe the platform failure only.
#[derive(Debug, Clone)]
pub struct Unavailable(pub String);

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl KeyringEntry {
    /// The entry `service` / `account`.
    pub fn new(service: impl Into<String>, account: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            account: account.into(),
        }
    }

    /// The name shown by `doctor` and in errors, e.g. `tokenbroker/cache-key`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.service, self.account)
    }

    fn open(&self) -> Result<keyring::Entry, Unavailable> {
        keyring::Entry::new(&self.service, &self.account).map_err(unavailable)
    }

    /// The stored bytes, `Ok(None)` when the keyring works but has no such entry.
    pub fn get(&self) -> Result<Option<Zeroizing<Vec<u8>>>, Unavailable> {
        match self.open()?.get_secret() {
            Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Stores `bytes`, replacing any previous value.
    pub fn set(&self, bytes: &[u8]) -> Result<(), Unavailable> {
        self.open()?.set_secret(bytes).map_err(unavailable)
    }

    /// Removes the entry; a missing entry is not an error.
    pub fn delete(&self) -> Result<(), Unavailable> {
        match self.open()?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// The platform's keyring name, for messages.
pub fn platform_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "macOS Keychain"
    } else if cfg!(windows) {
        "Windows Credential Manager"
    } else {
        "Secret Service"
    }
}

fn unavailable(e: keyring::Error) -> Unavailable {
    // `BadEncoding` carries the stored bytes; never show them.
    let text = match e {
        keyring::Error::BadEncoding(_) => "the stored value is not in the expected form".into(),
        other => other.to_string(),
    };
    Unavailable(text)
}
