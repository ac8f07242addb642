//! Keyed hashes, passwords, comparison and randomness through the public API.

use ichido_crypto::{Cost, Keyring, ct_eq, password, random};

#[test]
fn hasher_output_is_stable_across_rotate() {
    let mut ring = Keyring::generate();
    let before = ring.hasher("api-key").hash(b"ich_live_abc");
    ring.rotate();
    ring.rotate();
    ring.remove(&"k1".parse().unwrap()).unwrap();
    assert_eq!(ring.hasher("api-key").hash(b"ich_live_abc"), before);
    assert!(ring.hasher("api-key").verify(b"ich_live_abc", &before));
}

#[test]
fn hasher_output_differs_per_purpose_and_per_keyring() {
    let ring = Keyring::generate();
    let purposes = ["api-key", "backup-code", "reset-link", "challenge-code"];
    let hashes: Vec<[u8; 32]> = purposes
        .iter()
        .map(|p| ring.hasher(p).hash(b"same"))
        .collect();
    for i in 0..hashes.len() {
        for j in 0..i {
            assert_ne!(hashes[i], hashes[j], "{} vs {}", purposes[i], purposes[j]);
        }
    }
    let other = Keyring::generate();
    assert_ne!(other.hasher("api-key").hash(b"same"), hashes[0]);
}

#[test]
fn hash_hex_is_lowercase_hex_of_hash() {
    let h = Keyring::generate().hasher("backup-code");
    let hex = h.hash_hex(b"abcd-efgh");
    assert_eq!(hex.len(), 64);
    assert!(
        hex.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    );
    let raw = h.hash(b"abcd-efgh");
    let expected: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, expected);
    assert!(h.verify(b"abcd-efgh", &raw));
    assert!(!h.verify(b"abcd-efgi", &raw));
    assert!(!h.verify(b"abcd-efgh", hex.as_bytes()));
}

#[test]
fn password_verifies_only_with_the_right_password() {
    let phc = password::hash_with("hunter2", Cost::fast_for_tests()).unwrap();
    assert!(password::verify("hunter2", &phc));
    assert!(!password::verify("hunter3", &phc));
    assert!(!password::verify("hunter2 ", &phc));
}

#[test]
fn malformed_password_hash_is_false() {
    for bad in [
        "",
        "hunter2",
        "$argon2id$v=19$m=8,t=1,p=1$",
        "$2b$12$abcdefghijklmnopqrstuv",
    ] {
        assert!(!password::verify("hunter2", bad), "{bad}");
    }
}

#[test]
fn ct_eq_compares_content_and_length() {
    assert!(ct_eq(b"000123", b"000123"));
    assert!(!ct_eq(b"000123", b"000124"));
    assert!(!ct_eq(b"123", b"000123"));
}

#[test]
fn random_digits_are_digits_of_the_requested_length() {
    for n in [1, 6, 8, 12] {
        let d = random::digits(n);
        assert_eq!(d.len(), n);
        assert!(d.chars().all(|c| c.is_ascii_digit()), "{d}");
    }
    assert_eq!(random::bytes(20).len(), 20);
    assert_eq!(random::token(32).len(), 43);
    assert_eq!(random::base32(20).len(), 32);
}
