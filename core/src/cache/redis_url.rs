//! Redis URLs in messages: shown without credentials, their password scrubbed from errors.

/// The URL without user name or password, for messages.
pub(super) fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_password(None);
            let _ = parsed.set_username("");
            parsed.to_string()
        }
        Err(_) => "<unparsable redis URL>".to_owned(),
    }
}

/// The password in `url`, raw and percent-decoded, to scrub from error text.
pub(super) fn url_secrets(url: &str) -> Vec<String> {
    let Some(raw) = url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_owned))
    else {
        return Vec::new();
    };
    // form_urlencoded turns '+' into a space; escaping it first leaves pure %-decoding.
    let query = format!("p={}", raw.replace('+', "%2B"));
    let decoded = url::form_urlencoded::parse(query.as_bytes()).map(|(_, v)| v.into_owned());
    std::iter::once(raw).chain(decoded).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials() {
        let url = "rediss://user:p%40ss-word@cache.example:6380/2";
        assert_eq!(redact_url(url), "rediss://cache.example:6380/2");
        assert_eq!(url_secrets(url), ["p%40ss-word", "p@ss-word"]);
        assert_eq!(url_secrets("redis://:a+b%2B@h/"), ["a+b%2B", "a+b+"]);
        assert_eq!(redact_url("not a url"), "<unparsable redis URL>");
    }
}
