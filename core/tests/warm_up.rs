//! `cache::warm_up`: what a binding starts when it is loaded. Its own test binary (so its own
//! process): it counts the threads named `tokenbroker`, which no other test here creates.

use std::time::{Duration, Instant};

use tokenbroker::advanced::{cache, runtime};

/// Threads of this process named as tokenbroker names its runtime's threads.
fn tokenbroker_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end() == "tokenbroker")
        .count()
}

#[test]
fn warm_up_starts_the_blocking_pools_first_thread_in_the_background() {
    let rt = runtime::build().unwrap();
    // Tokio starts its workers as the runtime's first tasks; let them come up.
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokenbroker_threads() < runtime::WORKER_THREADS && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        tokenbroker_threads(),
        runtime::WORKER_THREADS,
        "the workers alone"
    );

    cache::warm_up(rt.handle());
    while tokenbroker_threads() == runtime::WORKER_THREADS && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        tokenbroker_threads(),
        runtime::WORKER_THREADS + 1,
        "one blocking thread, kept for the first store read"
    );
    // The work it ran left the runtime usable: a store read is handed to the same pool.
    let read = rt.block_on(async { runtime::blocking(|| 42).await.unwrap() });
    assert_eq!(read, 42);
}
