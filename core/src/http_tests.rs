use super::*;

#[test]
fn http_only_on_loopback() {
    assert!(check_endpoint("http://127.0.0.1:8080/token").is_ok());
    assert!(check_endpoint("http://127.9.9.9/token").is_ok());
    assert!(check_endpoint("http://[::1]/token").is_ok());
    assert!(check_endpoint("http://localhost/token").is_ok());
    assert!(check_endpoint("https://login.example.com/token").is_ok());
    let err = check_endpoint("http://login.example.com/token").unwrap_err();
    assert!(err.contains("must use https"), "{err}");
    assert!(check_endpoint("ftp://127.0.0.1/x").is_err());
    assert!(check_endpoint("not a url").is_err());
}

#[test]
fn retry_after_seconds_and_dates() {
    assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
    let later = SystemTime::now() + Duration::from_secs(30);
    let d = parse_retry_after(&httpdate::fmt_http_date(later)).unwrap();
    assert!(
        d > Duration::from_secs(25) && d <= Duration::from_secs(30),
        "{d:?}"
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("soon"), None);
}

#[test]
fn one_shot_requests_retry_only_when_unprocessed() {
    assert!(retry_wait(Retry::Idempotent, 500));
    assert!(!retry_wait(Retry::OnlyUnprocessed, 500));
    assert!(retry_wait(Retry::OnlyUnprocessed, 503));
    assert!(!retry_wait(Retry::Idempotent, 400));
    assert!(!retry_wait(Retry::Idempotent, 401));
}

#[test]
fn backoff_grows_and_stays_in_range() {
    for attempt in 0..5 {
        let base = 200u64 << attempt;
        let d = backoff(attempt).as_millis() as u64;
        assert!(d >= base / 2 && d <= base, "attempt {attempt}: {d}");
    }
}

#[test]
fn endpoint_name_drops_query_and_credentials() {
    let url = Url::parse("https://u:p@h.example/token?code=abc#f").unwrap();
    assert_eq!(endpoint_name(&url), "https://h.example/token");
}
