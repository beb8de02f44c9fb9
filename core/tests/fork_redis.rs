//! Forks while the parent waits on Redis (Python's `os.fork`, `multiprocessing`): the child
//! must not wait for the parent's opening of the Redis tier or its invalidation check, whose
//! tasks do not exist in the child. Redis is paused (`CLIENT PAUSE`) to hold the parent
//! there; `alarm` turns a hang in the child into a failure.

#[path = "support/redis.rs"]
mod redis_server;
mod support;

use std::time::Duration;

use redis_server::RedisServer;
use tokenbroker::advanced::runtime;
use tokenbroker::{Broker, Config, TokenOptions};

fn broker(redis: &RedisServer, dir: &std::path::Path) -> Broker {
    let (id, secret) = runtime::block_on(support::new_client("fork-redis"));
    let text = format!(
        "[cache]\nstore = \"redis\"\nredis_url = \"{}\"\npath = \"{}\"\n\
         [profiles.p]\nprovider = \"alvys\"\ntenant = \"t\"\nclient_id = \"{id}\"\n\
         client_secret = \"{secret}\"\ntoken_url = \"{}/api/authentication/t/token\"\n",
        redis.url(),
        dir.display(),
        support::provider_url()
    );
    Broker::new(Config::from_toml_str(&text).unwrap()).unwrap()
}

fn pause(redis: &RedisServer, ms: u64) {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(ms)
        .arg("ALL")
        .query(&mut conn)
        .unwrap();
}

/// Starts `broker.token` in a thread, forks `wait` later, and checks that the child's own
/// `token` call comes back (whatever it says) within the alarm.
fn fork_during_a_call(broker: &Broker, wait: Duration) {
    let parent = {
        let broker = broker.clone();
        std::thread::spawn(move || runtime::block_on(broker.token("p", &TokenOptions::default())))
    };
    std::thread::sleep(wait);
    support::in_forked_child("the child", || {
        let _ = runtime::block_on(broker.token("p", &TokenOptions::default()));
        true
    });
    parent.join().unwrap().expect("the parent's call completes");
}

#[test]
fn a_child_forked_while_the_parent_opens_the_redis_tier_opens_its_own() {
    let Some(redis) = RedisServer::start(None) else {
        return;
    };
    let dir = support::private_dir("fork-redis-open");
    let broker = broker(&redis, &dir);
    pause(&redis, 1500);
    fork_during_a_call(&broker, Duration::from_millis(300));
}

#[test]
fn a_child_forked_during_the_parent_s_invalidation_check_checks_for_itself() {
    let Some(redis) = RedisServer::start(None) else {
        return;
    };
    let dir = support::private_dir("fork-redis-check");
    let broker = broker(&redis, &dir);
    runtime::block_on(broker.token("p", &TokenOptions::default())).unwrap();
    // The next call after the bound reads the generation, which Redis now holds up.
    std::thread::sleep(
        tokenbroker::advanced::cache::INVALIDATION_BOUND + Duration::from_millis(100),
    );
    pause(&redis, 1500);
    fork_during_a_call(&broker, Duration::from_millis(100));
}
