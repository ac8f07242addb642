//! Authenticated encryption of values at rest.
//!
//! XChaCha20-Poly1305 with a fresh random 192-bit nonce per value. The nonce
//! is long enough to draw at random for the lifetime of a key: after 2^48
//! seals the chance of any repeat is still about 2^-97, so no counter has to be
//! stored or shared between nodes.
//!
//! The associated data names the row the value belongs to (for example
//! `b"token:secret:<serial>"`). It is not stored; the caller supplies it again
//! when opening, so a ciphertext copied into another row does not open there.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use data_encoding::BASE64URL_NOPAD;
use rand::RngCore;
use rand::rngs::OsRng;

use crate::keyring::KeyId;
use crate::secret::SecretBytes;

/// Nonce length of XChaCha20-Poly1305.
pub const NONCE_LEN: usize = 24;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;

/// A sealed value and the id of the key that sealed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: KeyId,
    /// `nonce || ciphertext || tag`.
    pub blob: Vec<u8>,
}

/// Why a sealed value could not be opened or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The key that sealed the value is not (or no longer) in the keyring.
    #[error("sealed with key {0}, which is not in the keyring")]
    UnknownKey(KeyId),
    /// The stored text or blob does not have the sealed format.
    #[error("malformed sealed value: {0}")]
    Malformed(&'static str),
    /// Authentication failed: the blob was altered, or it belongs to another
    /// row (different associated data), or the key under that id changed.
    /// These cases are deliberately not told apart.
    #[error("sealed value failed authentication")]
    Invalid,
}

impl Sealed {
    /// One self-describing string for a TEXT column:
    /// `"<key_id>:<base64url-nopad blob>"`. Key ids never contain `:`.
    pub fn to_text(&self) -> String {
        format!("{}:{}", self.key_id, BASE64URL_NOPAD.encode(&self.blob))
    }

    /// Parses [`Sealed::to_text`]'s output. Anything else is `Malformed`.
    pub fn from_text(text: &str) -> Result<Sealed, SealError> {
        let (id, blob) = text
            .split_once(':')
            .ok_or(SealError::Malformed("missing ':' after the key id"))?;
        let key_id = id
            .parse::<KeyId>()
            .map_err(|_| SealError::Malformed("invalid key id"))?;
        let blob = BASE64URL_NOPAD
            .decode(blob.as_bytes())
            .map_err(|_| SealError::Malformed("blob is not unpadded base64url"))?;
        check_len(&blob)?;
        Ok(Sealed { key_id, blob })
    }
}

impl fmt::Display for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

fn check_len(blob: &[u8]) -> Result<(), SealError> {
    if blob.len() < NONCE_LEN + TAG_LEN {
        return Err(SealError::Malformed("blob shorter than nonce and tag"));
    }
    Ok(())
}

/// Seals `plaintext` under one 256-bit key; returns `nonce || ciphertext || tag`.
pub(crate) fn seal_with(key: &[u8; 32], plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        // The only failure is a plaintext over 256 GiB, which no caller stores.
        .expect("XChaCha20-Poly1305 accepts any plaintext below 256 GiB");
    let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&sealed);
    blob
}

/// Opens a blob produced by [`seal_with`] under the same key and `aad`.
pub(crate) fn open_with(key: &[u8; 32], blob: &[u8], aad: &[u8]) -> Result<SecretBytes, SealError> {
    check_len(blob)?;
    let (nonce, sealed) = blob.split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad })
        .map(SecretBytes::new)
        .map_err(|_| SealError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn blob_is_nonce_ciphertext_and_tag() {
        let blob = seal_with(&KEY, b"seed", b"row");
        assert_eq!(blob.len(), NONCE_LEN + 4 + TAG_LEN);
        assert_eq!(open_with(&KEY, &blob, b"row").unwrap().as_bytes(), b"seed");
    }

    #[test]
    fn two_seals_of_the_same_value_differ() {
        assert_ne!(
            seal_with(&KEY, b"seed", b"row"),
            seal_with(&KEY, b"seed", b"row")
        );
    }

    #[test]
    fn another_key_does_not_open() {
        let blob = seal_with(&KEY, b"seed", b"row");
        assert_eq!(
            open_with(&[8; 32], &blob, b"row").unwrap_err(),
            SealError::Invalid
        );
    }

    #[test]
    fn short_blob_is_malformed_not_a_panic() {
        for len in [0, 1, NONCE_LEN, NONCE_LEN + TAG_LEN - 1] {
            assert!(matches!(
                open_with(&KEY, &vec![0; len], b""),
                Err(SealError::Malformed(_))
            ));
        }
        assert_eq!(
            open_with(&KEY, &[0; NONCE_LEN + TAG_LEN], b"").unwrap_err(),
            SealError::Invalid
        );
    }

    #[test]
    fn text_form_round_trips() {
        let sealed = Sealed {
            key_id: "k1".parse().unwrap(),
            blob: seal_with(&KEY, b"seed", b"row"),
        };
        let text = sealed.to_text();
        assert!(text.starts_with("k1:"));
        assert!(!text.contains('='));
        assert_eq!(Sealed::from_text(&text).unwrap(), sealed);
        assert_eq!(sealed.to_string(), text);
    }

    #[test]
    fn malformed_text_is_an_error() {
        let good = BASE64URL_NOPAD.encode(&[0u8; 40]);
        for bad in [
            String::new(),
            "k1".to_owned(),
            ":".to_owned(),
            format!(":{good}"),
            "k1:".to_owned(),
            "k1:AAAA".to_owned(),
            format!("k1:{good}="),
            format!("k1:{good}!"),
            format!("k 1:{good}"),
            format!("k1:x:{good}"),
        ] {
            assert!(
                matches!(Sealed::from_text(&bad), Err(SealError::Malformed(_))),
                "{bad:?}"
            );
        }
        assert!(Sealed::from_text(&format!("k1:{good}")).is_ok());
    }
}
