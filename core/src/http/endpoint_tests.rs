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
