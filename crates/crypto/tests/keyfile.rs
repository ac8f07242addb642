//! The key file on disk and the master key from the environment.

use std::path::Path;

use ichido_crypto::{KeyError, Keyring, SecretBytes};

const ROW: &[u8] = b"token:secret:S1";

/// Both keyrings open each other's values and hash alike.
fn assert_same_keys(a: &Keyring, b: &Keyring) {
    assert_eq!(a.ids(), b.ids());
    assert_eq!(a.current_id(), b.current_id());
    assert_eq!(b.open(&a.seal(b"x", ROW), ROW).unwrap().as_bytes(), b"x");
    assert_eq!(a.open(&b.seal(b"y", ROW), ROW).unwrap().as_bytes(), b"y");
    assert_eq!(
        a.hasher("api-key").hash(b"z"),
        b.hasher("api-key").hash(b"z")
    );
}

/// The base64 key strings stored in a key file.
fn keys_in(path: &Path) -> Vec<String> {
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut keys = vec![value["hash_key"].as_str().unwrap().to_owned()];
    for entry in value["keys"].as_array().unwrap() {
        keys.push(entry["key"].as_str().unwrap().to_owned());
    }
    keys
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn load_or_create_creates_once_and_then_loads_the_same_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/nested/master.key");

    let (first, created) = Keyring::load_or_create(&path).unwrap();
    assert!(created);
    assert!(path.is_file());

    let (second, created) = Keyring::load_or_create(&path).unwrap();
    assert!(!created);
    assert_same_keys(&first, &second);
}

#[cfg(unix)]
#[test]
fn key_file_is_created_with_mode_0600_and_its_directory_0700() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh/master.key");
    Keyring::load_or_create(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
}

#[cfg(unix)]
#[test]
fn saved_file_is_0600_even_over_a_looser_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    std::fs::write(&path, "old").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    Keyring::generate().save(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn rotated_keyring_survives_save_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let (mut ring, _) = Keyring::load_or_create(&path).unwrap();
    let old = ring.seal(b"old", ROW);
    let hash = ring.hasher("backup-code").hash(b"code");
    ring.rotate();
    ring.save(&path).unwrap();

    let loaded = Keyring::load(&path).unwrap();
    assert_eq!(loaded.current_id().as_str(), "k2");
    assert_eq!(loaded.open(&old, ROW).unwrap().as_bytes(), b"old");
    assert_eq!(loaded.hasher("backup-code").hash(b"code"), hash);
    assert_same_keys(&ring, &loaded);
    assert!(loaded.created_at(&"k2".parse().unwrap()).unwrap() > 0);
}

#[test]
fn saving_leaves_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let (mut ring, _) = Keyring::load_or_create(&path).unwrap();
    ring.rotate();
    ring.save(&path).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("master.key")]);
}

#[test]
fn processes_starting_together_share_one_keyring() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let results: Vec<(Keyring, bool)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| Keyring::load_or_create(&path).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
    for (ring, _) in &results[1..] {
        assert_same_keys(&results[0].0, ring);
    }
}

#[test]
fn missing_or_corrupt_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    assert!(matches!(Keyring::load(&path), Err(KeyError::Io { .. })));
    std::fs::write(&path, "{\"version\":1").unwrap();
    assert!(matches!(Keyring::load(&path), Err(KeyError::Format(_))));
    assert!(matches!(
        Keyring::load_or_create(&path),
        Err(KeyError::Format(_))
    ));
}

#[test]
fn env_value_accepts_the_key_file_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let (mut ring, _) = Keyring::load_or_create(&path).unwrap();
    ring.rotate();
    ring.save(&path).unwrap();
    let content = std::fs::read_to_string(&path).unwrap();
    let from_env = Keyring::from_env_value(&content).unwrap();
    assert_same_keys(&ring, &from_env);
}

#[test]
fn env_value_accepts_a_bare_base64_or_hex_key() {
    let b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let from_b64 = Keyring::from_env_value(b64).unwrap();
    assert_eq!(from_b64.current_id().as_str(), "env");
    assert_eq!(from_b64.ids().len(), 1);
    let from_hex = Keyring::from_env_value(hex).unwrap();
    assert_same_keys(&from_b64, &from_hex);
    let unpadded = Keyring::from_env_value(b64.trim_end_matches('=')).unwrap();
    assert_same_keys(&from_b64, &unpadded);
}

#[test]
fn env_value_that_is_no_key_is_refused() {
    for bad in [
        "",
        "changeme",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8AAA==",
        "{}",
    ] {
        assert!(Keyring::from_env_value(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn debug_output_never_contains_key_material() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let (mut ring, _) = Keyring::load_or_create(&path).unwrap();
    ring.rotate();
    ring.save(&path).unwrap();
    let ring = Keyring::load(&path).unwrap();

    let shown = format!("{ring:?} {ring:#?} {:?}", ring.hasher("api-key"));
    assert!(shown.contains("k1") && shown.contains("k2"), "{shown}");
    for b64 in keys_in(&path) {
        assert!(!shown.contains(&b64), "{shown}");
        assert!(!shown.contains(b64.trim_end_matches('=')), "{shown}");
        let raw = decode_b64(&b64);
        assert!(!shown.contains(&format!("{raw:?}")), "{shown}");
    }

    let secret = SecretBytes::new(decode_b64(&keys_in(&path)[1]));
    assert_eq!(format!("{secret:?}"), "SecretBytes(**redacted**)");
}

fn decode_b64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes().take_while(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}
