//! `cache::warm_up`: what a binding starts when it is loaded. Its own test binary (so its own
//! process, with no other test's threads): it counts the process's threads.

use tokenbroker::advanced::cache;

fn threads() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim_end().to_owned())
        .collect()
}

/// It runs on the caller's thread: a process that then only reads its cache on that thread
/// never starts a runtime (whose threads are named `tokenbroker`), nor any other thread.
#[test]
fn warm_up_runs_on_the_calling_thread_and_starts_no_thread() {
    let before = threads();
    cache::warm_up();
    let after = threads();
    assert_eq!(after.len(), before.len(), "{before:?} → {after:?}");
    assert!(!after.iter().any(|name| name == "tokenbroker"), "{after:?}");
}
