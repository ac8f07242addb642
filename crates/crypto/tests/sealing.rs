//! Sealing through the public keyring API: round trips, row binding,
//! tampering, rotation and the stored text form.

use ichido_crypto::{KeyError, KeyId, Keyring, SealError, Sealed};

const ROW: &[u8] = b"token:secret:TOTP0001";

fn id(s: &str) -> KeyId {
    s.parse().unwrap()
}

#[test]
fn sealed_value_opens_with_the_same_row() {
    let ring = Keyring::generate();
    let sealed = ring.seal(b"12345678901234567890", ROW);
    assert_eq!(sealed.key_id, *ring.current_id());
    assert_ne!(&sealed.blob[..], b"12345678901234567890");
    let opened = ring.open(&sealed, ROW).unwrap();
    assert_eq!(opened.as_bytes(), b"12345678901234567890");
}

#[test]
fn sealed_value_copied_to_another_row_does_not_open() {
    let ring = Keyring::generate();
    let sealed = ring.seal(b"seed", ROW);
    for other in [&b"token:secret:TOTP0002"[..], b"", b"token:secret:TOTP000"] {
        assert_eq!(ring.open(&sealed, other).unwrap_err(), SealError::Invalid);
    }
}

#[test]
fn any_altered_byte_makes_open_fail() {
    let ring = Keyring::generate();
    let sealed = ring.seal(b"seed value", ROW);
    for i in 0..sealed.blob.len() {
        let mut tampered = sealed.clone();
        tampered.blob[i] ^= 0x01;
        assert_eq!(
            ring.open(&tampered, ROW).unwrap_err(),
            SealError::Invalid,
            "byte {i}"
        );
    }
    let mut truncated = sealed.clone();
    truncated.blob.pop();
    assert!(ring.open(&truncated, ROW).is_err());
    let mut extended = sealed;
    extended.blob.push(0);
    assert!(ring.open(&extended, ROW).is_err());
}

#[test]
fn another_keyring_cannot_open() {
    let sealed = Keyring::generate().seal(b"seed", ROW);
    assert_eq!(
        Keyring::generate().open(&sealed, ROW).unwrap_err(),
        SealError::Invalid
    );
}

#[test]
fn value_sealed_before_rotate_still_opens_and_new_seals_use_the_new_key() {
    let mut ring = Keyring::generate();
    let old = ring.seal(b"old seed", ROW);
    assert_eq!(old.key_id, id("k1"));

    assert_eq!(ring.rotate(), id("k2"));
    assert_eq!(ring.current_id(), &id("k2"));
    assert_eq!(ring.ids(), vec![id("k1"), id("k2")]);

    let new = ring.seal(b"new seed", ROW);
    assert_eq!(new.key_id, id("k2"));
    assert_eq!(ring.open(&old, ROW).unwrap().as_bytes(), b"old seed");
    assert_eq!(ring.open(&new, ROW).unwrap().as_bytes(), b"new seed");
}

#[test]
fn removed_key_no_longer_opens_its_values() {
    let mut ring = Keyring::generate();
    let old = ring.seal(b"old seed", ROW);
    ring.rotate();
    let resealed = ring.seal(ring.open(&old, ROW).unwrap().as_bytes(), ROW);
    ring.remove(&id("k1")).unwrap();
    assert_eq!(
        ring.open(&old, ROW).unwrap_err(),
        SealError::UnknownKey(id("k1"))
    );
    assert_eq!(ring.open(&resealed, ROW).unwrap().as_bytes(), b"old seed");
}

#[test]
fn removing_the_current_key_is_refused() {
    let mut ring = Keyring::generate();
    let err = ring.remove(&id("k1")).unwrap_err();
    assert!(matches!(err, KeyError::RemoveCurrent(ref k) if *k == id("k1")));
    ring.rotate();
    assert!(matches!(
        ring.remove(&id("k2")),
        Err(KeyError::RemoveCurrent(_))
    ));
    assert_eq!(ring.ids().len(), 2);
}

#[test]
fn unknown_key_id_is_an_error_not_a_panic() {
    let ring = Keyring::generate();
    let mut sealed = ring.seal(b"seed", ROW);
    sealed.key_id = id("k7");
    assert_eq!(
        ring.open(&sealed, ROW).unwrap_err(),
        SealError::UnknownKey(id("k7"))
    );
}

#[test]
fn text_form_round_trips_and_opens() {
    let ring = Keyring::generate();
    let sealed = ring.seal(b"seed", ROW);
    let text = sealed.to_text();
    assert!(text.starts_with("k1:"), "{text}");
    let back = Sealed::from_text(&text).unwrap();
    assert_eq!(back, sealed);
    assert_eq!(ring.open(&back, ROW).unwrap().as_bytes(), b"seed");
}

#[test]
fn malformed_text_is_an_error() {
    let ring = Keyring::generate();
    let text = ring.seal(b"seed", ROW).to_text();
    let blob = text.strip_prefix("k1:").unwrap();
    for bad in [
        "",
        "k1",
        "k1:",
        ":",
        "k1:@@@@",
        &format!("k1:{}", &blob[..10]),
        &format!("k1:{blob}=="),
        &format!("k 1:{blob}"),
        blob,
        &format!("k1:{blob}\n"),
    ] {
        assert!(
            matches!(Sealed::from_text(bad), Err(SealError::Malformed(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn empty_plaintext_and_empty_aad_round_trip() {
    let ring = Keyring::generate();
    let sealed = ring.seal(b"", b"");
    assert!(ring.open(&sealed, b"").unwrap().is_empty());
}
