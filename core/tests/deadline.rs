//! One call's overall deadline, against the test provider's faults: per-attempt timeouts stop
//! retrying when the deadline would pass, a `Retry-After` that cannot be honoured is a
//! `rate_limited` error carrying it, and a body that stalls mid-read is a `timeout`.
//!
//! Attempts are counted by the provider's admin API. The tests share one route, so they run
//! one at a time.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{admin, broker, new_client, requests};
use tokenbroker::{Error, ErrorKind, TokenOptions};

const ROUTE: &str = "alliance.token";

/// The tests here inject faults on one route, so they take turns.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A memory-cached Alliance profile for a fresh client, with `http` as its `[http]` section.
async fn config(http: &str) -> String {
    let (id, secret) = new_client("deadline").await;
    format!(
        "[cache]\nstore = \"memory\"\n\n[http]\n{http}\n\n[profiles.p]\nprovider = \"alliance\"\n\
         client_id = \"{id}\"\nclient_secret = \"{secret}\"\n\
         token_url = \"{{P}}/API/v2/OAuth/token\"\n"
    )
}

/// One token call with `faults` queued first: its outcome, the attempts the provider saw and
/// how long it took. Faults left over are dropped afterwards.
async fn call(http: &str, faults: Value) -> (Result<String, Error>, u64, Duration) {
    let b = broker(&config(http).await);
    let before = requests(ROUTE).await;
    admin("faults", Some(faults)).await;
    let started = Instant::now();
    let outcome = b.token("p", &TokenOptions::default()).await;
    let took = started.elapsed();
    admin("faults/clear", Some(json!({}))).await;
    let attempts = requests(ROUTE).await - before;
    (outcome.map(|t| t.secret().to_owned()), attempts, took)
}

#[tokio::test]
async fn per_attempt_timeouts_stop_at_the_deadline() {
    let _serial = SERIAL.lock().await;
    // Each attempt hangs past its 3 s timeout; four attempts (13 s) would fit the retry count
    // but not the 5 s deadline.
    let hang = json!({"route": ROUTE, "kind": "delay", "delay_ms": 20_000, "count": 4});
    let (outcome, attempts, took) = call("timeout = 3\ndeadline = 5", hang).await;
    let err = outcome.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(
        attempts, 2,
        "a first attempt and one cut short by the deadline"
    );
    // Generous bound: the deadline plus scheduling slack on a loaded machine.
    assert!(took < Duration::from_secs(9), "took {took:?}");
}

#[tokio::test]
async fn retry_after_beyond_the_deadline_is_rate_limited_at_once() {
    let _serial = SERIAL.lock().await;
    let limited = json!({"route": ROUTE, "kind": "status", "status": 429, "retry_after": "120"});
    let (outcome, attempts, took) = call("deadline = 10", limited).await;
    let err = outcome.unwrap_err();
    assert_eq!(err.kind().as_str(), "rate_limited", "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)), "{err}");
    assert!(err.to_string().contains("120"), "{err}");
    assert_eq!(attempts, 1, "no retry before the server's Retry-After");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test]
async fn retry_after_beyond_the_longest_wait_is_rate_limited_not_retried_early() {
    let _serial = SERIAL.lock().await;
    let limited = json!({"route": ROUTE, "kind": "status", "status": 503, "retry_after": "20"});
    let (outcome, attempts, _) = call("deadline = 60\nmax_retry_wait = 2", limited).await;
    let err = outcome.unwrap_err();
    assert_eq!(err.kind().as_str(), "rate_limited", "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(20)), "{err}");
    assert_eq!(err.status(), Some(503), "{err}");
    assert_eq!(attempts, 1);
}

#[tokio::test]
async fn retry_after_within_the_deadline_is_honoured() {
    let _serial = SERIAL.lock().await;
    let busy = json!({"route": ROUTE, "kind": "status", "status": 503, "retry_after": "1"});
    let (outcome, attempts, _) = call("deadline = 10", busy).await;
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(attempts, 2);
}

#[tokio::test]
async fn a_body_that_stalls_mid_read_is_a_timeout() {
    let _serial = SERIAL.lock().await;
    let stall = json!({"route": ROUTE, "kind": "stall_body", "stall_ms": 30_000});
    let (outcome, attempts, _) = call("timeout = 1\ndeadline = 5\nmax_retries = 0", stall).await;
    let err = outcome.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(attempts, 1);
    // With retries, the stalled attempt is retried like any timeout and the next one answers.
    let stall = json!({"route": ROUTE, "kind": "stall_body", "stall_ms": 30_000});
    let (outcome, attempts, _) = call("timeout = 1\ndeadline = 5", stall).await;
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(attempts, 2);
}

#[tokio::test]
async fn a_deadline_no_clock_can_hold_or_zero_is_a_config_error() {
    for value in ["0", "-1", "1e300", "\"soon\""] {
        let text = config(&format!("deadline = {value}")).await;
        let text = text.replace("{P}", "http://127.0.0.1:9");
        let err = tokenbroker::Config::from_toml_str(&text).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{value}: {err}");
        assert!(err.to_string().contains("deadline"), "{value}: {err}");
    }
}
