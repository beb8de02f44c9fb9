use crate::ErrorKind;
use crate::config::Config;

fn cache(body: &str) -> crate::Result<Config> {
    Config::from_toml_str(&format!("[cache]\nstore = \"redis\"\n{body}"))
}

fn config_error(body: &str) -> String {
    let err = cache(body).expect_err(body);
    assert_eq!(err.kind(), ErrorKind::Config, "{body}: {err}");
    err.to_string()
}

#[test]
fn cluster_nodes_are_read_as_a_list() {
    let c = cache("redis_cluster_nodes = [\"redis://127.0.0.1:7001\", \"redis://127.0.0.1:7002\"]")
        .unwrap();
    assert_eq!(
        c.cache.redis_cluster_nodes,
        ["redis://127.0.0.1:7001", "redis://127.0.0.1:7002"]
    );
    assert!(c.cache.redis_url.is_none());
}

#[test]
fn sentinels_need_a_master_name_and_the_other_way_round() {
    let c = cache(
        "redis_sentinels = [\"redis://127.0.0.1:26379\"]\nredis_sentinel_master = \"mymaster\"",
    )
    .unwrap();
    assert_eq!(c.cache.redis_sentinels, ["redis://127.0.0.1:26379"]);
    assert_eq!(c.cache.redis_sentinel_master.as_deref(), Some("mymaster"));

    let text = config_error("redis_sentinels = [\"redis://127.0.0.1:26379\"]");
    assert!(text.contains("redis_sentinel_master"), "{text}");
    let text = config_error("redis_url = \"redis://127.0.0.1/\"\nredis_sentinel_master = \"m\"");
    assert!(text.contains("redis_sentinels"), "{text}");
}

#[test]
fn only_one_topology_may_be_given() {
    for body in [
        "redis_url = \"redis://127.0.0.1/\"\nredis_cluster_nodes = [\"redis://127.0.0.1:7001\"]",
        "redis_url = \"redis://127.0.0.1/\"\nredis_sentinels = [\"redis://127.0.0.1:26379\"]\n\
         redis_sentinel_master = \"m\"",
        "redis_cluster_nodes = [\"redis://127.0.0.1:7001\"]\n\
         redis_sentinels = [\"redis://127.0.0.1:26379\"]\nredis_sentinel_master = \"m\"",
    ] {
        let text = config_error(body);
        assert!(text.contains("only one of"), "{text}");
    }
    let text = config_error("");
    assert!(
        text.contains("redis_url") && text.contains("redis_cluster_nodes"),
        "{text}"
    );
    let text = config_error("redis_cluster_nodes = []");
    assert!(text.contains("key 'redis_cluster_nodes'"), "{text}");
}

#[test]
fn urls_that_are_not_redis_name_their_key() {
    for (key, body) in [
        ("redis_url", "redis_url = \"http://127.0.0.1/\""),
        (
            "redis_cluster_nodes",
            "redis_cluster_nodes = [\"not a url\"]",
        ),
        (
            "redis_sentinels",
            "redis_sentinels = [\"https://127.0.0.1\"]\nredis_sentinel_master = \"m\"",
        ),
    ] {
        let text = config_error(body);
        assert!(text.contains(&format!("key '{key}'")), "{text}");
    }
}

#[test]
fn plaintext_to_another_host_is_refused_unless_allowed() {
    for (key, body) in [
        (
            "redis_url",
            "redis_url = \"redis://:hunter2-pw@cache.example:6379/0\"",
        ),
        (
            "redis_cluster_nodes",
            "redis_cluster_nodes = [\"redis://127.0.0.1:7001\", \"redis://10.0.0.7:7002\"]",
        ),
        (
            "redis_sentinels",
            "redis_sentinels = [\"redis://sentinel.example:26379\"]\nredis_sentinel_master = \"m\"",
        ),
    ] {
        let text = config_error(body);
        assert!(text.contains(&format!("key '{key}'")), "{text}");
        assert!(text.contains("allow_plaintext"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        let allowed = cache(&format!("{body}\nallow_plaintext = true")).unwrap();
        assert!(allowed.cache.allow_plaintext);
    }
    let text = config_error("redis_url = \"redis://cache.example/\"\nallow_plaintext = \"yes\"");
    assert!(text.contains("key 'allow_plaintext'"), "{text}");
}

#[test]
fn tls_and_loopback_need_no_permission() {
    for url in [
        "rediss://cache.example:6380/",
        "redis://127.0.0.1:6379/",
        "redis://127.8.9.1/",
        "redis://localhost/",
        "redis://[::1]:6379/",
        "redis+unix:///run/redis.sock",
        "unix:///run/redis.sock",
    ] {
        let c = cache(&format!("redis_url = \"{url}\"")).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(!c.cache.allow_plaintext);
    }
    cache("redis_cluster_nodes = [\"rediss://a.example:7001\", \"rediss://b.example:7002\"]")
        .unwrap();
}
