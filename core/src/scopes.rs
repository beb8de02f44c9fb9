//! Scopes as callers and config files write them (a list, or one space-separated string) and
//! the one rule each scope must meet (RFC 6749 §3.3), for `token(scopes=…)` in every
//! language, the CLI, the sidecar and a profile's `scopes` key alike.

use crate::error::{Error, Result};

/// Scopes as a caller wrote them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopesArg {
    /// One string of space-separated scopes, as in an OAuth `scope` parameter.
    Text(String),
    /// One scope per item.
    List(Vec<String>),
}

impl ScopesArg {
    /// The scopes, each checked to be a scope token (RFC 6749 §3.3: printable ASCII without
    /// spaces, `"` or `\`); `field` names the option in errors.
    pub fn parse(self, field: &str) -> Result<Vec<String>> {
        let scopes = match self {
            ScopesArg::Text(text) => split_scopes(&text),
            ScopesArg::List(list) => list,
        };
        for scope in &scopes {
            check_scope_token(field, scope)?;
        }
        Ok(scopes)
    }
}

/// Splits a space-separated scope string (RFC 6749 §3.3) into its scopes. Any run of
/// whitespace separates, so `"a  b\n"` is `["a", "b"]`.
fn split_scopes(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// Checks one scope: non-empty, `%x21 / %x23-5B / %x5D-7E` only (RFC 6749 §3.3).
fn check_scope_token(field: &str, scope: &str) -> Result<()> {
    let bad = scope
        .chars()
        .find(|c| !matches!(*c as u32, 0x21 | 0x23..=0x5b | 0x5d..=0x7e));
    match (scope.is_empty(), bad) {
        (true, _) => Err(Error::config(field, "holds an empty scope")),
        (false, Some(c)) => Err(Error::config(
            field,
            format!(
                "scope {:?} holds {c:?}, which a scope may not contain (RFC 6749 §3.3: \
                 printable ASCII without spaces, '\"' or '\\'); give several scopes as a list \
                 or one space-separated string",
                crate::redact::truncate(scope, 80)
            ),
        )),
        (false, None) => Ok(()),
    }
}
