//! One validation layer: token responses, OAuth error bodies and ID tokens are checked here
//! and nowhere else.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::error::{Error, OAuthError, Result};
use crate::http::Response;
use crate::limits;
use crate::secret::Secret;
use crate::token::TokenSet;

/// Epoch seconds at or beyond this (year 33658) are not instants any token expires at.
const MAX_EPOCH_SECS: f64 = 1e12;

/// Longest body excerpt quoted in an error message.
const EXCERPT_CHARS: usize = 120;

/// Longest `error_description` / `error_uri` quoted in an error message.
const DESCRIPTION_CHARS: usize = 500;

/// Longest `error` code quoted in an error message.
const CODE_CHARS: usize = 100;

/// What a token response is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// Scopes that were requested (reported as granted when the response has no `scope`).
    pub requested_scopes: &'a [String],
    /// Lifetime assumed when the response gives no expiry.
    pub default_ttl: Duration,
}

/// Turns a token endpoint response into a [`TokenSet`] or a typed error.
///
/// Accepts `expires_in` as a number or a numeric string and `expires_on` as epoch seconds
/// (number or string) or an HTTP/RFC 3339 date, as seed 004's Azure AD v1 sends them.
pub fn token_response(resp: &Response, expect: &Expect<'_>) -> Result<TokenSet> {
    let map = json_object(resp)?;
    if let Some(err) = oauth_error_from(&map, resp) {
        return Err(err);
    }
    if !(200..300).contains(&resp.status) {
        return Err(invalid(
            resp,
            format!("HTTP {} without an OAuth error body", resp.status),
        ));
    }
    let now = SystemTime::now();
    let access_token = match map.get("access_token") {
        Some(Value::String(s)) if !s.trim().is_empty() => Secret::new(s.clone()),
        Some(_) => {
            return Err(invalid(
                resp,
                "'access_token' is empty or not a string".into(),
            ));
        }
        None => return Err(invalid(resp, "'access_token' is missing".into())),
    };
    let token_type = match map.get("token_type") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        None => return Err(invalid(resp, "'token_type' is missing".into())),
        Some(_) => return Err(invalid(resp, "'token_type' is not a string".into())),
    };
    let expires_at = match (
        seconds(&map, "expires_in").map_err(|r| invalid(resp, r))?,
        map.get("expires_on"),
    ) {
        (Some(lifetime), _) => now + lifetime,
        (None, Some(on)) => parse_instant(on)
            .filter(|at| at.duration_since(now).unwrap_or_default() <= limits::MAX_SPAN)
            .ok_or_else(|| {
                invalid(
                    resp,
                    "'expires_on' is not a time within the next 10 years".into(),
                )
            })?,
        (None, None) => now + expect.default_ttl.min(limits::MAX_SPAN),
    };
    let scopes = match map.get("scope") {
        Some(Value::String(s)) => s
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => expect.requested_scopes.to_vec(),
    };
    let secret_field = |name: &str| match map.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(Secret::new(s.clone())),
        _ => None,
    };
    let refresh_in = seconds(&map, "refresh_in").map_err(|r| invalid(resp, r))?;
    Ok(TokenSet {
        access_token,
        token_type,
        expires_at,
        issued_at: now,
        scopes,
        refresh_token: secret_field("refresh_token"),
        id_token: secret_field("id_token"),
        refresh_in,
    })
}

/// Parses any non-2xx response of an OAuth endpoint into the most specific error: an
/// [`Error::OAuth`] when the body is an RFC 6749 §5.2 error, else invalid_response. Quoted
/// text goes through the response's [`crate::redact::Redactor`].
pub fn error_response(resp: &Response) -> Error {
    match json_object(resp) {
        Ok(map) => oauth_error_from(&map, resp).unwrap_or_else(|| {
            invalid(
                resp,
                format!("HTTP {} without an OAuth error body", resp.status),
            )
        }),
        Err(err) => err,
    }
}

/// Parses the body as a JSON object, or explains why it is not one: with a cleaned excerpt
/// for an error status, and only the content type and length for a 2xx answer (which may
/// carry fresh credentials in a shape the redactor does not know).
pub fn json_object(resp: &Response) -> Result<Map<String, Value>> {
    if resp.body.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid(resp, "empty body".into()));
    }
    match serde_json::from_slice::<Value>(&resp.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid(resp, "JSON body is not an object".into())),
        Err(e) => {
            let what = match resp.content_type.as_deref() {
                Some(ct) if ct.contains("html") => "an HTML page, not JSON".to_owned(),
                _ => format!("not JSON ({e})"),
            };
            Err(invalid(resp, format!("body is {what}: {}", excerpt(resp))))
        }
    }
}

