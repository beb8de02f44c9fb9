//! A process forked while a fetch is in flight: the child must fetch for itself instead of
//! waiting on the parent's fetch, whose task does not exist in the child (Python's `os.fork`,
//! `multiprocessing`). `alarm` turns a hang into a failure.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use tokenbroker::advanced::runtime;
use tokenbroker::{Broker, Config, TokenOptions};

#[test]
fn a_child_forked_during_a_fetch_fetches_for_itself() {
    let url = support::provider_url();
    let (id, secret) = runtime::block_on(support::new_client("fork"));
    let text = format!(
        "[cache]\nstore = \"memory\"\n[profiles.p]\nprovider = \"alvys\"\ntenant = \"t\"\n\
         client_id = \"{id}\"\nclient_secret = \"{secret}\"\n\
         token_url = \"{url}/api/authentication/t/token\"\n"
    );
    let broker = Broker::new(Config::from_toml_str(&text).unwrap()).unwrap();
    // The parent's fetch takes 2 s at the provider.
    let fault = json!({"route": "alvys.token", "kind": "delay", "delay_ms": 2000, "count": 1});
    runtime::block_on(support::admin("faults", Some(fault)));
    let parent = {
        let broker = broker.clone();
        std::thread::spawn(move || runtime::block_on(broker.token("p", &TokenOptions::default())))
    };
    std::thread::sleep(Duration::from_millis(300));

    support::in_forked_child("the child", || {
        let started = Instant::now();
        let ok = runtime::block_on(broker.token("p", &TokenOptions::default())).is_ok();
        // Well before the parent's 2 s fetch could have ended: the child fetched itself.
        ok && started.elapsed() < Duration::from_millis(1500)
    });
    parent
        .join()
        .unwrap()
        .expect("the parent's own fetch completes");
    assert_eq!(runtime::block_on(support::client_requests(&id)), 2);
}

#[test]
fn forks_while_other_threads_use_the_broker_leave_no_lock_held() {
    let url = support::provider_url();
    let text = format!(
        // Its own route (the other test injects a delay on alvys.token).
        "[cache]\nstore = \"memory\"\n[profiles.p]\nprovider = \"alliance\"\n\
         client_id = \"aos-client\"\nclient_secret = \"aos-secret\"\n\
         token_url = \"{url}/API/v2/OAuth/token\"\n"
    );
    let broker = Broker::new(Config::from_toml_str(&text).unwrap()).unwrap();
    runtime::block_on(broker.token("p", &TokenOptions::default())).unwrap();
    // Keep every core lock busy: hits (memory tier) and forced refreshes (flights, HTTP slot,
    // runtime slot, memory writes).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy: Vec<_> = (0..2)
        .map(|i| {
            let (broker, stop) = (broker.clone(), stop.clone());
            std::thread::spawn(move || {
                let forced = TokenOptions::default().with_force_refresh(true);
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    if (n + i) % 50 == 0 {
                        runtime::block_on(broker.token("p", &forced)).unwrap();
                    } else {
                        broker.cached_token("p", &TokenOptions::default()).unwrap();
                    }
                }
            })
        })
        .collect();
    for round in 0..40 {
        std::thread::sleep(Duration::from_millis(5));
        support::in_forked_child(&format!("child {round}"), || {
            let forced = TokenOptions::default().with_force_refresh(true);
            runtime::block_on(broker.token("p", &forced)).is_ok()
                && broker
                    .cached_token("p", &TokenOptions::default())
                    .unwrap()
                    .is_some()
        });
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in busy {
        t.join().unwrap();
    }
}

#[test]
fn a_child_forked_while_the_parent_derives_the_credential_digest_does_not_wait_for_it() {
    // The first call of a profile derives its credential digest (PBKDF2, tens of ms); a fork
    // a few ms into it leaves that derivation unfinished in the child, which must do its own.
    let url = support::provider_url();
    let text = format!(
        "[cache]\nstore = \"memory\"\n[profiles.p]\nprovider = \"alliance\"\n\
         client_id = \"aos-client\"\nclient_secret = \"aos-secret-digest\"\n\
         token_url = \"{url}/API/v2/OAuth/token\"\n"
    );
    for round in 0..5 {
        let broker = Broker::new(Config::from_toml_str(&text).unwrap()).unwrap();
        let parent = {
            let broker = broker.clone();
            std::thread::spawn(move || broker.cached_token("p", &TokenOptions::default()))
        };
        std::thread::sleep(Duration::from_millis(3));
        support::in_forked_child(&format!("child {round}"), || {
            broker.cached_token("p", &TokenOptions::default()).is_ok()
        });
        parent.join().unwrap().unwrap();
    }
}

#[test]
fn a_child_forked_during_the_parent_s_discovery_discovers_for_itself() {
    // The parent's OIDC discovery takes 2 s at the provider; a child forked meanwhile must
    // not wait for a discovery whose task does not exist in it.
    let url = support::provider_url();
    let text = format!(
        "[cache]\nstore = \"memory\"\n[profiles.p]\nissuer = \"{url}/fork-tenant\"\n\
         client_id = \"fork-client\"\nclient_secret = \"fork-secret\"\n"
    );
    let broker = Broker::new(Config::from_toml_str(&text).unwrap()).unwrap();
    let fault = json!({"route": "azure.discovery", "kind": "delay", "delay_ms": 2000, "count": 1});
    runtime::block_on(support::admin("faults", Some(fault)));
    let parent = {
        let broker = broker.clone();
        std::thread::spawn(move || runtime::block_on(broker.token("p", &TokenOptions::default())))
    };
    std::thread::sleep(Duration::from_millis(300));
    support::in_forked_child("the child", || {
        // Whatever the token endpoint then says, the call must come back.
        let _ = runtime::block_on(broker.token("p", &TokenOptions::default()));
        true
    });
    let _ = parent.join().unwrap();
}
