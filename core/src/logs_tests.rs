use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing_subscriber::layer::SubscriberExt;

use super::*;
use crate::Secret;

/// Runs `emit` under a subscriber forwarding what a filter at `level` lets through; returns
/// the records and the filter (to change the level inside `emit`).
fn forwarded(level: Option<Level>, emit: impl FnOnce(&'static LogFilter)) -> Vec<LogRecord> {
    let filter: &'static LogFilter = Box::leak(Box::new(LogFilter::new(level)));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let seen = Arc::clone(&seen);
        move |r: LogRecord| seen.lock().unwrap().push(r)
    };
    let subscriber = tracing_subscriber::registry().with(ForwardLayer::new(filter, sink));
    tracing::subscriber::with_default(subscriber, || emit(filter));
    std::mem::take(&mut *seen.lock().unwrap())
}

fn messages(records: &[LogRecord]) -> Vec<&str> {
    records.iter().map(|r| r.message.as_str()).collect()
}

fn record(message: &str) -> LogRecord {
    LogRecord {
        level: Level::INFO,
        target: "tokenbroker.test".into(),
        message: message.into(),
        file: "test.rs",
        line: 1,
    }
}

#[test]
fn only_the_cores_events_are_forwarded() {
    let records = forwarded(Some(Level::TRACE), |_| {
        tracing::info!(target: "hyper::client", "from hyper");
        tracing::warn!(target: "rustls", "from rustls");
        tracing::info!(target: "tokenbroker_cli::sidecar", "from the cli");
        tracing::info!("from the core");
    });
    assert_eq!(messages(&records), ["from the cli", "from the core"]);
}

#[test]
fn events_below_the_level_are_not_forwarded_and_the_level_can_change() {
    let records = forwarded(Some(Level::INFO), |filter| {
        tracing::debug!("debug at info");
        tracing::info!("info at info");
        tracing::error!("error at info");
        filter.set(Some(Level::TRACE));
        tracing::trace!("trace at trace");
        filter.set(None);
        tracing::error!("error when off");
    });
    assert_eq!(
        messages(&records),
        ["info at info", "error at info", "trace at trace"]
    );
}

#[test]
fn the_filter_reports_its_level() {
    let filter = LogFilter::new(None);
    assert_eq!(filter.max(), None);
    for level in [
        Level::ERROR,
        Level::WARN,
        Level::INFO,
        Level::DEBUG,
        Level::TRACE,
    ] {
        filter.set(Some(level));
        assert_eq!(filter.max(), Some(level));
    }
    assert_eq!(DEFAULT_LEVEL, Level::DEBUG);
}

#[test]
fn a_record_has_the_spans_message_fields_dotted_target_level_and_source() {
    let mut line = 0;
    let records = forwarded(Some(Level::TRACE), |_| {
        let outer = tracing::info_span!("fetch", profile = "p", attempt = 2);
        let _outer = outer.enter();
        let inner = tracing::debug_span!("http");
        let _inner = inner.enter();
        line = line!() + 1;
        tracing::warn!(status = 503, reason = %"busy", "retrying");
    });
    let [r] = records.as_slice() else {
        panic!("one record expected: {records:?}");
    };
    assert_eq!(r.level, Level::WARN);
    assert_eq!(r.target, "tokenbroker.logs.tests");
    assert_eq!(
        r.message,
        "fetch{profile=p attempt=2}: http: retrying status=503 reason=busy"
    );
    assert!(r.file.ends_with("logs_tests.rs"), "{}", r.file);
    assert_eq!(r.line, line);
}

#[test]
fn an_event_without_a_message_has_its_fields_only() {
    let records = forwarded(Some(Level::TRACE), |_| {
        tracing::info!(profile = "p", ttl = 60);
    });
    assert_eq!(messages(&records), [" profile=p ttl=60"]);
}

