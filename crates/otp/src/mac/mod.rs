//! HMAC keyed once, signed many times, and the dynamic truncation of RFC 4226 §5.3.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

use crate::Algorithm;

mod counter;

pub(crate) use counter::{BATCH, CounterMac};

/// An HMAC of messages of any length whose key has been absorbed (RFC 2104 §2 steps 1-2 for both
/// pads), used by OCRA. Cloning it is how one OCRA verification tries several moving factors
/// while keying once; HOTP and TOTP use the leaner [`CounterMac`].
#[derive(Clone)]
pub(crate) enum KeyedMac {
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
    Sha512(Hmac<Sha512>),
}

/// An HMAC output of up to 64 bytes (RFC 2104 §2), kept on the stack.
pub(crate) struct Tag {
    bytes: [u8; 64],
    len: usize,
}

impl Tag {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Dynamic truncation, RFC 4226 §5.3 steps 2-3 without the modulo: the 31-bit `Snum`.
    pub(crate) fn truncate(&self) -> u32 {
        truncate(self.as_bytes())
    }
}

/// Dynamic truncation of an HMAC output of at least 20 bytes (RFC 4226 §5.3 steps 2-3): the
/// low 4 bits of the last byte give the offset of a 31-bit big-endian `Snum`.
pub(crate) fn truncate(tag: &[u8]) -> u32 {
    let offset = usize::from(tag[tag.len() - 1] & 0x0f);
    let word = [
        tag[offset],
        tag[offset + 1],
        tag[offset + 2],
        tag[offset + 3],
    ];
    u32::from_be_bytes(word) & 0x7fff_ffff
}

fn keyed<M: Mac + hmac::digest::KeyInit>(key: &[u8]) -> M {
    // HMAC accepts a key of any length (RFC 2104 §3): long keys are hashed, short ones padded.
    <M as hmac::digest::KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable_key_error())
}

#[cold]
fn unreachable_key_error() -> ! {
    unreachable!("HMAC takes keys of any length (RFC 2104 §3)")
}

fn finish<M: Mac>(mac: M) -> Tag {
    let out = mac.finalize().into_bytes();
    let mut tag = Tag {
        bytes: [0; 64],
        len: out.len(),
    };
    tag.bytes[..out.len()].copy_from_slice(&out);
    tag
}

impl KeyedMac {
    /// Absorbs the key into the inner and outer hash states (RFC 2104 §2).
    pub(crate) fn new(algorithm: Algorithm, key: &[u8]) -> KeyedMac {
        match algorithm {
            Algorithm::Sha1 => KeyedMac::Sha1(keyed(key)),
            Algorithm::Sha256 => KeyedMac::Sha256(keyed(key)),
            Algorithm::Sha512 => KeyedMac::Sha512(keyed(key)),
        }
    }

    /// HMAC of `message`, consuming the keyed state.
    pub(crate) fn finish(self, message: &[u8]) -> Tag {
        match self {
            KeyedMac::Sha1(mut mac) => {
                mac.update(message);
                finish(mac)
            }
            KeyedMac::Sha256(mut mac) => {
                mac.update(message);
                finish(mac)
            }
            KeyedMac::Sha512(mut mac) => {
                mac.update(message);
                finish(mac)
            }
        }
    }

    /// HMAC of `message` from a copy of the keyed state, leaving it ready for the next candidate.
    pub(crate) fn sign(&self, message: &[u8]) -> Tag {
        self.clone().finish(message)
    }
}

/// `10^digits` for 1 to 10 digits (RFC 4226 §5.3 `10^Digit`).
pub(crate) fn modulus(digits: usize) -> u64 {
    10u64.pow(digits.min(10) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4226 Appendix D, Table 1 (HMAC-SHA-1 of each count) and Table 2 (truncated values).
    const RFC4226_APPENDIX_D: [(u64, &str, u32); 10] = [
        (0, "cc93cf18508d94934c64b65d8ba7667fb7cde4b0", 0x4c93cf18),
        (1, "75a48a19d4cbe100644e8ac1397eea747a2d33ab", 0x41397eea),
        (2, "0bacb7fa082fef30782211938bc1c5e70416ff44", 0x082fef30),
        (3, "66c28227d03a2d5529262ff016a1e6ef76557ece", 0x66ef7655),
        (4, "a904c900a64b35909874b33e61c5938a8e15ed1c", 0x61c5938a),
        (5, "a37e783d7b7233c083d4f62926c7a25f238d0316", 0x33c083d4),
        (6, "bc9cd28561042c83f219324d3c607256c03272ae", 0x7256c032),
        (7, "a4fb960c0bc06e1eabb804e5b397cdc4b45596fa", 0x04e5b397),
        (8, "1b3c89f65e6c9e883012052823443f048b4332db", 0x2823443f),
        (9, "1637409809a679dc698207310c8c7fc07290d9e5", 0x2679dc69),
    ];

    /// RFC 4226 Appendix D, Table 2, the decimal column.
    const RFC4226_APPENDIX_D_DECIMAL: [u32; 10] = [
        1284755224, 1094287082, 137359152, 1726969429, 1640338314, 868254676, 1918287922, 82162583,
        673399871, 645520489,
    ];

    #[test]
    fn rfc4226_appendix_d_intermediate_hmac_and_truncated_values() {
        let mac = KeyedMac::new(Algorithm::Sha1, b"12345678901234567890");
        for (count, hmac_hex, truncated) in RFC4226_APPENDIX_D {
            let tag = mac.sign(&count.to_be_bytes());
            assert_eq!(hex::encode(tag.as_bytes()), hmac_hex, "count {count}");
            assert_eq!(tag.truncate(), truncated, "count {count}");
            assert_eq!(
                tag.truncate(),
                RFC4226_APPENDIX_D_DECIMAL[count as usize],
                "count {count}"
            );
        }
    }

    #[test]
    fn cloned_state_gives_the_same_tag_as_fresh_keying() {
        for alg in Algorithm::ALL {
            let keyed = KeyedMac::new(alg, b"key");
            for counter in 0..3u64 {
                let fresh = KeyedMac::new(alg, b"key").finish(&counter.to_be_bytes());
                assert_eq!(
                    keyed.sign(&counter.to_be_bytes()).as_bytes(),
                    fresh.as_bytes()
                );
                assert_eq!(fresh.as_bytes().len(), alg.output_len());
            }
        }
    }
}
