//! A host that drives a current-thread runtime (the CLI: one command per process) and hands it
//! to the core with `runtime::adopt`: a new broker answers a cached token from the file tier
//! with no request and without starting a single thread (the entry is read inline, not handed
//! to a blocking-pool thread), and a miss still fetches on that runtime.
//!
//! One test in its own binary: the runtime a process adopts is process-wide.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::{client_requests, new_client};
use tokenbroker::advanced::runtime;
use tokenbroker::{Broker, TokenOptions};

fn config(dir: &std::path::Path, id: &str, secret: &str, scopes: &str) -> String {
    let n: u32 = rand::random();
    format!(
        r#"[cache]
store = "file"
path = "{}"
[profiles.p]
provider = "oidc"
grant = "client_credentials"
issuer = "{{P}}/plain/max-age-300.ct{n:x}"
client_id = "{id}"
client_secret = "{secret}"
scopes = [{scopes}]
"#,
        dir.display()
    )
}

async fn token(broker: &Broker) -> String {
    let token = broker.token("p", &TokenOptions::default()).await.unwrap();
    token.secret().to_owned()
}

#[test]
fn an_adopted_current_thread_runtime_reads_a_cached_token_on_its_own_thread() {
    let started = Arc::new(AtomicUsize::new(0));
    let counter = started.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // Blocking-pool threads idle this long exit, so a later hand-off starts a new one.
        .thread_keep_alive(Duration::from_millis(1))
        .on_thread_start(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    assert!(runtime::adopt(rt.handle().clone()));
    let dir = support::private_dir("current-thread");
    rt.block_on(async {
        let (id, secret) = new_client("generic").await;
        let text = config(&dir, &id, &secret, "\"read\"");
        let first = token(&support::broker(&text)).await;
        assert_eq!(client_requests(&id).await, 1);
        tokio::time::sleep(Duration::from_millis(100)).await;

        let before = started.load(Ordering::SeqCst);
        let cold = support::broker(&text);
        assert_eq!(token(&cold).await, first, "the file tier's token");
        assert_eq!(
            started.load(Ordering::SeqCst),
            before,
            "a cached token started a thread"
        );
        assert_eq!(
            client_requests(&id).await,
            1,
            "a cached token sent a request"
        );

        // A miss: the fetch runs as a task of the adopted runtime, and is stored.
        let other = text.replace("\"read\"]", "\"read\", \"write\"]");
        let fetched = token(&support::broker(&other)).await;
        assert_ne!(fetched, first);
        assert_eq!(client_requests(&id).await, 2);
        assert_eq!(token(&support::broker(&other)).await, fetched);
        assert_eq!(client_requests(&id).await, 2);
    });
    let _ = std::fs::remove_dir_all(dir);
}
