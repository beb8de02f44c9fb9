//! Hostile local HTTP clients for the project's loopback servers (the login listener and the
//! CLI sidecar): absurd lengths, endless heads, idle and dribbling connections. Blocking;
//! call them from a thread or `spawn_blocking`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// How long a refused request may take to be answered or closed.
pub const PROMPT: Duration = Duration::from_secs(5);

/// What a server did with one request.
#[derive(Debug)]
pub struct Answer {
    /// Everything the server sent.
    pub text: String,
    /// Whether the server closed the connection (EOF or reset) before the read limit.
    pub closed: bool,
    /// From connecting to the close (or the read limit).
    pub took: Duration,
}

impl Answer {
    /// The status code of the answer's status line.
    pub fn status(&self) -> Option<u16> {
        self.text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
    }
}

/// Sends `request` and reads until the server closes or `limit` passes.
pub fn exchange(addr: &str, request: &[u8], limit: Duration) -> Answer {
    let began = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(limit)).unwrap();
    let _ = stream.write_all(request);
    let mut out = Vec::new();
    let closed = read_to_close(&mut stream, &mut out);
    answer(out, closed, began)
}

/// Sends `start` and then header bytes that never end (up to 8 MiB), and reads what the
/// server says; a server that reads without bound never closes within [`PROMPT`] x 2.
pub fn endless_head(addr: &str, start: &str) -> Answer {
    let began = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PROMPT)).unwrap();
    stream.set_write_timeout(Some(PROMPT)).unwrap();
    let _ = stream.write_all(format!("{start}X-Endless: ").as_bytes());
    let chunk = [b'a'; 8192];
    for _ in 0..1024 {
        if stream.write_all(&chunk).is_err() {
            break;
        }
    }
    let mut out = Vec::new();
    let closed = read_to_close(&mut stream, &mut out);
    answer(out, closed, began)
}

/// `n` connections that send nothing; they stay open until dropped.
pub fn idle_connections(addr: &str, n: usize) -> Vec<TcpStream> {
    (0..n).map(|_| TcpStream::connect(addr).unwrap()).collect()
}

/// Sends `start`, then one byte every 500 ms until the server closes the connection (or
/// `limit` passes); returns how long the server kept it.
pub fn slow_loris(addr: &str, start: &[u8], limit: Duration) -> Duration {
    let began = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let _ = stream.write_all(start);
    let mut out = Vec::new();
    while began.elapsed() < limit {
        if stream.write_all(b"a").is_err() || read_to_close(&mut stream, &mut out) {
            break;
        }
    }
    began.elapsed()
}

/// Reads until EOF (true) or a read timeout (false); a reset counts as closed.
fn read_to_close(stream: &mut TcpStream, out: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

fn answer(out: Vec<u8>, closed: bool, began: Instant) -> Answer {
    Answer {
        text: String::from_utf8_lossy(&out).into_owned(),
        closed,
        took: began.elapsed(),
    }
}
