//! Cache hit cost: the memory tier at 1, 10k and 1M entries, the broker's synchronous
//! `cached_token()` and async `token()` hits, and hit throughput on 2 threads.
//!
//! Run with `make bench-rust` (or `cargo bench -p tokenbroker --bench cache`).

use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tokenbroker::advanced::cache::memory::Lookup;
use tokenbroker::advanced::cache::{CacheKey, KeyParts, MemoryCache};
use tokenbroker::{AccessToken, Broker, Config, Secret, TokenOptions, TokenSet};

fn key(n: usize) -> CacheKey {
    let scopes = [format!("scope-{n}")];
    CacheKey::new(&KeyParts {
        token_url: "https://login.example.com/tenant/oauth2/token",
        client_id: "client",
        grant: "client_credentials",
        scopes: &scopes,
        ..Default::default()
    })
}

fn token() -> AccessToken {
    let now = SystemTime::now();
    AccessToken::new(TokenSet {
        access_token: Secret::new("x".repeat(1200)),
        token_type: "Bearer".into(),
        expires_at: now + Duration::from_secs(3600),
        issued_at: now,
        scopes: vec!["scope".into()],
        refresh_token: None,
        id_token: None,
        refresh_in: None,
    })
}

fn memory_hits(c: &mut Criterion) {
    let mut group = c.benchmark_group("memory_hit");
    let far = SystemTime::now() + Duration::from_secs(7200);
    for n in [1usize, 10_000, 1_000_000] {
        let cache = MemoryCache::new(n + 1);
        let shared = token();
        for i in 0..n {
            cache.insert(key(i), shared.clone(), far);
        }
        // Look up keys spread over the whole map, not one hot key.
        let probes: Vec<CacheKey> = (0..1024).map(|i| key(i * 7919 % n)).collect();
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) & 1023;
                let now = SystemTime::now();
                match cache.get(black_box(&probes[i]), now, Duration::ZERO) {
                    Lookup::Hit(t, _) => black_box(t),
                    Lookup::Miss => unreachable!(),
                };
            })
        });
    }
    group.finish();
}

struct Provider(Child, String);

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn provider() -> Provider {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/provider/server.mjs");
    let mut child = Command::new("node")
        .arg(script)
        .stdout(Stdio::piped())
        .spawn()
        .expect("node");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    Provider(child, v["url"].as_str().unwrap().to_owned())
}

fn broker_hits(c: &mut Criterion) {
    let provider = provider();
    let config = Config::from_toml_str(&format!(
        "[cache]\nstore = \"memory\"\n[profiles.p]\nprovider = \"alvys\"\ntenant = \"t\"\n\
         client_id = \"alvys-client\"\nclient_secret = \"alvys-secret\"\n\
         token_url = \"{}/api/authentication/t/token\"\n",
        provider.1
    ))
    .unwrap();
    let broker = Broker::new(config).unwrap();
    let options = TokenOptions::default();
    tokenbroker::advanced::runtime::block_on(broker.token("p", &options)).unwrap();
    let mut group = c.benchmark_group("broker_hit");
    group.bench_function("cached_token", |b| {
        b.iter(|| black_box(broker.cached_token(black_box("p"), &options).unwrap()))
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    group.bench_function("token_async", |b| {
        b.iter(|| black_box(rt.block_on(broker.token(black_box("p"), &options)).unwrap()))
    });
    group.bench_function("cached_token_2_threads", |b| {
        b.iter_custom(|iters| {
            let broker = Arc::new(broker.clone());
            let started = Instant::now();
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let broker = broker.clone();
                    std::thread::spawn(move || {
                        let options = TokenOptions::default();
                        for _ in 0..iters {
                            black_box(broker.cached_token("p", &options).unwrap());
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            // Time per call across both threads: throughput = 1 / this.
            started.elapsed() / 2
        })
    });
    group.finish();
}

/// Warm hits of a broker over the file store: the shared tier's invalidation generation is
/// consulted at most once per `INVALIDATION_BOUND`, so these stay memory hits.
fn file_store_hits(c: &mut Criterion) {
    let provider = provider();
    let dir = std::env::temp_dir().join(format!("tb-bench-{}", std::process::id()));
    let config = Config::from_toml_str(&format!(
        "[cache]\nstore = \"file\"\npath = \"{}\"\n[profiles.p]\nprovider = \"alvys\"\n\
         tenant = \"t\"\nclient_id = \"alvys-client\"\nclient_secret = \"alvys-secret\"\n\
         token_url = \"{}/api/authentication/t/token\"\n",
        dir.display(),
        provider.1
    ))
    .unwrap();
    let broker = Broker::new(config).unwrap();
    let options = TokenOptions::default();
    tokenbroker::advanced::runtime::block_on(broker.token("p", &options)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("file_store_hit");
    group.bench_function("token_async", |b| {
        b.iter(|| black_box(rt.block_on(broker.token(black_box("p"), &options)).unwrap()))
    });
    // What the bindings do: the sync lookup, and `token()` when it finds nothing.
    group.bench_function("cached_token_else_token", |b| {
        b.iter(|| {
            let hit = broker.cached_token(black_box("p"), &options).unwrap();
            black_box(match hit {
                Some(token) => token,
                None => rt.block_on(broker.token("p", &options)).unwrap(),
            })
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = memory_hits, broker_hits, file_store_hits
}
criterion_main!(benches);
