//! HMAC of an 8-byte counter, straight on the hash compression functions.
//!
//! HOTP and TOTP always authenticate one 8-byte big-endian counter (RFC 4226 §5.3, RFC 6238
//! §4.2), so `HMAC(K, C) = H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ C))` (RFC 2104 §2) is exactly: the two
//! key blocks compressed once when keying, then one compression of the padded counter block and
//! one of the padded inner digest per counter. Working on the compression functions skips the
//! generic buffering of a streaming HMAC, which costs as much as the hashing itself for such short
//! messages, and lets every block be written well before it is hashed (a hash that reads bytes
//! just written waits for them to reach the cache). The tests check every output against the
//! `hmac` crate.

use hmac::digest::Digest;
use hmac::digest::generic_array::GenericArray;
use zeroize::Zeroize;

use super::{Tag, truncate};
use crate::Algorithm;

/// Initial hash values: FIPS 180-4 §5.3.1 (SHA-1), §5.3.3 (SHA-256), §5.3.5 (SHA-512).
const SHA1_IV: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];
const SHA512_IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

/// RFC 2104 §2 `ipad` and `opad` bytes.
const IPAD: u8 = 0x36;
const OPAD: u8 = 0x5c;

/// Counters signed together by [`CounterMac::values`].
pub(crate) const BATCH: usize = 4;

/// Hash states after absorbing `K ⊕ ipad` and `K ⊕ opad` (RFC 2104 §2 steps 1-2 and 5).
#[derive(Clone)]
pub(crate) enum CounterMac {
    Sha1 { inner: [u32; 5], outer: [u32; 5] },
    Sha256 { inner: [u32; 8], outer: [u32; 8] },
    Sha512 { inner: [u64; 8], outer: [u64; 8] },
}

fn sha1_compress(state: &mut [u32; 5], block: &[u8; 64]) {
    sha1::compress(
        state,
        core::slice::from_ref(GenericArray::from_slice(block)),
    );
}

fn sha256_compress(state: &mut [u32; 8], block: &[u8; 64]) {
    sha2::compress256(
        state,
        core::slice::from_ref(GenericArray::from_slice(block)),
    );
}

fn sha512_compress(state: &mut [u64; 8], block: &[u8; 128]) {
    sha2::compress512(
        state,
        core::slice::from_ref(GenericArray::from_slice(block)),
    );
}

