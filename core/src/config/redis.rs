//! The `[cache]` keys that say where the Redis tier runs (one server, a Cluster, or a master
//! followed through Sentinel) and the rule that plaintext only goes to loopback.

use url::Url;

use crate::config::{CacheConfig, StoreKind};
use crate::config_fields::Fields;
use crate::error::Result;

/// The `[cache]` keys read here.
pub(crate) const KEYS: [&str; 5] = [
    "redis_url",
    "redis_cluster_nodes",
    "redis_sentinels",
    "redis_sentinel_master",
    "allow_plaintext",
];

/// Reads the Redis topology keys of `[cache]` into `c` and checks them.
pub(crate) fn parse(f: &mut Fields, c: &mut CacheConfig) -> Result<()> {
    c.redis_url = f.string("redis_url")?;
    c.redis_cluster_nodes = non_empty_list(f, "redis_cluster_nodes")?;
    c.redis_sentinels = non_empty_list(f, "redis_sentinels")?;
    c.redis_sentinel_master = f.string("redis_sentinel_master")?;
    c.allow_plaintext = f.boolean("allow_plaintext")?.unwrap_or(false);

    let given = [
        c.redis_url.is_some(),
        !c.redis_cluster_nodes.is_empty(),
        !c.redis_sentinels.is_empty(),
    ];
    let named = "redis_url, redis_cluster_nodes or redis_sentinels";
    if given.iter().filter(|g| **g).count() > 1 {
        let key = if given[0] {
            "redis_url"
        } else {
            "redis_cluster_nodes"
        };
        return Err(f.error(key, format!("give only one of {named}")));
    }
    if c.redis_sentinels.is_empty() != c.redis_sentinel_master.is_none() {
        return Err(if c.redis_sentinels.is_empty() {
            f.error("redis_sentinels", "is required with redis_sentinel_master")
        } else {
            f.error("redis_sentinel_master", "is required with redis_sentinels")
        });
    }
    if c.store == StoreKind::Redis && !given.contains(&true) {
        return Err(f.error(
            "redis_url",
            format!("is required when store = \"redis\" (or give one of {named})"),
        ));
    }
    let urls = c.redis_url.iter().map(|u| ("redis_url", u));
    let nodes = c
        .redis_cluster_nodes
        .iter()
        .map(|u| ("redis_cluster_nodes", u));
    let sentinels = c.redis_sentinels.iter().map(|u| ("redis_sentinels", u));
    for (key, text) in urls.chain(nodes).chain(sentinels) {
        check_url(text, c.allow_plaintext).map_err(|reason| f.error(key, reason))?;
    }
    Ok(())
}

fn non_empty_list(f: &mut Fields, key: &str) -> Result<Vec<String>> {
    match f.strings(key)? {
        Some(list) if list.is_empty() => Err(f.error(key, "must list at least one URL")),
        list => Ok(list.unwrap_or_default()),
    }
}

/// Checks one Redis URL: a Redis scheme, and plaintext only to loopback unless allowed.
/// The reason never quotes the URL (it may hold a password).
fn check_url(text: &str, allow_plaintext: bool) -> std::result::Result<(), String> {
    let url = Url::parse(text).map_err(|_| "is not a valid URL".to_owned())?;
    match url.scheme() {
        "rediss" | "redis+unix" | "unix" => Ok(()),
        "redis" if allow_plaintext || is_loopback(&url) => Ok(()),
        "redis" => Err(format!(
            "sends tokens in plaintext to {}: use rediss:// (TLS), or set \
             allow_plaintext = true for a trusted network",
            url.host_str().unwrap_or("<no host>")
        )),
        other => Err(format!(
            "has scheme '{other}', not one of redis, rediss, redis+unix, unix"
        )),
    }
}

/// Whether the URL names a loopback host. `redis:` is not a special scheme, so the `url`
/// crate leaves an IPv4 host as text: it is parsed here.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
#[path = "redis_tests.rs"]
mod tests;
