//! What goes to stdout (only the requested value) and stderr (messages), and the token
//! formats shared by `token`, `env` and `serve`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokenbroker::AccessToken;

use crate::fail::{Fail, Result};

static QUIET: AtomicBool = AtomicBool::new(false);

/// Silences [`note!`] messages (`--quiet`).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `--quiet` was given.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// A message for the person at the terminal, on stderr, unless `--quiet`.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        if !$crate::output::quiet() {
            eprintln!($($arg)*);
        }
    };
}

/// Writes the command's value to stdout. A closed pipe (`| head`) is not an error.
pub fn stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Fail::other(format!("cannot write to stdout: {e}"))),
    }
}

/// Writes one JSON document and a newline to stdout.
pub fn stdout_json(value: &Value, pretty: bool) -> Result<()> {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .map_err(|e| Fail::other(format!("cannot encode JSON: {e}")))?;
    stdout(&format!("{text}\n"))
}

/// `--format json` and the sidecar's answer: the token with its metadata.
pub fn token_json(token: &AccessToken) -> Value {
    json!({
        "access_token": token.secret(),
        "token_type": token.token_type(),
        "expires_at": rfc3339(token.expires_at()),
        "expires_in": token.remaining().as_secs(),
        "scopes": token.scopes(),
    })
}

/// `Authorization: Bearer <token>`.
pub fn header_line(token: &AccessToken) -> String {
    format!("Authorization: {}", token.header())
}

/// `export NAME='value'` lines for POSIX shells.
pub fn env_lines(token: &AccessToken) -> String {
    [
        ("TOKENBROKER_ACCESS_TOKEN", token.secret().to_owned()),
        ("TOKENBROKER_TOKEN_TYPE", token.token_type().to_owned()),
        ("TOKENBROKER_EXPIRES_AT", rfc3339(token.expires_at())),
    ]
    .iter()
    .map(|(name, value)| format!("export {name}={}\n", shell_quote(value)))
    .collect()
}

/// Quotes `value` for a POSIX shell: single quotes, with `'` written as `'\''`.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// A time as RFC 3339 in UTC with second precision: `2026-05-01T12:00:00Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_else(|e| -(e.duration().as_secs() as i64));
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A duration for people: `59m`, `1h05m`, `42s`, `expired`.
pub fn human_left(expires_at: SystemTime) -> String {
    match expires_at.duration_since(SystemTime::now()) {
        Err(_) => "expired".into(),
        Ok(d) => {
            let s = d.as_secs();
            match s {
                0..60 => format!("{s}s"),
                60..3600 => format!("{}m", s / 60),
                _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_known_instants() {
        let at = |s: u64| rfc3339(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_709_164_799), "2024-02-28T23:59:59Z");
        assert_eq!(at(4_102_444_800), "2100-01-01T00:00:00Z");
        assert_eq!(at(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote("abc"), "'abc'");
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
        assert_eq!(shell_quote(""), "''");
    }
}
