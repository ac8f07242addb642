//! Keyed hashes for secrets that are looked up by hash.
//!
//! API keys, backup codes, reset links and challenge codes are stored as
//! HMAC-SHA-256 under a subkey for their purpose, never in the clear. A keyed
//! hash (rather than a plain SHA-256) means a stolen database alone does not
//! let anyone test guesses offline: the key lives in the key file, not in the
//! database. These values are high-entropy or short-lived, so a fast hash is
//! enough; passwords go to [`crate::password`] instead.
//!
//! Subkeys are derived from the keyring's *hash key*, a 256-bit key kept apart
//! from the sealing keys and never changed by `rotate`: a hash must stay
//! reproducible for as long as the row it protects exists, whereas a sealed
//! value carries its key id and can be re-sealed under a new key.

use std::fmt;

use data_encoding::HEXLOWER;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::compare::ct_eq;

type HmacSha256 = Hmac<Sha256>;

/// Fixed prefix of the derivation input. The purpose follows it to the end of
/// the message, so two different purposes never produce the same input.
const DERIVATION_LABEL: &[u8] = b"ichido keyed-hash v1\0";

/// HMAC-SHA-256 under a subkey derived for one purpose.
#[derive(Clone)]
pub struct KeyedHasher {
    purpose: String,
    subkey: Zeroizing<[u8; 32]>,
}

impl KeyedHasher {
    /// Derives the subkey for `purpose` from a 256-bit hash key:
    /// `HMAC-SHA-256(hash_key, label || purpose)`, as in HKDF-Expand with a
    /// single block. Distinct purposes get independent keys, so a backup-code
    /// hash can never be replayed as an API-key hash.
    pub(crate) fn derive(hash_key: &[u8; 32], purpose: &str) -> KeyedHasher {
        let mut mac = new_mac(hash_key);
        mac.update(DERIVATION_LABEL);
        mac.update(purpose.as_bytes());
        KeyedHasher {
            purpose: purpose.to_owned(),
            subkey: Zeroizing::new(mac.finalize().into_bytes().into()),
        }
    }

    /// The purpose this hasher was derived for.
    pub fn purpose(&self) -> &str {
        &self.purpose
    }

    pub fn hash(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = new_mac(&self.subkey);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// Lower-case hex of [`KeyedHasher::hash`], for TEXT columns and indexes.
    pub fn hash_hex(&self, data: &[u8]) -> String {
        HEXLOWER.encode(&self.hash(data))
    }

    /// Whether `data` hashes to `expected` (the raw 32 bytes), in constant time.
    pub fn verify(&self, data: &[u8], expected: &[u8]) -> bool {
        ct_eq(&self.hash(data), expected)
    }
}

fn new_mac(key: &[u8; 32]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

impl fmt::Debug for KeyedHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedHasher")
            .field("purpose", &self.purpose)
            .field("subkey", &"**redacted**")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH_KEY: [u8; 32] = [42; 32];

    #[test]
    fn same_purpose_and_key_give_the_same_hash() {
        let a = KeyedHasher::derive(&HASH_KEY, "api-key");
        let b = KeyedHasher::derive(&HASH_KEY, "api-key");
        assert_eq!(a.hash(b"abc"), b.hash(b"abc"));
        assert_ne!(a.hash(b"abc"), a.hash(b"abd"));
    }

    #[test]
    fn purposes_and_hash_keys_separate_outputs() {
        let api = KeyedHasher::derive(&HASH_KEY, "api-key");
        let backup = KeyedHasher::derive(&HASH_KEY, "backup-code");
        let other_key = KeyedHasher::derive(&[43; 32], "api-key");
        assert_ne!(api.hash(b"abc"), backup.hash(b"abc"));
        assert_ne!(api.hash(b"abc"), other_key.hash(b"abc"));
    }

    #[test]
    fn subkey_is_hmac_of_label_and_purpose() {
        let mut mac = new_mac(&HASH_KEY);
        mac.update(b"ichido keyed-hash v1\0api-key");
        let subkey: [u8; 32] = mac.finalize().into_bytes().into();
        let mut mac = new_mac(&subkey);
        mac.update(b"data");
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(
            KeyedHasher::derive(&HASH_KEY, "api-key").hash(b"data"),
            expected
        );
    }

    #[test]
    fn verify_accepts_only_the_exact_hash() {
        let h = KeyedHasher::derive(&HASH_KEY, "backup-code");
        let digest = h.hash(b"1234-5678");
        assert!(h.verify(b"1234-5678", &digest));
        assert!(!h.verify(b"1234-5679", &digest));
        assert!(!h.verify(b"1234-5678", &digest[..31]));
        assert!(!h.verify(b"1234-5678", b""));
        assert_eq!(h.hash_hex(b"1234-5678"), HEXLOWER.encode(&digest));
        assert_eq!(h.hash_hex(b"x").len(), 64);
    }

    #[test]
    fn debug_does_not_show_the_subkey() {
        let h = KeyedHasher::derive(&HASH_KEY, "reset-link");
        let shown = format!("{h:?}");
        assert!(shown.contains("reset-link"));
        assert!(!shown.contains(&HEXLOWER.encode(&h.subkey[..])));
        assert!(!shown.contains(&format!("{:?}", &h.subkey[..])));
    }
}
