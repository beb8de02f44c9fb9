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
    // Never more than any span the crate accepts: callers add it to clocks.
    assert_eq!(
        parse_retry_after("18446744073709551615"),
        Some(crate::limits::MAX_SPAN)
    );
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

const S: fn(u64) -> Duration = Duration::from_secs;

#[test]
fn a_retry_after_the_call_cannot_afford_is_a_rate_limit() {
    // Beyond what is left of the deadline, or beyond the longest wait: never cut short.
    assert_eq!(
        next(Wanted::After(S(120)), 0, 3, S(30), S(10)),
        Next::RateLimited(S(120))
    );
    assert_eq!(
        next(Wanted::After(S(20)), 0, 3, S(2), S(60)),
        Next::RateLimited(S(20))
    );
    // Also on the last attempt: the server's wait is what the caller needs to know.
    assert_eq!(
        next(Wanted::After(S(120)), 3, 3, S(30), S(10)),
        Next::RateLimited(S(120))
    );
    // Affordable: honoured exactly, while retries remain.
    assert_eq!(
        next(Wanted::After(S(1)), 0, 3, S(30), S(10)),
        Next::Retry(S(1))
    );
    assert_eq!(next(Wanted::After(S(1)), 3, 3, S(30), S(10)), Next::Stop);
}

#[test]
fn backoff_stops_at_the_deadline_and_the_retry_count() {
    assert_eq!(next(Wanted::No, 0, 3, S(30), S(10)), Next::Stop);
    assert!(matches!(
        next(Wanted::Backoff, 0, 3, S(30), S(10)),
        Next::Retry(d) if d <= Duration::from_millis(200)
    ));
    assert_eq!(next(Wanted::Backoff, 3, 3, S(30), S(10)), Next::Stop);
    // A wait that would reach the deadline leaves no time for another attempt.
    assert_eq!(
        next(Wanted::Backoff, 0, 3, S(30), Duration::from_millis(50)),
        Next::Stop
    );
    assert_eq!(
        next(Wanted::Backoff, 0, 3, S(30), Duration::ZERO),
        Next::Stop
    );
}
