use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use super::*;

/// A private temp dir with one helper script in it.
struct Helper(PathBuf);

impl Helper {
    fn new(name: &str, body: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("tb-helper-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("helper");
        std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
        Self(dir)
    }

    fn store(&self, timeout: Duration) -> HelperSecrets {
        let command = vec![self.0.join("helper").display().to_string()];
        HelperSecrets::new(SecretsConfig { command, timeout }, vec![])
    }

    fn dir(&self) -> &Path {
        &self.0
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn get_store_erase_round_trip_through_a_file_backed_helper() {
    // Keeps one file per name under the helper's dir; `name` is a hex digest plus suffixes.
    let h = Helper::new(
        "files",
        r#"dir=$(dirname "$0"); input=$(cat)
name=$(printf %s "$input" | sed 's/.*"name":"\([^"]*\)".*/\1/')
case "$1" in
get) if [ -f "$dir/$name" ]; then cat "$dir/$name"; else echo '{}'; fi ;;
store) printf %s "$input" > "$dir/$name" ;;
erase) rm -f "$dir/$name" ;;
*) exit 2 ;;
esac"#,
    );
    let store = h.store(Duration::from_secs(10));
    assert!(
        store
            .get_secret("refresh_token:ab")
            .await
            .unwrap()
            .is_none()
    );
    store
        .set_secret("refresh_token:ab", &Secret::new("rt-1"))
        .await
        .unwrap();
    let got = store.get_secret("refresh_token:ab").await.unwrap().unwrap();
    assert_eq!(got.expose(), "rt-1");
    store.delete_secret("refresh_token:ab").await.unwrap();
    store.delete_secret("refresh_token:ab").await.unwrap();
    assert!(
        store
            .get_secret("refresh_token:ab")
            .await
            .unwrap()
            .is_none()
    );
    assert!(h.dir().join("helper").exists());
}

#[tokio::test]
async fn a_hanging_helper_is_a_timeout_naming_it() {
    let h = Helper::new("hang", "exec sleep 30");
    let err = h
        .store(Duration::from_millis(300))
        .get_secret("n")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Timeout);
    let text = err.to_string();
    assert!(
        text.contains("secret helper") && text.contains("get"),
        "{text}"
    );
}

#[tokio::test]
async fn a_failing_helper_that_echoes_the_value_never_leaks_it() {
    let h = Helper::new(
        "echo",
        "input=$(cat); echo \"cannot store: $input\" >&2; echo \"$input\"; exit 1",
    );
    let store = h.store(Duration::from_secs(10));
    let value = "rt-must-not-leak-4711";
    let err = store
        .set_secret("refresh_token:x", &Secret::new(value))
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains(value) && !text.contains("4711"), "{text}");
    assert!(
        text.contains("secret helper") && text.contains("store"),
        "{text}"
    );
    assert!(
        text.contains(&h.dir().join("helper").display().to_string()),
        "{text}"
    );
}

#[tokio::test]
async fn a_malformed_answer_is_an_error_that_does_not_quote_it() {
    let h = Helper::new("bad", r#"cat >/dev/null; echo '{"secret": ["rt-leak-5"]}'"#);
    let err = h
        .store(Duration::from_secs(10))
        .get_secret("n")
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("rt-leak-5"), "{err}");
}
