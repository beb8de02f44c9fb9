use std::io::{Read, Write};

use super::*;

/// Answers with the method, path and body length it saw.
struct Echo;

impl Handler for Echo {
    async fn handle(&self, request: Request) -> Response {
        let text = format!(
            "{} {} {}",
            request.method,
            request.uri.path(),
            request.body.len()
        );
        Response {
            status: 200,
            content_type: "text/plain",
            headers: vec![("X-Echo", "yes")],
            body: text.into_bytes(),
        }
    }

    fn refuse(&self, status: u16, why: &str) -> Response {
        Response {
            status,
            content_type: "text/plain",
            headers: Vec::new(),
            body: format!("refused: {why}").into_bytes(),
        }
    }
}

const LIMITS: Limits = Limits {
    max_head_bytes: 8 * 1024,
    max_body_bytes: 16,
    head_timeout: Duration::from_secs(10),
    body_timeout: Duration::from_secs(10),
    connection_timeout: Duration::from_secs(30),
};

/// Starts an echo server; returns its address and the sender that stops it.
async fn echo_server() -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let server = LocalServer::bind("127.0.0.1:0".parse().unwrap(), LIMITS)
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.serve(Arc::new(Echo), async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// Sends raw bytes and reads the whole answer, off the runtime.
async fn raw(addr: SocketAddr, request: &'static str) -> String {
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = stream.read_to_string(&mut out);
        out
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn answers_one_request_per_connection_with_the_common_headers() {
    let (addr, _stop) = echo_server().await;
    let answer = raw(
        addr,
        "POST /a/b?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    for header in [
        "Content-Type: text/plain",
        "Cache-Control: no-store",
        "X-Content-Type-Options: nosniff",
        "Connection: close",
        "X-Echo: yes",
    ] {
        assert!(answer.contains(header), "{header} missing: {answer}");
    }
    assert!(answer.ends_with("\r\n\r\nPOST /a/b 5"), "{answer}");

    let answer = raw(addr, "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n"), "no body for HEAD: {answer}");
}

#[tokio::test]
async fn refuses_bodies_over_the_limit_before_reading_them() {
    let (addr, _stop) = echo_server().await;
    for length in ["17", "18446744073709551613", "18446744073709551615"] {
        let request = format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n");
        let answer = raw(addr, Box::leak(request.into_boxed_str())).await;
        assert!(
            answer.starts_with("HTTP/1.1 413 ") || answer.starts_with("HTTP/1.1 431 "),
            "Content-Length {length}: {answer}"
        );
    }
    // A chunked body that grows past the limit.
    let answer = raw(
        addr,
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n20\r\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n0\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(answer.contains("refused: The request body is too large."));
}

#[tokio::test]
async fn refuses_heads_over_the_limit() {
    let (addr, _stop) = echo_server().await;
    let pad = "a".repeat(9 * 1024);
    let request = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Pad: {pad}\r\n\r\n");
    let answer = raw(addr, Box::leak(request.into_boxed_str())).await;
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
}

#[tokio::test]
async fn binds_loopback_only_and_stops_when_told() {
    let err = LocalServer::bind("0.0.0.0:0".parse().unwrap(), LIMITS)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);

    let server = LocalServer::bind("127.0.0.1:0".parse().unwrap(), LIMITS)
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    server.serve(Arc::new(Echo), async {}).await;
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still listening"
    );
}
