//! Secret values (client secrets, tokens, refresh tokens, keys) that never print themselves.

use std::fmt;

use serde::{Deserialize, Deserializer, Serializer};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret string: redacted in `Debug` and `Display`, wiped from memory on drop.
///
/// The only way to read it is [`Secret::expose`], so every place that puts a secret on the
/// wire is easy to find.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value as a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret value. Call only where the value must leave the process.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret holds no characters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// Serialising a secret's plaintext, for the encrypted cache records only: `Secret` itself
/// does not implement `Serialize`, so no JSON or log encoding can reveal one by accident.
pub(crate) mod persisted {
    use super::{Secret, Serializer};

    /// `#[serde(serialize_with)]` for a `Secret`.
    pub fn secret<S: Serializer>(value: &Secret, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value.expose())
    }

    /// `#[serde(serialize_with)]` for an `Option<Secret>`.
    pub fn optional<S: Serializer>(
        value: &Option<Secret>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => serializer.serialize_some(v.expose()),
            None => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_not_serialize() {
        // `Secret: Serialize` would let `serde_json::to_string` print the plaintext.
        trait NotSerialize {
            const YES: bool = false;
        }
        impl<T: ?Sized> NotSerialize for T {}
        struct Probe<T: ?Sized>(std::marker::PhantomData<T>);
        #[allow(dead_code)]
        impl<T: ?Sized + serde::Serialize> Probe<T> {
            const YES: bool = true;
        }
        assert!(!std::hint::black_box(<Probe<Secret>>::YES));
    }

    #[test]
    fn debug_and_display_are_redacted() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(s.expose(), "hunter2-very-secret");
    }
}
