use std::os::unix::fs::PermissionsExt;

use super::*;

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("tb-userkey-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(path.join("cache")).unwrap();
        fs::set_permissions(path.join("cache"), fs::Permissions::from_mode(0o700)).unwrap();
        Self(path)
    }

    fn user(&self) -> UserKey {
        UserKey {
            keyring: None,
            fallback_file: self.0.join("config").join("tokenbroker").join("cache-key"),
        }
    }

    fn legacy(&self, byte: u8) -> PathBuf {
        let path = self.0.join("cache").join(LEGACY_KEY_FILE);
        create_key_file(&path, Some(&[byte; KEY_LEN])).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn sealed_by(cipher: &CacheCipher) -> Vec<u8> {
    cipher.seal(b"n", b"payload").unwrap()
}

#[test]
fn a_new_key_goes_to_a_private_fallback_file_and_is_found_again() {
    let s = Scratch::new("new");
    let user = s.user();
    let first = user.load_for(&s.0.join("cache")).unwrap();
    assert_eq!(
        first.key_source(),
        format!("key file {}", user.fallback_file.display())
    );
    let meta = fs::metadata(&user.fallback_file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let again = user.load_for(&s.0.join("cache")).unwrap();
    assert_eq!(
        &again.open(b"n", &sealed_by(&first)).unwrap()[..],
        b"payload"
    );
}

#[test]
fn an_old_key_file_is_adopted_when_there_is_no_user_key() {
    let s = Scratch::new("adopt");
    let old = CacheCipher::from_key_file(&s.legacy(7)).unwrap();
    let user = s.user();
    let cipher = user.load_for(&s.0.join("cache")).unwrap();
    assert_eq!(
        &cipher.open(b"n", &sealed_by(&old)).unwrap()[..],
        b"payload"
    );
    assert!(!s.0.join("cache").join(LEGACY_KEY_FILE).exists());
    assert_eq!(fs::read(&user.fallback_file).unwrap(), [7u8; KEY_LEN]);
}

#[test]
fn a_different_old_key_stays_in_use_for_its_directory() {
    let s = Scratch::new("differs");
    let user = s.user();
    create_key_file(&user.fallback_file, Some(&[1u8; KEY_LEN])).unwrap();
    let legacy = s.legacy(2);
    let old = CacheCipher::from_key_file(&legacy).unwrap();
    let cipher = user.load_for(&s.0.join("cache")).unwrap();
    assert!(cipher.key_source().ends_with(&legacy.display().to_string()));
    assert_eq!(
        &cipher.open(b"n", &sealed_by(&old)).unwrap()[..],
        b"payload"
    );
    assert!(legacy.exists(), "kept, or its entries would be lost");
}

#[test]
fn an_old_key_equal_to_the_user_key_is_removed() {
    let s = Scratch::new("equal");
    let user = s.user();
    create_key_file(&user.fallback_file, Some(&[3u8; KEY_LEN])).unwrap();
    let legacy = s.legacy(3);
    let cipher = user.load_for(&s.0.join("cache")).unwrap();
    assert!(cipher.key_source().starts_with("key file"));
    assert!(!legacy.exists());
}

#[test]
fn a_key_from_file_is_found_without_creating_or_adopting_one() {
    let s = Scratch::new("from-file");
    let user = s.user();
    let cache = s.0.join("cache");
    assert!(user.load_from_file(&cache).unwrap().is_none(), "no key yet");
    assert!(!user.fallback_file.exists(), "a key was created");

    let made = user.load_for(&cache).unwrap();
    let found = user
        .load_from_file(&cache)
        .unwrap()
        .expect("the fallback file's key");
    assert_eq!(found.key_source(), made.key_source());
    assert_eq!(
        &found.open(b"n", &sealed_by(&made)).unwrap()[..],
        b"payload"
    );

    // An older key file in the cache directory is `load_for`'s to adopt or keep.
    let legacy = s.legacy(7);
    assert!(user.load_from_file(&cache).unwrap().is_none());
    assert!(legacy.exists(), "the older key file was touched");
}