#[test]
fn secret_fields_of_events_and_spans_are_redacted() {
    let secret = Secret::new("s3cr3t-value-789");
    let records = forwarded(Some(Level::TRACE), |_| {
        let span = tracing::info_span!("register", token = ?secret);
        let _span = span.enter();
        tracing::info!(client_secret = %secret, refresh = ?secret, "sent {}", secret);
    });
    let [r] = records.as_slice() else {
        panic!("one record expected: {records:?}");
    };
    assert!(!r.message.contains("s3cr3t"), "{}", r.message);
    assert_eq!(
        r.message,
        "register{token=Secret([redacted])}: sent [redacted] \
         client_secret=[redacted] refresh=Secret([redacted])"
    );
}

#[test]
fn a_full_queue_drops_the_oldest_and_warns_first_about_them() {
    let queue: &'static LogQueue = Box::leak(Box::new(LogQueue::with_cap(3)));
    for i in 0..5 {
        queue.push(record(&format!("r{i}")));
    }
    let taken = queue.take();
    assert_eq!(taken[0], dropped_notice(2));
    assert_eq!(taken[0].level, Level::WARN);
    assert_eq!(taken[0].target, "tokenbroker");
    assert_eq!(taken[0].message, "2 log events were dropped (queue full)");
    assert_eq!(messages(&taken[1..]), ["r2", "r3", "r4"]);
    // Counted once: the next batch has no warning.
    queue.push(record("r5"));
    assert_eq!(messages(&queue.try_take().unwrap()), ["r5"]);
    assert!(queue.take().is_empty());
}

#[test]
fn the_default_queue_holds_queue_cap_records() {
    let queue: &'static LogQueue = Box::leak(Box::new(LogQueue::new()));
    for _ in 0..=QUEUE_CAP {
        queue.push(record("r"));
    }
    let taken = queue.take();
    assert_eq!(taken.len(), QUEUE_CAP + 1);
    assert_eq!(taken[0], dropped_notice(1));
}

#[test]
fn drop_count_counts_until_taken() {
    let count = DropCount::new();
    assert_eq!(count.take(), 0);
    count.add(1);
    count.add(2);
    assert_eq!(count.take(), 3);
    assert_eq!(count.take(), 0);
}

#[test]
fn try_take_gives_way_while_the_lock_is_held() {
    let queue: &'static LogQueue = Box::leak(Box::new(LogQueue::new()));
    queue.push(record("r"));
    let hold = queue.hold_for_fork();
    assert!(queue.try_take().is_none());
    assert!(!queue.settled_now());
    drop(hold);
    assert!(queue.settled_now());
    assert_eq!(messages(&queue.try_take().unwrap()), ["r"]);
}

#[test]
fn a_forked_child_starts_with_nothing_queued() {
    let queue: &'static LogQueue = Box::leak(Box::new(LogQueue::with_cap(1)));
    queue.push(record("parent 1"));
    queue.push(record("parent 2"));
    queue.hold_for_fork().release_in_child();
    queue.push(record("child"));
    assert_eq!(messages(&queue.take()), ["child"]);
}

#[test]
fn a_batch_is_in_flight_until_its_guard_drops() {
    let queue: &'static LogQueue = Box::leak(Box::new(LogQueue::new()));
    queue.push(record("r"));
    let (batch, in_flight) = queue.wait_batch();
    assert_eq!(messages(&batch), ["r"]);
    assert!(!queue.settled_now());
    std::thread::scope(|s| {
        s.spawn(move || drop(in_flight));
        queue.wait_settled(Duration::from_secs(60));
    });
    assert!(queue.settled_now());
}

static DELIVERED: Mutex<Vec<LogRecord>> = Mutex::new(Vec::new());

fn deliver(records: Vec<LogRecord>) -> bool {
    DELIVERED.lock().unwrap().extend(records);
    true
}

#[test]
fn the_forwarder_thread_delivers_pushed_records() {
    static QUEUE: LogQueue = LogQueue::with_forwarder(deliver);
    QUEUE.push(record("one"));
    QUEUE.push(record("two"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while DELIVERED.lock().unwrap().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(messages(&DELIVERED.lock().unwrap()), ["one", "two"]);
}
