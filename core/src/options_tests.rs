use super::*;
use crate::ErrorKind;
use crate::scopes::ScopesArg;

fn list(items: &[&str]) -> ScopesArg {
    ScopesArg::List(items.iter().map(|s| s.to_string()).collect())
}

#[test]
fn a_scope_string_splits_on_any_whitespace() {
    let text = ScopesArg::Text(" read  write\tadmin\n".into());
    assert_eq!(text.parse("scopes").unwrap(), ["read", "write", "admin"]);
    assert!(
        ScopesArg::Text("  ".into())
            .parse("scopes")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn list_items_must_be_scope_tokens() {
    assert_eq!(
        list(&["https://graph.microsoft.com/.default", "a:b"])
            .parse("scopes")
            .unwrap(),
        ["https://graph.microsoft.com/.default", "a:b"]
    );
    for bad in [
        "read write",
        "",
        "quote\"d",
        "back\\slash",
        "ümlaut",
        "tab\t",
    ] {
        let e = list(&["ok", bad]).parse("scopes").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{bad:?}");
        assert!(e.to_string().contains("scopes"), "{e}");
    }
}

#[test]
fn min_ttl_defaults_to_zero_and_refuses_what_is_not_a_span() {
    assert_eq!(min_ttl_arg(None).unwrap(), Duration::ZERO);
    assert_eq!(min_ttl_arg(Some(1.5)).unwrap(), Duration::from_millis(1500));
    for bad in [-1.0, f64::NAN, f64::INFINITY, 1e300] {
        let e = min_ttl_arg(Some(bad)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("min_ttl"), "{e}");
    }
}

#[test]
fn a_timeout_must_be_above_zero() {
    let default = Duration::from_secs(300);
    assert_eq!(timeout_arg("timeout", None, default).unwrap(), default);
    assert_eq!(
        timeout_arg("timeout", Some(2.0), default).unwrap(),
        Duration::from_secs(2)
    );
    for bad in [0.0, -1.0, f64::NAN, 1e300] {
        let e = timeout_arg("timeout", Some(bad), default).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{bad}");
        assert!(e.to_string().contains("timeout"), "{e}");
    }
}
