use super::*;

fn resp(status: u16, body: &str) -> Response {
    Response {
        endpoint: "http://127.0.0.1/token".into(),
        status,
        content_type: Some("application/json".into()),
        cache_control: None,
        body: body.as_bytes().to_vec(),
        redactor: crate::redact::Redactor::new(["s3cr3t-value"]),
    }
}

fn expect() -> Expect<'static> {
    Expect {
        requested_scopes: &[],
        default_ttl: Duration::from_secs(300),
    }
}

#[test]
fn alliance_response_from_seed_000() {
    let r = resp(
        200,
        r#"{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ0eXAiOiJKV1Qi"}"#,
    );
    let t = token_response(&r, &expect()).unwrap();
    assert_eq!(t.access_token.expose(), "eyJ0eXAiOiJKV1Qi");
    let left = t.remaining_at(SystemTime::now()).as_secs();
    assert!((3597..=3599).contains(&left), "{left}");
}

#[test]
fn azure_v1_string_expiries_from_seed_004() {
    let body = r#"{"token_type": "Bearer", "scope": "user_impersonation", "expires_in": "3599",
        "ext_expires_in": "3599", "expires_on": "1547579127", "not_before": "1547575227",
        "resource": "https://api.partnercenter.microsoft.com", "access_token": "Access tokenValue",
        "refresh_token": "RefreshTokenValue"}"#;
    let t = token_response(&resp(200, body), &expect()).unwrap();
    assert!(t.remaining_at(SystemTime::now()).as_secs() >= 3597);
    assert_eq!(t.scopes, ["user_impersonation"]);
    assert_eq!(t.refresh_token.unwrap().expose(), "RefreshTokenValue");
}

