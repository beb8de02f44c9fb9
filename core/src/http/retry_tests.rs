use super::*;

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
