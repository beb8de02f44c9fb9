//! Failures of a command and the exit code each maps to.

use std::fmt;

use tokenbroker::{Error, ErrorKind};

/// Exit codes, as documented in `--help` and docs/cli.md.
pub mod code {
    pub const OK: u8 = 0;
    pub const OTHER: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const REFUSED: u8 = 3;
    pub const NETWORK: u8 = 4;
    pub const INVALID_RESPONSE: u8 = 5;
    pub const CACHE: u8 = 6;
    pub const INTERACTION: u8 = 7;
    pub const RATE_LIMITED: u8 = 8;
}

/// The exit code for a core error kind.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Config => code::USAGE,
        ErrorKind::OAuth | ErrorKind::Registration => code::REFUSED,
        ErrorKind::Transport | ErrorKind::Timeout => code::NETWORK,
        ErrorKind::InvalidResponse => code::INVALID_RESPONSE,
        ErrorKind::Cache => code::CACHE,
        ErrorKind::Interaction => code::INTERACTION,
        ErrorKind::RateLimited => code::RATE_LIMITED,
        // The kind set only grows (`#[non_exhaustive]`); a new kind is "other" until mapped.
        _ => code::OTHER,
    }
}

/// Why a command failed. Messages never hold a secret: core errors are scrubbed by the
/// core, and the CLI's own messages never include token or secret values.
#[derive(Debug)]
pub enum Fail {
    /// A core error.
    Core(Error),
    /// Bad usage the argument parser could not see (no profile chosen, bad JSON).
    Usage(String),
    /// Anything else (cannot run curl, cannot write output).
    Other(String),
}

impl Fail {
    pub fn usage(msg: impl Into<String>) -> Self {
        Fail::Usage(msg.into())
    }

    pub fn other(msg: impl Into<String>) -> Self {
        Fail::Other(msg.into())
    }

    pub fn code(&self) -> u8 {
        match self {
            Fail::Core(e) => exit_code(e.kind()),
            Fail::Usage(_) => code::USAGE,
            Fail::Other(_) => code::OTHER,
        }
    }

    /// A hint printed after the message, when one helps.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Fail::Core(e) => match e.kind() {
                ErrorKind::Interaction => Some("run `tokenbroker login` for this profile"),
                ErrorKind::Transport | ErrorKind::Timeout => {
                    Some("`tokenbroker doctor` checks every profile's endpoints")
                }
                _ => None,
            },
            _ => None,
        }
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The core already strips terminal control from provider text; this keeps any other
        // text that reaches the terminal (paths, OS messages) just as inert.
        let text = match self {
            Fail::Core(e) => e.to_string(),
            Fail::Usage(m) | Fail::Other(m) => m.clone(),
        };
        f.write_str(&tokenbroker::advanced::redact::printable(&text))
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Core(e)
    }
}

pub type Result<T, E = Fail> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_documented_code() {
        let expected = [
            (ErrorKind::Config, 2),
            (ErrorKind::Transport, 4),
            (ErrorKind::Timeout, 4),
            (ErrorKind::OAuth, 3),
            (ErrorKind::InvalidResponse, 5),
            (ErrorKind::Cache, 6),
            (ErrorKind::Registration, 3),
            (ErrorKind::Interaction, 7),
            (ErrorKind::RateLimited, 8),
        ];
        assert_eq!(expected.len(), ErrorKind::ALL.len());
        for (kind, code) in expected {
            assert_eq!(exit_code(kind), code, "{kind}");
        }
    }
}
