//! Random values from the operating system's CSPRNG.
//!
//! Every function reads `OsRng` directly: there is no user-space generator to
//! seed, fork or snapshot. Callers choose sizes; the guidance below is the
//! entropy each size gives.

use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
use rand::RngCore;
use rand::rngs::OsRng;

/// `n` random bytes.
pub fn bytes(n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    OsRng.fill_bytes(&mut out);
    out
}

/// `n_bytes` random bytes as base64url without padding (URL and header safe).
///
/// 32 bytes give 256 bits, the size to use for bearer tokens, API keys and
/// reset links: unguessable even with the hash table in hand.
pub fn token(n_bytes: usize) -> String {
    BASE64URL_NOPAD.encode(&bytes(n_bytes))
}

/// `n` uniformly random decimal digits (each carries log2(10) ≈ 3.32 bits).
///
/// A byte is reduced modulo 10 only when it is below 250, the largest multiple
/// of 10 that fits in a byte; bytes 250..=255 are drawn again. Every digit is
/// therefore exactly 1/10 likely, which a plain `byte % 10` would not give
/// (0–5 would come up 26/256 of the time, 6–9 only 25/256).
pub fn digits(n: usize) -> String {
    let mut out = String::with_capacity(n);
    let mut pool = [0u8; 64];
    while out.len() < n {
        OsRng.fill_bytes(&mut pool);
        for &b in pool.iter().filter(|&&b| b < 250) {
            if out.len() == n {
                break;
            }
            out.push(char::from(b'0' + b % 10));
        }
    }
    out
}

/// `n_bytes` random bytes as RFC 4648 base32 without padding, upper case: the
/// form authenticator apps expect for OTP seeds. 20 bytes (160 bits) is the
/// RFC 4226 recommendation for HMAC-SHA-1.
pub fn base32(n_bytes: usize) -> String {
    BASE32_NOPAD.encode(&bytes(n_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_have_the_requested_length_and_differ() {
        assert_eq!(bytes(0).len(), 0);
        assert_eq!(bytes(32).len(), 32);
        assert_ne!(bytes(32), bytes(32));
    }

    #[test]
    fn digits_are_all_digits_of_the_right_length() {
        for n in [0, 1, 6, 8, 10, 63, 64, 65, 200] {
            let d = digits(n);
            assert_eq!(d.len(), n);
            assert!(d.bytes().all(|c| c.is_ascii_digit()), "{d}");
        }
    }

    #[test]
    fn every_digit_value_occurs() {
        let d = digits(2000);
        for c in '0'..='9' {
            assert!(d.contains(c), "digit {c} never drawn in 2000 draws");
        }
    }

    #[test]
    fn token_is_unpadded_base64url() {
        let t = token(32);
        assert_eq!(t.len(), 43);
        assert!(
            t.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(BASE64URL_NOPAD.decode(t.as_bytes()).unwrap().len(), 32);
    }

    #[test]
    fn base32_is_unpadded_upper_case() {
        let s = base32(20);
        assert_eq!(s.len(), 32);
        assert!(
            s.bytes()
                .all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c))
        );
        assert_eq!(base32(1).len(), 2);
    }
}