fn oauth_error_from(map: &Map<String, Value>, resp: &Response) -> Option<Error> {
    let code = map.get("error")?.as_str()?;
    let text = |key: &str| {
        map.get(key)
            .and_then(Value::as_str)
            .map(|s| resp.redactor.clean(s, DESCRIPTION_CHARS))
    };
    Some(Error::OAuth {
        endpoint: resp.endpoint.clone(),
        error: Box::new(OAuthError {
            error: resp.redactor.clean(code, CODE_CHARS),
            description: text("error_description"),
            uri: text("error_uri"),
            status: resp.status,
            provider_codes: map
                .get("error_codes")
                .and_then(Value::as_array)
                .map(|codes| codes.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default(),
        }),
    })
}

fn invalid(resp: &Response, reason: String) -> Error {
    Error::InvalidResponse {
        endpoint: resp.endpoint.clone(),
        status: Some(resp.status),
        reason: resp.redactor.scrub(&reason),
    }
}

/// A short, printable, scrubbed excerpt of a response body for error messages, in quotes.
///
/// The whole body is scrubbed first, then stripped of terminal control, then cut, so no
/// secret can be split at the cut. A 2xx body is never quoted: it is described by content
/// type and length, since it may hold new tokens.
pub fn excerpt(resp: &Response) -> String {
    if (200..300).contains(&resp.status) {
        return format!(
            "{} bytes of {} (a successful answer is not quoted: it may hold credentials)",
            resp.body.len(),
            resp.content_type
                .as_deref()
                .map(|ct| resp.redactor.clean(ct, 60))
                .unwrap_or_else(|| "an unnamed content type".into())
        );
    }
    let text = String::from_utf8_lossy(&resp.body);
    let clean = resp.redactor.clean(&text, usize::MAX);
    // Anything that looks like a long opaque credential is masked too.
    let masked: Vec<String> = clean
        .split(' ')
        .map(|w| {
            if w.len() >= 24
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.~+/=".contains(c))
            {
                crate::redact::REDACTED.into()
            } else {
                w.to_owned()
            }
        })
        .collect();
    format!(
        "\"{}\"",
        crate::redact::truncate(&masked.join(" "), EXCERPT_CHARS)
    )
}

/// Reads a duration in seconds given as a number or a numeric string, at most
/// [`limits::MAX_SECONDS`]; the error names the field.
pub(crate) fn seconds(
    map: &Map<String, Value>,
    key: &str,
) -> std::result::Result<Option<Duration>, String> {
    let value = match map.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match value.map(|v| (v, limits::span(v))) {
        Some((_, Some(span))) => Ok(Some(span)),
        Some((v, None)) if v.is_finite() && v > 0.0 => Err(format!(
            "'{key}' is more than {} seconds (10 years)",
            limits::MAX_SECONDS
        )),
        _ => Err(format!("'{key}' is not a number of seconds")),
    }
}

/// Reads an instant given as epoch seconds (number or string), an HTTP date or RFC 3339.
pub fn parse_instant(value: &Value) -> Option<SystemTime> {
    // Any instant a `SystemTime` can hold is far below 2^53 seconds; larger numbers are
    // refused before they reach `Duration`.
    let epoch = |secs: f64| {
        (secs.is_finite() && (0.0..MAX_EPOCH_SECS).contains(&secs))
            .then(|| UNIX_EPOCH + Duration::from_secs_f64(secs))
    };
    match value {
        Value::Number(n) => epoch(n.as_f64()?),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(secs) = s.parse::<f64>() {
                return epoch(secs);
            }
            httpdate::parse_http_date(s)
                .ok()
                .or_else(|| parse_rfc3339(s))
        }
        _ => None,
    }
}

/// Minimal RFC 3339 / ISO 8601 UTC parser (`2019-01-15T19:05:27Z`, optional fraction and
/// `+00:00`); other offsets are applied.
fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let (date, time) = s.split_once(['T', ' '])?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let (clock, offset) = match time.find(['Z', 'z', '+', '-']) {
        Some(i) => (&time[..i], &time[i..]),
        None => (time, "Z"),
    };
    let mut c = clock.split(':');
    let h: i64 = c.next()?.parse().ok()?;
    let mi: i64 = c.next()?.parse().ok()?;
    let sec: f64 = c.next().unwrap_or("0").parse().ok()?;
    let offset_secs = match offset {
        "Z" | "z" => 0,
        o => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (oh, om) = o[1..].split_once(':')?;
            let (oh, om) = (oh.parse::<i64>().ok()?, om.parse::<i64>().ok()?);
            if !(0..24).contains(&oh) || !(0..60).contains(&om) {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    // Bounded fields keep the arithmetic below from overflowing.
    let fields_in_range = (0..=9999).contains(&y)
        && (1..=12).contains(&mo)
        && (1..=31).contains(&da)
        && (0..=24).contains(&h)
        && (0..60).contains(&mi)
        && (0.0..61.0).contains(&sec);
    if !fields_in_range {
        return None;
    }
    // Days from civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + da - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 - offset_secs;
    (secs >= 0).then(|| {
        UNIX_EPOCH
            + Duration::from_secs_f64(secs as f64 + sec.fract())
            + Duration::from_secs(sec.trunc() as u64)
    })
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
