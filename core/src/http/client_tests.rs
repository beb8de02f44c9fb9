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
