//! Shared secrets: the HMAC key `K` of RFC 4226 §5.1.

use std::fmt;

use rand::RngCore;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{Algorithm, base32, base32::Base32Error};

/// A shared secret `K` (RFC 4226 §5.1). Zeroized on drop; `Debug` never shows it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret(Vec<u8>);

/// Why a text is not a hex-encoded secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// Nothing to decode.
    #[error("hex secret is empty: RFC 4226 §4 R6 requires a shared secret")]
    Empty,
    /// An odd number of hex digits.
    #[error("hex secret has {0} digits: each byte takes two hex digits, so the count must be even")]
    OddLength(usize),
    /// A character that is not a hex digit.
    #[error(
        "invalid hex character {ch:?} at position {position}: only 0-9 and a-f/A-F are hex digits"
    )]
    InvalidChar {
        /// The offending character.
        ch: char,
        /// Its position (in characters) in the input.
        position: usize,
    },
}

impl Secret {
    /// Wraps key bytes (RFC 4226 §5.1 `K`).
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }

    /// The key bytes (RFC 4226 §5.1 `K`).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Key length in bytes (RFC 4226 §4 R6: at least 16, 20 recommended).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for an empty key, which RFC 4226 §4 R6 forbids.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Decodes a base32 secret as found in Key URIs (RFC 4648 §6); an empty one is an error.
    pub fn from_base32(text: &str) -> Result<Secret, Base32Error> {
        let bytes = base32::decode(text)?;
        if bytes.is_empty() {
            return Err(Base32Error::Empty);
        }
        Ok(Secret(bytes))
    }

    /// Encodes the secret as unpadded base32 (RFC 4648 §6), the Key URI form.
    pub fn to_base32(&self) -> String {
        base32::encode(&self.0)
    }

    /// Decodes a hex secret such as the RFC 4226 Appendix D key `3132333435…`; whitespace is ignored.
    pub fn from_hex(text: &str) -> Result<Secret, HexError> {
        let digits: Vec<(usize, char)> = text
            .chars()
            .enumerate()
            .filter(|(_, c)| !c.is_ascii_whitespace())
            .collect();
        if digits.is_empty() {
            return Err(HexError::Empty);
        }
        if let Some(&(position, ch)) = digits.iter().find(|(_, c)| !c.is_ascii_hexdigit()) {
            return Err(HexError::InvalidChar { ch, position });
        }
        if !digits.len().is_multiple_of(2) {
            return Err(HexError::OddLength(digits.len()));
        }
        let nibble = |c: char| c.to_digit(16).unwrap_or(0) as u8;
        let bytes = digits
            .chunks_exact(2)
            .map(|pair| (nibble(pair[0].1) << 4) | nibble(pair[1].1))
            .collect();
        Ok(Secret(bytes))
    }

    /// Encodes the secret as lowercase hex, the form of the RFC 4226 Appendix D key.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// A random secret from the operating system, as long as the hash output (RFC 4226 §4 R6,
    /// RFC 6238 §5.1): 160 bits for SHA-1, 256 for SHA-256, 512 for SHA-512.
    pub fn generate(algorithm: Algorithm) -> Secret {
        Secret::generate_with(&mut rand::rngs::OsRng, algorithm)
    }

    /// A random secret from `rng`, as long as the hash output (RFC 4226 §4 R6, RFC 6238 §5.1).
    /// Pass a cryptographically secure generator outside tests.
    pub fn generate_with<R: RngCore + ?Sized>(rng: &mut R, algorithm: Algorithm) -> Secret {
        let mut bytes = vec![0u8; algorithm.secret_len()];
        rng.fill_bytes(&mut bytes);
        Secret(bytes)
    }
}

impl PartialEq for Secret {
    /// Constant-time comparison of the key bytes (RFC 4226 §7.5 keeps keys secret).
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    /// Never shows the key (RFC 4226 §7.5: secrets must be protected).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn debug_output_is_redacted() {
        let secret = Secret::new(b"12345678901234567890".to_vec());
        assert_eq!(format!("{secret:?}"), "Secret(**redacted**)");
    }

    #[test]
    fn generated_secrets_have_the_hash_length() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for alg in Algorithm::ALL {
            assert_eq!(Secret::generate_with(&mut rng, alg).len(), alg.secret_len());
            assert_eq!(Secret::generate(alg).len(), alg.secret_len());
        }
        assert_ne!(
            Secret::generate(Algorithm::Sha1),
            Secret::generate(Algorithm::Sha1)
        );
    }

    #[test]
    fn hex_and_base32_forms_decode_to_the_same_key() {
        let from_hex = Secret::from_hex("3132333435363738393031323334353637383930").unwrap();
        let from_b32 = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
        assert_eq!(from_hex, from_b32);
        assert_eq!(from_hex.as_bytes(), b"12345678901234567890");
        assert_eq!(from_hex.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            from_b32.to_hex(),
            "3132333435363738393031323334353637383930"
        );
    }

    #[test]
    fn malformed_hex_is_rejected_with_the_reason() {
        assert_eq!(Secret::from_hex(""), Err(HexError::Empty));
        assert_eq!(Secret::from_hex("abc"), Err(HexError::OddLength(3)));
        assert_eq!(
            Secret::from_hex("zz"),
            Err(HexError::InvalidChar {
                ch: 'z',
                position: 0
            })
        );
        assert_eq!(Secret::from_base32(""), Err(Base32Error::Empty));
    }
}