#[test]
fn expires_on_alone_is_used() {
    let on = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let body = format!(r#"{{"access_token":"a","token_type":"bearer","expires_on":"{on}"}}"#);
    let t = token_response(&resp(200, &body), &expect()).unwrap();
    let left = t.remaining_at(SystemTime::now()).as_secs();
    assert!((595..=600).contains(&left), "{left}");
}

#[test]
fn rfc3339_and_http_dates() {
    let t = parse_instant(&Value::String("2019-01-15T19:05:27Z".into())).unwrap();
    assert_eq!(
        t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
        1_547_579_127
    );
    let t = parse_instant(&Value::String("2019-01-15T20:05:27+01:00".into())).unwrap();
    assert_eq!(
        t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
        1_547_579_127
    );
    let t = parse_instant(&Value::String("Tue, 15 Jan 2019 19:05:27 GMT".into())).unwrap();
    assert_eq!(
        t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
        1_547_579_127
    );
    assert!(parse_instant(&Value::String("tomorrow".into())).is_none());
}

#[test]
fn missing_expiry_uses_default_ttl() {
    let t = token_response(
        &resp(200, r#"{"access_token":"a","token_type":"Bearer"}"#),
        &expect(),
    )
    .unwrap();
    let left = t.remaining_at(SystemTime::now()).as_secs();
    assert!((298..=300).contains(&left));
}

#[test]
fn required_fields() {
    for (body, what) in [
        (r#"{"token_type":"Bearer"}"#, "'access_token' is missing"),
        (
            r#"{"access_token":"","token_type":"Bearer"}"#,
            "'access_token' is empty",
        ),
        (r#"{"access_token":"x"}"#, "'token_type' is missing"),
        (
            r#"{"access_token":"x","token_type":"Bearer","expires_in":"soon"}"#,
            "'expires_in' is not",
        ),
    ] {
        let err = token_response(&resp(200, body), &expect()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidResponse);
        assert!(err.to_string().contains(what), "{err}");
    }
}

#[test]
fn oauth_error_body_with_aadsts_codes() {
    let body = r#"{"error":"invalid_grant","error_description":"AADSTS70008: The refresh token has expired.","error_codes":[70008]}"#;
    let err = token_response(&resp(400, body), &expect()).unwrap_err();
    let oauth = err.oauth().unwrap();
    assert_eq!(oauth.error, "invalid_grant");
    assert_eq!(oauth.status, 400);
    assert_eq!(oauth.provider_codes, [70008]);
    assert!(
        oauth
            .description
            .as_deref()
            .unwrap()
            .starts_with("AADSTS70008")
    );
}

#[test]
fn echoed_secret_is_scrubbed() {
    let body = r#"{"error":"invalid_client","error_description":"secret s3cr3t-value is wrong"}"#;
    let err = token_response(&resp(401, body), &expect()).unwrap_err();
    let text = err.to_string();
    assert!(
        !text.contains("s3cr3t-value") && text.contains("[redacted]"),
        "{text}"
    );
}

#[test]
fn html_and_empty_and_non_object_bodies() {
    let mut html = resp(500, "<html><body><h1>Internal error</h1></body></html>");
    html.content_type = Some("text/html".into());
    let err = token_response(&html, &expect()).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::InvalidResponse);
    assert!(err.to_string().contains("HTML page"), "{err}");
    assert!(err.to_string().contains("Internal error"), "{err}");
    let err = token_response(&resp(200, "  "), &expect()).unwrap_err();
    assert!(err.to_string().contains("empty body"), "{err}");
    let err = token_response(&resp(200, "[1]"), &expect()).unwrap_err();
    assert!(err.to_string().contains("not an object"), "{err}");
    let err = token_response(&resp(200, r#"{"access_token":"#), &expect()).unwrap_err();
    assert!(err.to_string().contains("not JSON"), "{err}");
}

#[test]
fn excerpt_masks_token_like_words_and_truncates() {
    let body = format!(
        "leaked eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9 {}",
        "x ".repeat(200)
    );
    let e = excerpt(&resp(500, &body));
    assert!(!e.contains("eyJhbGci"), "{e}");
    assert!(e.ends_with("…\""), "{e}");
}

#[test]
fn non_2xx_without_error_field_is_invalid_response() {
    let err = error_response(&resp(502, r#"{"message":"bad gateway"}"#));
    assert_eq!(err.kind(), crate::ErrorKind::InvalidResponse);
    assert_eq!(err.status(), Some(502));
}

#[test]
fn a_successful_body_that_is_not_json_is_described_not_quoted() {
    let mut r = resp(200, "access_token=fresh-token-value-1&token_type=Bearer");
    r.content_type = Some("text/plain".into());
    let err = token_response(&r, &expect()).unwrap_err().to_string();
    assert!(!err.contains("fresh-token"), "{err}");
    assert!(
        err.contains("text/plain") && err.contains("50 bytes"),
        "{err}"
    );
}

#[test]
fn provider_text_is_scrubbed_before_it_is_cut_and_loses_escapes() {
    let escapes = r"\u001b]0;pwned\u0007";
    let description = format!("{}s3cr3t-value {escapes} end", "x".repeat(495));
    let body = format!(r#"{{"error":"invalid_client","error_description":"{description}"}}"#);
    let err = token_response(&resp(401, &body), &expect()).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("s3cr") && !text.contains('\u{1b}'), "{text}");
}

fn invalid_reason(body: &str) -> String {
    match token_response(&resp(200, body), &expect()) {
        Err(Error::InvalidResponse { reason, .. }) => reason,
        other => panic!("{body}: expected invalid_response, got {other:?}"),
    }
}

#[test]
fn lifetimes_no_clock_can_hold_are_invalid_responses_naming_the_field() {
    for field in ["expires_in", "expires_on", "refresh_in"] {
        for value in [
            "1e19",
            "1e300",
            "\"1e300\"",
            "1e12",
            "-5",
            "\"NaN\"",
            "\"inf\"",
        ] {
            let lifetime = if field == "refresh_in" {
                r#""expires_in":60,"#
            } else {
                ""
            };
            let body = format!(
                r#"{{"token_type":"Bearer","access_token":"a",{lifetime}"{field}":{value}}}"#
            );
            let reason = invalid_reason(&body);
            assert!(reason.contains(field), "{body}: {reason}");
        }
    }
}

#[test]
fn a_far_future_expiry_date_is_an_invalid_response() {
    let reason = invalid_reason(
        r#"{"token_type":"Bearer","access_token":"a","expires_on":"9999-12-31T23:59:59Z"}"#,
    );
    assert!(reason.contains("expires_on"), "{reason}");
}

#[test]
fn lifetimes_up_to_the_limit_are_kept() {
    let ten_years = crate::limits::MAX_SECONDS;
    let body = format!(
        r#"{{"token_type":"Bearer","access_token":"a","expires_in":{ten_years},"refresh_in":{ten_years}}}"#
    );
    let t = token_response(&resp(200, &body), &expect()).unwrap();
    assert!(t.remaining_at(SystemTime::now()).as_secs() > ten_years - 5);
}

#[test]
fn instants_beyond_any_clock_are_refused() {
    assert!(parse_instant(&serde_json::json!(1e300)).is_none());
    assert!(parse_instant(&serde_json::json!("1e19")).is_none());
    assert!(parse_instant(&serde_json::json!("99999999-01-01T00:00:00Z")).is_none());
    assert!(parse_instant(&serde_json::json!("2019-01-15T19:05:27Z")).is_some());
}