fn sha1_bytes(state: &[u32; 5]) -> [u8; 20] {
    let mut out = [0u8; 20];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

fn sha256_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

fn sha512_bytes(state: &[u64; 8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (chunk, word) in out.chunks_exact_mut(8).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

fn sha1_digest(key: &[u8]) -> Vec<u8> {
    sha1::Sha1::digest(key).to_vec()
}

fn sha256_digest(key: &[u8]) -> Vec<u8> {
    sha2::Sha256::digest(key).to_vec()
}

fn sha512_digest(key: &[u8]) -> Vec<u8> {
    sha2::Sha512::digest(key).to_vec()
}

/// One block holding `data` then the MD padding for a message that follows one key block
/// (FIPS 180-4 §5.1: a 1 bit, zeros, and the bit length in the last 8 bytes; the upper half of
/// SHA-512's 16-byte length stays zero).
fn padded<const B: usize>(data: &[u8]) -> [u8; B] {
    let mut block = [0u8; B];
    block[..data.len()].copy_from_slice(data);
    block[data.len()] = 0x80;
    let bits = ((B + data.len()) * 8) as u64;
    block[B - 8..].copy_from_slice(&bits.to_be_bytes());
    block
}

/// One hash function as HMAC uses it: state `S`, block size `B`, digest size `L`.
struct Hash<S, const B: usize, const L: usize> {
    iv: S,
    compress: fn(&mut S, &[u8; B]),
    bytes: fn(&S) -> [u8; L],
    digest: fn(&[u8]) -> Vec<u8>,
}

const SHA1: Hash<[u32; 5], 64, 20> = Hash {
    iv: SHA1_IV,
    compress: sha1_compress,
    bytes: sha1_bytes,
    digest: sha1_digest,
};
const SHA256: Hash<[u32; 8], 64, 32> = Hash {
    iv: SHA256_IV,
    compress: sha256_compress,
    bytes: sha256_bytes,
    digest: sha256_digest,
};
const SHA512: Hash<[u64; 8], 128, 64> = Hash {
    iv: SHA512_IV,
    compress: sha512_compress,
    bytes: sha512_bytes,
    digest: sha512_digest,
};

impl<S: Copy + Zeroize, const B: usize, const L: usize> Hash<S, B, L> {
    /// The inner and outer states after `K ⊕ ipad` and `K ⊕ opad`; a key longer than a block is
    /// hashed first, a shorter one padded with zeros (RFC 2104 §2).
    fn keyed(&self, key: &[u8]) -> (S, S) {
        let mut block = [0u8; B];
        if key.len() > B {
            let mut digest = (self.digest)(key);
            block[..digest.len()].copy_from_slice(&digest);
            digest.zeroize();
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let ipad = block.map(|b| b ^ IPAD);
        let opad = block.map(|b| b ^ OPAD);
        block.zeroize();
        let (mut inner, mut outer) = (self.iv, self.iv);
        (self.compress)(&mut inner, &ipad);
        (self.compress)(&mut outer, &opad);
        (inner, outer)
    }

    /// The outer half of HMAC for an inner state that has absorbed the message.
    fn outer(&self, outer: &S, inner_done: &S) -> [u8; L] {
        let block = padded::<B>(&(self.bytes)(inner_done));
        let mut state = *outer;
        (self.compress)(&mut state, &block);
        (self.bytes)(&state)
    }

    /// `HMAC(K, C)` for one counter (RFC 4226 §5.3 step 1).
    fn sign(&self, inner: &S, outer: &S, counter: u64) -> [u8; L] {
        let block = padded::<B>(&counter.to_be_bytes());
        let mut state = *inner;
        (self.compress)(&mut state, &block);
        self.outer(outer, &state)
    }

    /// `Snum` of `HMAC(K, C)` from the raw key, writing the counter block before keying.
    fn value_once(&self, key: &[u8], counter: u64) -> u32 {
        let block = padded::<B>(&counter.to_be_bytes());
        let (mut inner, mut outer) = self.keyed(key);
        let mut state = inner;
        (self.compress)(&mut state, &block);
        let value = truncate(&self.outer(&outer, &state));
        inner.zeroize();
        outer.zeroize();
        state.zeroize();
        value
    }

    /// `Snum` of `HMAC(K, first + i)` for `i < count`. All inner blocks are written before the
    /// first is hashed, and likewise the outer blocks.
    fn values(&self, inner: &S, outer: &S, first: u64, count: usize) -> [u32; BATCH] {
        let count = count.min(BATCH);
        let mut blocks = [[0u8; B]; BATCH];
        for (i, block) in blocks.iter_mut().enumerate().take(count) {
            *block = padded::<B>(&first.wrapping_add(i as u64).to_be_bytes());
        }
        let mut states = [*inner; BATCH];
        for (state, block) in states.iter_mut().zip(&blocks).take(count) {
            (self.compress)(state, block);
        }
        for (block, state) in blocks.iter_mut().zip(&states).take(count) {
            *block = padded::<B>(&(self.bytes)(state));
        }
        let mut values = [0u32; BATCH];
        for (value, block) in values.iter_mut().zip(&blocks).take(count) {
            let mut state = *outer;
            (self.compress)(&mut state, block);
            *value = truncate(&(self.bytes)(&state));
        }
        values
    }
}

fn tag<const L: usize>(bytes: [u8; L]) -> Tag {
    let mut tag = Tag {
        bytes: [0; 64],
        len: L,
    };
    tag.bytes[..L].copy_from_slice(&bytes);
    tag
}

impl Drop for CounterMac {
    /// The states are as good as the key for computing codes: wipe them.
    fn drop(&mut self) {
        match self {
            CounterMac::Sha1 { inner, outer } => {
                inner.zeroize();
                outer.zeroize();
            }
            CounterMac::Sha256 { inner, outer } => {
                inner.zeroize();
                outer.zeroize();
            }
            CounterMac::Sha512 { inner, outer } => {
                inner.zeroize();
                outer.zeroize();
            }
        }
    }
}

impl CounterMac {
    /// Absorbs the key blocks (RFC 2104 §2): two compressions.
    pub(crate) fn new(algorithm: Algorithm, key: &[u8]) -> CounterMac {
        match algorithm {
            Algorithm::Sha1 => {
                let (inner, outer) = SHA1.keyed(key);
                CounterMac::Sha1 { inner, outer }
            }
            Algorithm::Sha256 => {
                let (inner, outer) = SHA256.keyed(key);
                CounterMac::Sha256 { inner, outer }
            }
            Algorithm::Sha512 => {
                let (inner, outer) = SHA512.keyed(key);
                CounterMac::Sha512 { inner, outer }
            }
        }
    }

    /// RFC 4226 §5.3 `Snum` of `HMAC(K, C)` for a single counter, keying included: four
    /// compressions.
    pub(crate) fn value_once(algorithm: Algorithm, key: &[u8], counter: u64) -> u32 {
        match algorithm {
            Algorithm::Sha1 => SHA1.value_once(key, counter),
            Algorithm::Sha256 => SHA256.value_once(key, counter),
            Algorithm::Sha512 => SHA512.value_once(key, counter),
        }
    }

    /// `HMAC(K, C)` for the 8-byte big-endian counter `C` (RFC 4226 §5.3 step 1): two compressions.
    pub(crate) fn sign(&self, counter: u64) -> Tag {
        match self {
            CounterMac::Sha1 { inner, outer } => tag(SHA1.sign(inner, outer, counter)),
            CounterMac::Sha256 { inner, outer } => tag(SHA256.sign(inner, outer, counter)),
            CounterMac::Sha512 { inner, outer } => tag(SHA512.sign(inner, outer, counter)),
        }
    }

    /// RFC 4226 §5.3 for one counter: `Snum` of `HMAC(K, C)`.
    pub(crate) fn counter_value(&self, counter: u64) -> u32 {
        self.sign(counter).truncate()
    }

    /// RFC 4226 §5.3 `Snum` for the counters `first ..` (`count` of them, at most [`BATCH`]);
    /// entries past `count` are 0.
    pub(crate) fn values(&self, first: u64, count: usize) -> [u32; BATCH] {
        match self {
            CounterMac::Sha1 { inner, outer } => SHA1.values(inner, outer, first, count),
            CounterMac::Sha256 { inner, outer } => SHA256.values(inner, outer, first, count),
            CounterMac::Sha512 { inner, outer } => SHA512.values(inner, outer, first, count),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mac::KeyedMac;

    #[test]
    fn matches_the_hmac_crate_for_every_key_length_and_algorithm() {
        // Key lengths around the block sizes, where RFC 2104 §2 switches to hashing the key.
        for alg in Algorithm::ALL {
            for key_len in [0usize, 1, 16, 20, 32, 63, 64, 65, 127, 128, 129, 300] {
                let key: Vec<u8> = (0..key_len).map(|i| (i * 7 + key_len) as u8).collect();
                let fast = CounterMac::new(alg, &key);
                let reference = KeyedMac::new(alg, &key);
                for counter in [0u64, 1, 0x23523EC, u64::MAX] {
                    let expected = reference.sign(&counter.to_be_bytes());
                    assert_eq!(
                        fast.sign(counter).as_bytes(),
                        expected.as_bytes(),
                        "{alg} key {key_len} C {counter}"
                    );
                }
            }
        }
    }

    #[test]
    fn single_value_with_keying_equals_the_keyed_state_value() {
        for alg in Algorithm::ALL {
            for key in [&b"12345678901234567890"[..], &[9u8; 200][..]] {
                let mac = CounterMac::new(alg, key);
                for counter in [0u64, 1, u64::MAX] {
                    assert_eq!(
                        CounterMac::value_once(alg, key, counter),
                        mac.counter_value(counter)
                    );
                }
            }
        }
    }

    #[test]
    fn batched_values_equal_one_at_a_time_values() {
        for alg in Algorithm::ALL {
            let mac = CounterMac::new(alg, b"12345678901234567890");
            for first in [0u64, 41, u64::MAX - 2] {
                for count in 1..=BATCH {
                    let values = mac.values(first, count);
                    for (i, value) in values.iter().enumerate() {
                        let expected = if i < count {
                            mac.counter_value(first.wrapping_add(i as u64))
                        } else {
                            0
                        };
                        assert_eq!(*value, expected, "{alg} first {first} count {count} i {i}");
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn matches_the_hmac_crate_for_random_keys_and_counters(
            key in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            counter in proptest::prelude::any::<u64>(),
            which in 0usize..3,
        ) {
            let alg = Algorithm::ALL[which];
            let expected = KeyedMac::new(alg, &key).sign(&counter.to_be_bytes());
            let tag = CounterMac::new(alg, &key).sign(counter);
            proptest::prop_assert_eq!(tag.as_bytes(), expected.as_bytes());
        }
    }
}
