//! Property test of the sidecar's request parsing, through the real `tokenbroker serve` (the
//! CLI is a binary crate, so its parsers are reached over TCP on 127.0.0.1): generated
//! request lines, targets, queries (`scope`, hostile `min_ttl`), Host and secret headers, and
//! raw bytes. Every request gets an HTTP answer, the server stays up, and only a GET/HEAD with
//! the right secret and a loopback Host is ever answered 200.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde_json::Value;
use support::{Env, Running, new_client};

/// One generated request and what the guards should make of it.
#[derive(Debug, Clone)]
struct Case {
    method: String,
    target: String,
    host: Option<String>,
    secret: Option<bool>,
    raw: Option<Vec<u8>>,
}

fn hostile_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "18446744073709551615",
            "18446744073709551616",
            "1e300",
            "-1",
            "-0",
            "0",
            "60",
            "%",
            "%zz",
            "%2",
            "%ff%fe",
            "%00",
            "a+b",
            "+",
        ])
        .prop_map(str::to_owned),
        "[!-~&&[^&#]]{0,40}",
        "[0-9]{1,60}",
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let query = prop::collection::vec(
        (
            prop::sample::select(vec!["scope", "min_ttl", "x", ""]),
            hostile_value(),
        ),
        0..4,
    )
    .prop_map(|pairs| {
        let parts: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        parts.join("&")
    });
    let path = prop_oneof![
        Just("/v1/health".to_owned()),
        Just("/v1/token/aos".to_owned()),
        Just("/v1/token/a%6Fs".to_owned()),
        hostile_value().prop_map(|p| format!("/v1/token/{p}")),
        "[!-~]{0,30}",
    ];
    let structured = (
        prop::sample::select(vec!["GET", "HEAD", "POST", "OPTIONS", "get", "BREW"]),
        path,
        prop::option::of(query),
        prop::option::of(prop_oneof![
            Just("127.0.0.1:{port}".to_owned()),
            Just("localhost".to_owned()),
            Just("evil.test:{port}".to_owned()),
            "[!-~]{0,20}",
        ]),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(method, path, query, host, secret)| Case {
            method: method.to_owned(),
            target: match query {
                Some(q) => format!("{path}?{q}"),
                None => path,
            },
            host,
            secret,
            raw: None,
        });
    let raw = prop::collection::vec(any::<u8>(), 0..512).prop_map(|raw| Case {
        method: String::new(),
        target: String::new(),
        host: None,
        secret: None,
        raw: Some(raw),
    });
    prop_oneof![4 => structured, 1 => raw]
}

/// A well-formed request with a loopback Host and the right secret.
fn good(method: &str, target: &str) -> Case {
    Case {
        method: method.into(),
        target: target.into(),
        host: Some("127.0.0.1:{port}".into()),
        secret: Some(true),
        raw: None,
    }
}

/// Sends `case`, half-closes, and reads the whole answer (or fails after 20 s).
fn send(port: u16, secret: &str, case: &Case) -> Result<String, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    let request = match &case.raw {
        Some(raw) => [raw.as_slice(), b"\r\n\r\n"].concat(),
        None => {
            let mut text = format!("{} {} HTTP/1.1\r\n", case.method, case.target);
            if let Some(host) = &case.host {
                text.push_str(&format!(
                    "Host: {}\r\n",
                    host.replace("{port}", &port.to_string())
                ));
            }
            match case.secret {
                Some(true) => text.push_str(&format!("X-Tokenbroker-Secret: {secret}\r\n")),
                Some(false) => text.push_str("X-Tokenbroker-Secret: wrong\r\n"),
                None => {}
            }
            text.push_str("Connection: close\r\n\r\n");
            text.into_bytes()
        }
    };
    let _ = stream.write_all(&request);
    let _ = stream.shutdown(Shutdown::Write);
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .map_err(|e| format!("no complete answer: {e}"))?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

#[test]
fn sidecar_answers_every_request_and_guards_hold() {
    let (id, client_secret) = new_client("serve-prop");
    let env = Env::new(&format!(
        "[profiles.aos]\nprovider = \"alliance\"\nclient_id = \"{id}\"\nclient_secret = \"{client_secret}\"\ntoken_url = \"{{P}}/API/v2/OAuth/token\"\n"
    ));
    let mut run = Running::spawn(env.cmd(&["serve", "--port", "0"]));
    let line: Value = serde_json::from_str(&run.stdout_line()).unwrap();
    let port: u16 = line["url"].as_str().unwrap()["http://127.0.0.1:".len()..]
        .parse()
        .unwrap();
    let secret = line["secret"].as_str().unwrap().to_owned();
    let mut runner = TestRunner::new(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let check = |case: Case| -> Result<(), TestCaseError> {
        let answer = send(port, &secret, &case).map_err(TestCaseError::fail)?;
        // Bytes that are only line breaks hold no request: RFC 9112 §2.2 has a server ignore
        // empty lines before a request-line, so the connection may close without an answer.
        let no_request = case
            .raw
            .as_deref()
            .is_some_and(|raw| raw.iter().all(|b| matches!(b, b'\r' | b'\n')));
        if no_request && answer.is_empty() {
            return Ok(());
        }
        let status: u16 = answer
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| TestCaseError::fail(format!("not an HTTP answer: {answer:?}")))?;
        if status == 200 {
            let host_ok = case
                .host
                .as_deref()
                .is_some_and(|h| ["127.0.0.1:{port}", "localhost"].contains(&h));
            prop_assert!(case.raw.is_none() && host_ok && case.secret == Some(true));
            prop_assert!(case.method == "GET" || case.method == "HEAD");
        }
        Ok(())
    };
    // Known hostile requests first: a cached token, then a min_ttl past the end of the clock.
    for target in [
        "/v1/token/aos",
        "/v1/token/aos?min_ttl=18446744073709551615",
    ] {
        let case = good("GET", target);
        if let Err(e) = check(case.clone()) {
            panic!("{case:?}: {e}");
        }
    }
    if let Err(e) = runner.run(&case(), check) {
        panic!("{e}");
    }
    let health =
        send(port, &secret, &good("GET", "/v1/health")).expect("the sidecar still answers");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    drop(run);
}
