use super::*;

#[test]
fn timeouts_no_clock_can_hold_are_config_errors() {
    for (field, big) in [
        ("timeout", 1e308),
        ("connect_timeout", 1e19),
        ("max_retry_wait", f64::INFINITY),
        ("deadline", f64::NAN),
    ] {
        let mut config = HttpConfig::default();
        match field {
            "timeout" => config.timeout_secs = big,
            "connect_timeout" => config.connect_timeout_secs = big,
            "deadline" => config.deadline_secs = big,
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

/// A CA certificate (EC P-256, valid until 2126; its key was thrown away): a valid `ca_file`.
const UNIT_TEST_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBrTCCAVOgAwIBAgIUFn6xZMUshDhJpiqYEfI4KSac6yswCgYIKoZIzj0EAwIw
IzEhMB8GA1UEAwwYdG9rZW5icm9rZXIgdW5pdC10ZXN0IENBMCAXDTI2MTIwMzA2
NDg1NVoYDzIxMjYxMTA5MDY0ODU1WjAjMSEwHwYDVQQDDBh0b2tlbmJyb2tlciB1
bml0LXRlc3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARxVTJ7yzy/gzY5
mNOKsLOMbYYMtjIydvPywRqRJ566NcwTKGRQOXTcgRnQZz1j3ACKbZzHaFRjoj5E
4c9kxly2o2MwYTAdBgNVHQ4EFgQUgYD5RvnqktS/taQ9iORQOyIn5ecwHwYDVR0j
BBgwFoAUgYD5RvnqktS/taQ9iORQOyIn5ecwDwYDVR0TAQH/BAUwAwEB/zAOBgNV
HQ8BAf8EBAMCAgQwCgYIKoZIzj0EAwIDSAAwRQIgIXJEPtyzGhfBiGigrgs6AVJQ
RRDHwzaM2SAs8+bpcPYCIQCqi8e6tQFJUiVr9aphL1HuvKvkNP3oTgyE3FJ5gZkX
gQ==
-----END CERTIFICATE-----
";

#[tokio::test]
async fn clients_with_the_same_settings_share_one_pool_built_on_the_first_request() {
    let dir = std::env::temp_dir().join(format!("tb-http-shared-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    let _ = std::fs::remove_file(&ca);
    let config = HttpConfig {
        max_retries: 0,
        ca_file: Some(ca.clone()),
        ..HttpConfig::default()
    };
    // The CA file does not exist yet: building clients reads nothing.
    let a = HttpClient::new(&config, &[]).unwrap();
    let b = HttpClient::new(&config, std::slice::from_ref(&ca)).unwrap();
    assert_eq!(a.transport, b.transport, "same settings, same transport");
    let other = HttpConfig {
        connect_timeout_secs: 9.5,
        ..config.clone()
    };
    assert_ne!(a.transport, HttpClient::new(&other, &[]).unwrap().transport);
    assert_eq!(a.transport.builds(), 0, "built before any request");

    let (port, hits) =
        listener("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}").await;
    let url = Url::parse(&format!("http://127.0.0.1:{port}/token")).unwrap();
    // The first request reads the file: a missing or broken one is a config error naming it.
    let err = a.send(&Request::get(url.clone())).await.unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("ca_file") && err.to_string().contains("cannot read"));
    std::fs::write(&ca, "not a certificate").unwrap();
    let err = a.send(&Request::get(url.clone())).await.unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("ca_file"), "{err}");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);

    // Fixed without a restart; then both clients use the pool built once.
    std::fs::write(&ca, UNIT_TEST_CA).unwrap();
    assert_eq!(
        a.send(&Request::get(url.clone())).await.unwrap().status,
        200
    );
    assert_eq!(b.send(&Request::get(url)).await.unwrap().status, 200);
    assert_eq!(a.transport.builds(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
