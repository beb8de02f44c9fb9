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

#[test]
fn credentials_in_urls_are_refused_without_echoing_them() {
    for url in [
        "http://user:hunter2@127.0.0.1/token",
        "https://user@login.example.com/token",
        "https://:hunter2@login.example.com/token",
    ] {
        let err = check_endpoint(url).unwrap_err();
        assert!(err.contains("user name or password"), "{err}");
        assert!(!err.contains("hunter2") && !err.contains("user@"), "{err}");
    }
}

#[test]
fn timeouts_no_clock_can_hold_are_config_errors() {
    for (field, big) in [
        ("timeout", 1e308),
        ("connect_timeout", 1e19),
        ("max_retry_wait", f64::INFINITY),
    ] {
        let mut config = HttpConfig::default();
        match field {
            "timeout" => config.timeout_secs = big,
            "connect_timeout" => config.connect_timeout_secs = big,
            _ => config.max_retry_wait_secs = big,
        }
        let err = HttpClient::new(&config, &[]).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config, "{err}");
        assert!(err.to_string().contains(field), "{err}");
    }
}

/// A TCP listener on 127.0.0.1 that counts connections and answers each with `reply`.
async fn listener(reply: &'static str) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = s.read(&mut [0u8; 4096]).await;
            let _ = s.write_all(reply.as_bytes()).await;
        }
    });
    (port, hits)
}

#[tokio::test]
async fn loopback_never_goes_through_a_proxy_other_hosts_do() {
    use std::sync::atomic::Ordering;
    let (proxy_port, proxy_hits) =
        listener("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
    let (target_port, target_hits) =
        listener("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}").await;
    let config = HttpConfig {
        max_retries: 0,
        ..HttpConfig::default()
    };
    let proxy = reqwest::Proxy::all(format!("http://127.0.0.1:{proxy_port}")).unwrap();
    let client = HttpClient::with_proxy(&config, &[], Some(proxy)).unwrap();
    for host in ["127.0.0.1", "localhost"] {
        let url = Url::parse(&format!("http://{host}:{target_port}/token")).unwrap();
        let resp = client.send(&Request::get(url)).await.unwrap();
        assert_eq!(resp.status, 200, "{host}");
    }
    assert_eq!(target_hits.load(Ordering::SeqCst), 2);
    assert_eq!(
        proxy_hits.load(Ordering::SeqCst),
        0,
        "loopback went through the proxy"
    );
    // Any other host still uses the proxy (which answers 502 itself; nothing leaves 127.0.0.1).
    let url = Url::parse("http://token.example.invalid/token").unwrap();
    let resp = client.send(&Request::get(url)).await.unwrap();
    assert_eq!(resp.status, 502);
    assert_eq!(proxy_hits.load(Ordering::SeqCst), 1);
}
