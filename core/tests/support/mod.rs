//! Core test support: the shared testkit (test servers and their admin API) and a broker built
//! from TOML with `{P}` standing for the test provider's URL.
#![allow(dead_code, unused_imports)]

pub mod fixtures;

pub use tokenbroker_testkit::*;

/// A broker over TOML text with `{P}` replaced by the test provider's URL.
pub fn broker(toml: &str) -> tokenbroker::Broker {
    let text = toml.replace("{P}", &provider_url());
    let config = tokenbroker::Config::from_toml_str(&text).expect("test config");
    tokenbroker::Broker::new(config).expect("broker")
}

/// A fresh private (0700) directory under the temp dir, named after `name`.
pub fn private_dir(name: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let n: u64 = rand::random();
    let dir = std::env::temp_dir().join(format!("tb-test-{name}-{n:x}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

/// Signs in to `profile` with the device flow, approving the code through the test provider's
/// admin API as the user would.
pub async fn device_login(
    broker: &tokenbroker::Broker,
    profile: &str,
) -> tokenbroker::Result<tokenbroker::AccessToken> {
    broker
        .device_login(profile, &Default::default(), |auth| {
            let user_code = auth.user_code.clone();
            tokio::spawn(async move {
                let approve = serde_json::json!({ "user_code": user_code });
                admin("device/approve", Some(approve)).await;
            });
        })
        .await
}

/// Forks; the child runs `child` with a 10 s alarm (a hang becomes SIGALRM) and leaves with
/// `_exit`, 0 when `child` returned true. Returns the child's wait status, after asserting it
/// exited with 0 (`what` names the child in the failure).
pub fn in_forked_child(what: &str, child: impl FnOnce() -> bool) -> i32 {
    // SAFETY: the child only runs `child` (which uses the broker, whose runtime and pools
    // are rebuilt by pid) and leaves with `_exit`, never returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        unsafe { libc::alarm(10) };
        let ok = child();
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{what} failed, was slow, or hung (wait status {status:#x})"
    );
    status
}
