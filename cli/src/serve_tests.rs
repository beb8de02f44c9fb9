use super::secret::{constant_time_eq, random_secret};
use super::*;

#[test]
fn hosts() {
    assert!(host_allowed("127.0.0.1:8080", 8080));
    assert!(host_allowed("localhost:8080", 8080));
    assert!(host_allowed("LOCALHOST", 8080));
    assert!(host_allowed("127.0.0.1", 8080));
    assert!(!host_allowed("127.0.0.1:8081", 8080));
    assert!(!host_allowed("evil.example:8080", 8080));
    assert!(!host_allowed("127.0.0.1.evil.example", 8080));
    assert!(!host_allowed("localhost:80:80", 8080));
    assert!(!host_allowed("", 8080));
}

#[test]
fn secrets_compare_exactly() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"abcd"));
    assert_eq!(random_secret().len(), 64);
    assert_ne!(random_secret(), random_secret());
}

#[test]
fn decoding() {
    assert_eq!(percent_decode("a%20b"), "a b");
    assert_eq!(percent_decode("a%2"), "a%2");
    assert_eq!(percent_decode("%zz"), "%zz");
    assert_eq!(percent_decode("my%2Dprofile"), "my-profile");
}
