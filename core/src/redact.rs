//! Making provider text fit for an error message or a log line: every secret a request
//! carried is removed in every encoding it went out in (and every token the response
//! carried), terminal control is stripped, and only then is the text shortened.
//!
//! The HTTP layer builds a [`Redactor`] from the request it sends (see
//! [`crate::http::Request`]) and extends it with the tokens found in the response, so code
//! that quotes a response never has to list the secrets itself.

use std::fmt;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::secret::Secret;

/// What replaces a secret in text.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this many characters are removed only where they stand as a whole
/// word: a one-character header value must not shred every message.
pub const MIN_SUBSTRING_CHARS: usize = 4;

/// Response fields whose values are credentials (scrubbed wherever the response is quoted).
const TOKEN_FIELDS: [&str; 7] = [
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "registration_access_token",
    "device_code",
    "x_api_key",
];

/// The set of secret strings (in every encoding) to remove from provider text.
#[derive(Clone, Default)]
pub struct Redactor {
    needles: Vec<Secret>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} strings)", self.needles.len())
    }
}

impl Redactor {
    /// A redactor for the given secrets.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut r = Self::default();
        for s in secrets {
            r.add(s);
        }
        r
    }

    /// Adds `secret` raw, form- and percent-encoded, JSON-escaped (plain, `\/`, `\uXXXX`),
    /// HTML-escaped, and as UTF-8 bytes read as Latin-1 (a server decoding a header).
    pub fn add(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let formed: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let quoted = serde_json::to_string(secret).unwrap_or_default();
        let json = quoted
            .get(1..quoted.len().saturating_sub(1))
            .unwrap_or_default()
            .to_owned();
        let ascii_json: String = json
            .chars()
            .map(|c| match c {
                c if c.is_ascii() => c.to_string(),
                c => c
                    .encode_utf16(&mut [0; 2])
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect(),
            })
            .collect();
        let html = secret
            .replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('\'', "&#39;");
        let latin1: String = secret.bytes().map(char::from).collect();
        let encoded = [
            formed.replace('+', "%20"),
            formed,
            json.replace('/', "\\/"),
            json,
            ascii_json,
            html,
            latin1,
        ];
        self.push(secret.to_owned());
        for e in encoded {
            self.push(e);
        }
    }

    /// Adds HTTP Basic credentials as sent (RFC 6749 §2.3.1: each part form-encoded, then
    /// base64): the password in every encoding, and the base64 of `user:password`.
    pub fn add_basic(&mut self, user: &str, password: &str) {
        self.add(password);
        let form =
            |v: &str| -> String { url::form_urlencoded::byte_serialize(v.as_bytes()).collect() };
        let pair = zeroize::Zeroizing::new(format!("{}:{}", form(user), form(password)));
        self.push(STANDARD.encode(pair.as_bytes()));
        self.push(STANDARD.encode(format!("{user}:{password}")));
    }

    /// Adds every credential a response body carries: the token fields of a JSON object, or
    /// `name=value` / `"name": "value"` pairs of those fields in any other text.
    pub fn add_response_tokens(&mut self, body: &[u8]) {
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) {
            for field in TOKEN_FIELDS {
                if let Some(serde_json::Value::String(v)) = map.get(field) {
                    self.add(v);
                }
            }
            return;
        }
        let text = String::from_utf8_lossy(body);
        for field in TOKEN_FIELDS {
            for (at, _) in text.match_indices(field) {
                let rest = text[at + field.len()..].trim_start_matches(['"', '\'', ' ']);
                let Some(rest) = rest.strip_prefix(['=', ':']) else {
                    continue;
                };
                let rest = rest.trim_start_matches([' ', '"', '\'']);
                let end = rest
                    .find(|c: char| c.is_whitespace() || "&\"',;<>".contains(c))
                    .unwrap_or(rest.len());
                let value = &rest[..end];
                self.add(value);
                if let Ok(decoded) = urlencoding_decode(value) {
                    self.add(&decoded);
                }
            }
        }
    }

    /// Adds every string of `other`.
    pub fn extend(&mut self, other: &Redactor) {
        for n in &other.needles {
            self.push(n.expose().to_owned());
        }
    }

    fn push(&mut self, needle: String) {
        if !needle.is_empty() && !self.needles.iter().any(|n| n.expose() == needle) {
            self.needles.push(Secret::new(needle));
        }
    }

    /// `text` with every secret replaced by [`REDACTED`] (ASCII case-insensitively, so
    /// `%2f` is found as well as `%2F`). Nothing else changes.
    pub fn scrub(&self, text: &str) -> String {
        let (long, short): (Vec<&str>, Vec<&str>) = self
            .needles
            .iter()
            .map(Secret::expose)
            .partition(|n| n.chars().count() >= MIN_SUBSTRING_CHARS);
        let mut out = match AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::NoncontiguousNFA))
            .ascii_case_insensitive(true)
            .build(&long)
        {
            Ok(ac) if !long.is_empty() => ac.replace_all(text, &vec![REDACTED; long.len()]),
            _ => text.to_owned(),
        };
        for needle in short {
            out = replace_words(&out, needle);
        }
        out
    }

    /// Provider text fit for a message: scrubbed, stripped of terminal control (see
    /// [`printable`]), scrubbed again (a secret split by a control character), then cut to
    /// `max` characters with `…`.
    pub fn clean(&self, text: &str, max: usize) -> String {
        let once = self.scrub(text);
        let shown = self.scrub(&printable(&once));
        truncate(&shown, max)
    }
}

/// Replaces `needle` where it is not part of a longer run of letters and digits.
fn replace_words(text: &str, needle: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (at, m) in text.match_indices(needle) {
        if at < last {
            continue;
        }
        let before = text[..at].chars().next_back();
        let after = text[at + m.len()..].chars().next();
        let alone = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
        if alone(before) && alone(after) {
            out.push_str(&text[last..at]);
            out.push_str(REDACTED);
            last = at + m.len();
        }
    }
    out.push_str(&text[last..]);
    out
}

fn urlencoding_decode(value: &str) -> Result<String, ()> {
    let decoded: String = url::form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .ok_or(())?;
    Ok(decoded)
}

/// `text` without terminal control: escape sequences (CSI, OSC, DCS and the like, in 7-bit
/// and 8-bit form) are removed, other control characters and bidirectional overrides become
/// spaces, and runs of whitespace collapse to one space.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                Some('[') => skip_csi(&mut chars),
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // Two-character sequences (ESC c, ESC 7, ESC ( B …): drop the next one too.
                Some('(' | ')' | '*' | '+' | '#' | '%') => {
                    chars.next();
                }
                _ => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if c.is_control() || is_bidi_control(c) => out.push(' '),
            c => out.push(c),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Skips a control sequence's parameters up to and including its final byte (0x40–0x7E).
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) || !(' '..='\u{7e}').contains(&c) {
            break;
        }
    }
}

/// Skips a control string (OSC, DCS, …) up to BEL, ST (`ESC \`) or the 8-bit ST.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// At most `max` characters of `text`, with `…` when something was cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push('…');
    out
}

/// Replaces every occurrence of the given secrets, in every encoding a request could have
/// carried them in, in `text` with `[redacted]` (see [`Redactor`]).
pub fn scrub<'a>(text: &str, secrets: impl IntoIterator<Item = &'a str>) -> String {
    Redactor::new(secrets).scrub(text)
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
