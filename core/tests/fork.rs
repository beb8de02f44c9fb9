//! A process forked while a fetch is in flight: the child must fetch for itself instead of
//! waiting on the parent's fetch, whose task does not exist in the child (Python's `os.fork`,
//! `multiprocessing`). `alarm` turns a hang into a failure.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use tokenbroker::{Broker, Config, TokenOptions, runtime};

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

    // SAFETY: the child only calls into the broker (which rebuilds its runtime and HTTP pool
    // by pid) and leaves with `_exit`, never returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        unsafe { libc::alarm(10) };
        let started = Instant::now();
        let ok = runtime::block_on(broker.token("p", &TokenOptions::default())).is_ok();
        // Well before the parent's 2 s fetch could have ended: the child fetched itself.
        let prompt = started.elapsed() < Duration::from_millis(1500);
        unsafe { libc::_exit(if ok && prompt { 0 } else { 1 }) };
    }
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child failed, was slow, or hung (wait status {status:#x})"
    );
    parent
        .join()
        .unwrap()
        .expect("the parent's own fetch completes");
    assert_eq!(runtime::block_on(support::client_requests(&id)), 2);
}
