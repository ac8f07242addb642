//! Properties over arbitrary input: sealing round-trips, parsing never panics.

use ichido_crypto::{Keyring, Sealed, password};
use proptest::prelude::*;

proptest! {
    #[test]
    fn open_of_seal_is_the_plaintext(
        plaintext in proptest::collection::vec(any::<u8>(), 0..512),
        aad in proptest::collection::vec(any::<u8>(), 0..128),
    ) {
        let ring = Keyring::generate();
        let sealed = ring.seal(&plaintext, &aad);
        let opened = ring.open(&sealed, &aad).unwrap();
        prop_assert_eq!(opened.as_bytes(), &plaintext[..]);
        let stored = Sealed::from_text(&sealed.to_text()).unwrap();
        let reopened = ring.open(&stored, &aad).unwrap();
        prop_assert_eq!(reopened.as_bytes(), &plaintext[..]);
    }

    #[test]
    fn open_with_different_aad_fails(
        plaintext in proptest::collection::vec(any::<u8>(), 0..64),
        aad in proptest::collection::vec(any::<u8>(), 0..32),
        other in proptest::collection::vec(any::<u8>(), 0..32),
    ) {
        prop_assume!(aad != other);
        let ring = Keyring::generate();
        prop_assert!(ring.open(&ring.seal(&plaintext, &aad), &other).is_err());
    }

    #[test]
    fn from_text_never_panics(text in any::<String>()) {
        let _ = Sealed::from_text(&text);
    }

    #[test]
    fn from_text_never_panics_on_near_valid_text(
        id in "[a-z0-9:]{0,6}",
        blob in "[A-Za-z0-9_=+/-]{0,80}",
    ) {
        let text = format!("{id}:{blob}");
        if let Ok(sealed) = Sealed::from_text(&text) {
            prop_assert_eq!(sealed.to_text(), text);
        }
    }

    #[test]
    fn opening_arbitrary_sealed_text_never_panics(text in "k1:[A-Za-z0-9_-]{0,100}") {
        let ring = Keyring::generate();
        if let Ok(sealed) = Sealed::from_text(&text) {
            prop_assert!(ring.open(&sealed, b"row").is_err());
        }
    }

    #[test]
    fn env_value_never_panics(text in any::<String>()) {
        let _ = Keyring::from_env_value(&text);
    }

    #[test]
    fn password_verify_never_panics(phc in any::<String>(), tail in "[$a-z0-9=,]{0,40}") {
        prop_assert!(!password::verify("pw", &phc));
        let near = format!("$argon2id$v=19${tail}");
        prop_assert!(!password::verify("pw", &near));
    }
}
