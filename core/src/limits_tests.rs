use super::*;
use crate::config::Config;
use crate::error::ErrorKind;

#[test]
fn caller_seconds_beyond_the_limit_are_config_errors_naming_the_field() {
    for bad in [
        1e19,
        1e300,
        f64::INFINITY,
        f64::NAN,
        -1.0,
        MAX_SECONDS as f64 + 1.0,
    ] {
        let err = seconds_arg("min_ttl", bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{bad}: {err}");
        assert!(err.to_string().contains("min_ttl"), "{err}");
    }
    assert_eq!(
        seconds_arg("min_ttl", 1.5).unwrap(),
        Duration::from_millis(1500)
    );
    assert_eq!(
        seconds_arg("min_ttl", MAX_SECONDS as f64).unwrap(),
        MAX_SPAN
    );
    assert!(duration_arg("min_ttl", Duration::MAX).is_err());
}

#[test]
fn counts_are_whole_numbers_in_range() {
    assert_eq!(count(3.0, 0..=10), Some(3));
    for bad in [1e19, 11.0, -1.0, 2.5, f64::NAN] {
        assert_eq!(count(bad, 0..=10), None, "{bad}");
    }
}

fn config_error(toml: &str) -> String {
    match Config::from_toml_str(toml) {
        Err(err) if err.kind() == ErrorKind::Config => err.to_string(),
        other => panic!("{toml}: expected a config error, got {other:?}"),
    }
}

#[test]
fn config_numbers_out_of_range_name_their_key() {
    for (section, key, value) in [
        ("http", "timeout", "1e308"),
        ("http", "connect_timeout", "1e19"),
        ("http", "max_retry_wait", "1e300"),
        ("http", "max_retries", "1e19"),
        ("http", "max_retries", "-1"),
        ("http", "max_retries", "2.5"),
        ("cache", "default_ttl", "1e300"),
        ("cache", "default_ttl", "-5"),
        ("cache", "max_entries", "1e300"),
        ("cache", "max_entries", "0.5"),
        ("cache", "refresh_share", "nan"),
        ("cache", "refresh_jitter", "inf"),
    ] {
        let err = config_error(&format!("[{section}]\n{key} = {value}\n"));
        assert!(
            err.contains(&format!("key '{key}'")),
            "{key} = {value}: {err}"
        );
    }
}

#[test]
fn stored_instants_are_clamped_to_the_limit() {
    let now = SystemTime::now();
    let far = now + Duration::from_secs(MAX_SECONDS * 100);
    assert_eq!(clamp_instant(far, now), now + MAX_SPAN);
    let near = now + Duration::from_secs(60);
    assert_eq!(clamp_instant(near, now), near);
}
