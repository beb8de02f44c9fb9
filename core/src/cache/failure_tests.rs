use super::*;
use crate::limits::{DEFAULT_FAILURE_HOLD, MAX_FAILURE_HOLD};

fn outage() -> Error {
    Error::OAuth {
        endpoint: "http://127.0.0.1:1/token".into(),
        error: Box::new(OAuthError {
            error: "temporarily_unavailable".into(),
            description: Some("down".into()),
            uri: None,
            status: 503,
            provider_codes: vec![7],
        }),
    }
}

#[test]
fn a_record_gives_back_the_same_error() {
    let now = SystemTime::now();
    let errors = [
        outage(),
        Error::Transport {
            endpoint: "http://h/t".into(),
            reason: "connection refused".into(),
        },
        Error::Timeout {
            endpoint: "http://h/t".into(),
            after: Duration::from_millis(1500),
        },
        Error::InvalidResponse {
            endpoint: "http://h/t".into(),
            status: Some(502),
            reason: "not JSON".into(),
        },
    ];
    for e in errors {
        let record = FailureRecord::from_error(&e, None, DEFAULT_FAILURE_HOLD, now).unwrap();
        let back = FailureRecord::from_json(&record.to_json())
            .unwrap()
            .to_error();
        assert_eq!(back.kind(), e.kind());
        assert_eq!(back.to_string(), e.to_string());
        assert_eq!(record.remaining(now), DEFAULT_FAILURE_HOLD);
    }
}

#[test]
fn only_outages_are_shared() {
    let now = SystemTime::now();
    let mut refused = outage();
    if let Error::OAuth { error, .. } = &mut refused {
        error.status = 401;
    }
    assert!(FailureRecord::from_error(&refused, None, DEFAULT_FAILURE_HOLD, now).is_none());
    assert!(
        FailureRecord::from_error(&Error::cache("x"), None, DEFAULT_FAILURE_HOLD, now).is_none()
    );
    assert!(
        FailureRecord::from_error(&Error::config("a", "b"), None, DEFAULT_FAILURE_HOLD, now)
            .is_none()
    );
}

#[test]
fn the_hold_follows_retry_after_within_bounds() {
    let now = SystemTime::now();
    let e = outage();
    let held = |s| {
        FailureRecord::from_error(&e, Some(Duration::from_secs(s)), DEFAULT_FAILURE_HOLD, now)
            .unwrap()
            .remaining(now)
    };
    assert_eq!(held(0), Duration::from_secs(1));
    assert_eq!(held(12), Duration::from_secs(12));
    assert_eq!(held(3600), MAX_FAILURE_HOLD);
    let record =
        FailureRecord::from_error(&e, Some(Duration::from_secs(12)), DEFAULT_FAILURE_HOLD, now)
            .unwrap();
    assert_eq!(record.retry_after(), Some(Duration::from_secs(12)));
    assert!(!record.is_active(now + Duration::from_secs(13)));
    // A record claiming a far future is cut to the longest hold.
    let mut forged = record.clone();
    forged.until_ms = u64::MAX;
    assert_eq!(forged.remaining(now), MAX_FAILURE_HOLD);
}

#[test]
fn long_fields_are_bounded() {
    let e = Error::Transport {
        endpoint: "http://h/t".into(),
        reason: "x".repeat(100_000),
    };
    let record =
        FailureRecord::from_error(&e, None, DEFAULT_FAILURE_HOLD, SystemTime::now()).unwrap();
    assert!(record.to_json().len() < 4 * MAX_TEXT);
}

#[test]
fn a_rate_limit_is_shared_with_its_retry_after_and_held_for_it() {
    let now = SystemTime::now();
    let e = Error::RateLimited {
        endpoint: "http://h/t".into(),
        status: 429,
        retry_after: Duration::from_secs(12),
    };
    let record = FailureRecord::from_error(&e, e.retry_after(), DEFAULT_FAILURE_HOLD, now)
        .expect("a rate limit is shared");
    let back = FailureRecord::from_json(&record.to_json())
        .unwrap()
        .to_error();
    assert_eq!(back.kind(), crate::ErrorKind::RateLimited);
    assert_eq!(back.retry_after(), Some(Duration::from_secs(12)));
    assert_eq!(back.to_string(), e.to_string());
    assert_eq!(record.remaining(now), Duration::from_secs(12));
}
