//! Master keys with ids, one of them current.
//!
//! Sealing always uses the current key; opening uses the key named in the
//! sealed value, so rows sealed before `ichido keys rotate` stay readable until
//! they are re-sealed and the old key is removed. Each key is 256 bits from the
//! OS CSPRNG, the full key size of XChaCha20-Poly1305.
//!
//! Next to the sealing keys the keyring holds one *hash key* for
//! [`KeyedHasher`]s. It is created with the keyring and never rotated: stored
//! keyed hashes cannot be re-computed without the original secret, so changing
//! that key would orphan every API key and backup code at once.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use data_encoding::{
    BASE64, BASE64_NOPAD, BASE64URL, BASE64URL_NOPAD, HEXLOWER, HEXLOWER_PERMISSIVE,
};
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::keyed_hash::KeyedHasher;
use crate::keyfile;
use crate::seal::{self, SealError, Sealed};
use crate::secret::SecretBytes;

/// A 256-bit key that is wiped when dropped.
pub(crate) type Key = Zeroizing<[u8; 32]>;

/// Key id of the single key given as a bare value in the environment.
const ENV_KEY_ID: &str = "env";

/// Derivation label for the hash key of a keyring built from a bare key.
const ENV_HASH_KEY_LABEL: &[u8] = b"ichido env hash-key v1";

/// Errors of key management and the key file.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The key file's content is not a valid keyring. The reason never quotes
    /// the content, which holds keys.
    #[error("invalid key file: {0}")]
    Format(String),
    #[error("no key {0} in the keyring")]
    UnknownKey(KeyId),
    #[error("key {0} is the current key and cannot be removed; rotate first")]
    RemoveCurrent(KeyId),
    #[error("invalid key id: expected 1 to 32 characters of A-Z a-z 0-9 . _ -")]
    InvalidKeyId,
    #[error(
        "the master key value is neither a key file's content nor a 32-byte key in base64 or hex"
    )]
    EnvValue,
}

/// The id of one master key, stored with every sealed value. Short and
/// printable (`k1`, `k2`, …, or `env`); never contains `:`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(String);

impl KeyId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The numeric part of ids of the form `k<n>`, used to pick the next one.
    fn number(&self) -> Option<u64> {
        self.0.strip_prefix('k')?.parse().ok()
    }
}

impl FromStr for KeyId {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        let valid = (1..=32).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if valid {
            Ok(KeyId(s.to_owned()))
        } else {
            Err(KeyError::InvalidKeyId)
        }
    }
}

impl TryFrom<String> for KeyId {
    type Error = KeyError;

    fn try_from(s: String) -> Result<Self, KeyError> {
        s.parse()
    }
}

impl From<KeyId> for String {
    fn from(id: KeyId) -> String {
        id.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One sealing key of the keyring.
#[derive(Clone)]
pub(crate) struct MasterKey {
    pub(crate) id: KeyId,
    pub(crate) key: Key,
    /// Unix seconds; 0 when unknown (a key given in the environment).
    pub(crate) created_at: u64,
}

/// A set of 256-bit master keys, one of them current, and the hash key.
#[derive(Clone)]
pub struct Keyring {
    current: KeyId,
    hash_key: Key,
    keys: Vec<MasterKey>,
}

impl Keyring {
    /// A new keyring with one fresh random key (`k1`, current) and a fresh
    /// hash key.
    pub fn generate() -> Keyring {
        let first = MasterKey {
            id: KeyId("k1".to_owned()),
            key: random_key(),
            created_at: now(),
        };
        Keyring {
            current: first.id.clone(),
            hash_key: random_key(),
            keys: vec![first],
        }
    }

    /// Builds a keyring from parts read elsewhere, checking its invariants:
    /// at least one key, unique ids, and a current key that is present.
    pub(crate) fn from_parts(
        current: KeyId,
        hash_key: Key,
        keys: Vec<MasterKey>,
    ) -> Result<Keyring, KeyError> {
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|other| other.id == k.id) {
                return Err(KeyError::Format(format!("key id {} appears twice", k.id)));
            }
        }
        if !keys.iter().any(|k| k.id == current) {
            return Err(KeyError::Format(format!(
                "current key {current} is not among the keys"
            )));
        }
        Ok(Keyring {
            current,
            hash_key,
            keys,
        })
    }

    pub(crate) fn hash_key(&self) -> &Key {
        &self.hash_key
    }

    /// Whether both keyrings hash alike (constant time).
    pub(crate) fn same_hash_key(&self, other: &Keyring) -> bool {
        crate::ct_eq(&self.hash_key[..], &other.hash_key[..])
    }

    pub(crate) fn master_keys(&self) -> &[MasterKey] {
        &self.keys
    }

    pub fn current_id(&self) -> &KeyId {
        &self.current
    }

    /// All key ids, oldest first.
    pub fn ids(&self) -> Vec<KeyId> {
        self.keys.iter().map(|k| k.id.clone()).collect()
    }

    /// When the key was created (unix seconds; 0 when unknown), or `None` for
    /// an id that is not in the keyring.
    pub fn created_at(&self, id: &KeyId) -> Option<u64> {
        self.find(id).map(|k| k.created_at)
    }

    /// Adds a new random key and makes it current. Old keys stay for opening
    /// until [`Keyring::remove`]d; the hash key does not change. The caller
    /// saves the keyring before sealing anything with the new key.
    pub fn rotate(&mut self) -> KeyId {
        let id = self.next_id();
        self.keys.push(MasterKey {
            id: id.clone(),
            key: random_key(),
            created_at: now(),
        });
        self.current = id.clone();
        id
    }

    /// Removes an old key. Values still sealed under it can no longer be
    /// opened, so re-seal them first. The current key is never removed.
    pub fn remove(&mut self, id: &KeyId) -> Result<(), KeyError> {
        if *id == self.current {
            return Err(KeyError::RemoveCurrent(id.clone()));
        }
        let before = self.keys.len();
        self.keys.retain(|k| k.id != *id);
        if self.keys.len() == before {
            return Err(KeyError::UnknownKey(id.clone()));
        }
        Ok(())
    }

    /// Seals `plaintext` under the current key (XChaCha20-Poly1305, random
    /// 192-bit nonce). `aad` names the row the value belongs to, e.g.
    /// `b"token:secret:<serial>"`, so the sealed value does not open in any
    /// other row.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Sealed {
        let current = self
            .find(&self.current)
            .expect("the current key is always in the keyring");
        Sealed {
            key_id: current.id.clone(),
            blob: seal::seal_with(&current.key, plaintext, aad),
        }
    }

    /// Opens a value sealed under any key of this keyring with the same `aad`.
    pub fn open(&self, sealed: &Sealed, aad: &[u8]) -> Result<SecretBytes, SealError> {
        let key = self
            .find(&sealed.key_id)
            .ok_or_else(|| SealError::UnknownKey(sealed.key_id.clone()))?;
        seal::open_with(&key.key, &sealed.blob, aad)
    }

    /// A keyed hasher for one purpose ("api-key", "backup-code",
    /// "reset-link", "challenge-code", …). Its subkey comes from the hash key,
    /// so it is the same before and after [`Keyring::rotate`].
    pub fn hasher(&self, purpose: &str) -> KeyedHasher {
        KeyedHasher::derive(&self.hash_key, purpose)
    }

    /// Reads a key file written by [`Keyring::save`].
    pub fn load(path: &Path) -> Result<Keyring, KeyError> {
        keyfile::load(path)
    }

    /// Writes the key file atomically: a temporary file of mode 0600 in the
    /// same directory, fsync, rename over `path`, fsync of the directory.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        keyfile::save(self, path)
    }

    /// Loads the key file, or creates it (and its parent directory, mode
    /// 0700) with a fresh keyring. Returns `true` when it was created. The file
    /// never exists with a mode other than 0600, and two processes starting at
    /// once end up with the same keyring.
    pub fn load_or_create(path: &Path) -> Result<(Keyring, bool), KeyError> {
        keyfile::load_or_create(path)
    }

    /// Reads a keyring from an environment value: either the key file's JSON
    /// content, or one bare 32-byte key in base64 (standard or URL-safe, with
    /// or without padding) or hex.
    ///
    /// A bare key becomes the only sealing key, with id `env`. Its hash key is
    /// derived from it (`HMAC-SHA-256(key, "ichido env hash-key v1")`) so that
    /// keyed hashes stay stable across restarts with the same value; an
    /// operator who later wants rotation moves to the JSON form.
    pub fn from_env_value(s: &str) -> Result<Keyring, KeyError> {
        let s = s.trim();
        if s.starts_with('{') {
            return keyfile::from_json(s);
        }
        let key = decode_bare_key(s).ok_or(KeyError::EnvValue)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key[..])
            .expect("HMAC accepts keys of any length");
        mac.update(ENV_HASH_KEY_LABEL);
        let hash_key = Zeroizing::new(mac.finalize().into_bytes().into());
        let id = KeyId(ENV_KEY_ID.to_owned());
        Ok(Keyring {
            current: id.clone(),
            hash_key,
            keys: vec![MasterKey {
                id,
                key,
                created_at: 0,
            }],
        })
    }

    fn find(&self, id: &KeyId) -> Option<&MasterKey> {
        self.keys.iter().find(|k| k.id == *id)
    }

    /// `k<n+1>` after the highest `k<n>`. Ids are never reused while the
    /// newest key exists (it is current, so it cannot be removed), which keeps
    /// an old row from being tried against a different key under its old id.
    fn next_id(&self) -> KeyId {
        let highest = self.keys.iter().filter_map(|k| k.id.number()).max();
        let candidate = KeyId(format!("k{}", highest.map_or(1, |n| n.saturating_add(1))));
        if self.find(&candidate).is_none() {
            return candidate;
        }
        // Only reachable with a hand-edited id at u64::MAX: 32 random bits.
        loop {
            let candidate = KeyId(HEXLOWER.encode(&crate::random::bytes(4)));
            if self.find(&candidate).is_none() {
                return candidate;
            }
        }
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current)
            .field("ids", &self.ids())
            .field("keys", &"**redacted**")
            .finish()
    }
}

fn decode_bare_key(s: &str) -> Option<Key> {
    let is_hex = s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let encodings = if is_hex {
        &[HEXLOWER_PERMISSIVE][..]
    } else {
        &[BASE64, BASE64_NOPAD, BASE64URL, BASE64URL_NOPAD][..]
    };
    encodings.iter().find_map(|enc| {
        let bytes = Zeroizing::new(enc.decode(s.as_bytes()).ok()?);
        let key: [u8; 32] = bytes.as_slice().try_into().ok()?;
        Some(Zeroizing::new(key))
    })
}

fn random_key() -> Key {
    let mut key = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(&mut key[..]);
    key
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> KeyId {
        s.parse().unwrap()
    }

    #[test]
    fn key_ids_are_short_and_printable() {
        for good in ["k1", "env", "0a1b2c3d", "key.2024-01_a"] {
            assert_eq!(id(good).to_string(), good);
        }
        for bad in ["", "k:1", "k 1", "ké", &"k".repeat(33)] {
            assert!(bad.parse::<KeyId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rotate_numbers_keys_after_the_highest() {
        let mut ring = Keyring::generate();
        assert_eq!(ring.current_id(), &id("k1"));
        assert_eq!(ring.rotate(), id("k2"));
        assert_eq!(ring.rotate(), id("k3"));
        ring.remove(&id("k1")).unwrap();
        assert_eq!(ring.rotate(), id("k4"));
        assert_eq!(ring.ids(), vec![id("k2"), id("k3"), id("k4")]);
    }

    #[test]
    fn removing_an_unknown_key_is_an_error() {
        let mut ring = Keyring::generate();
        assert!(matches!(
            ring.remove(&id("k9")),
            Err(KeyError::UnknownKey(_))
        ));
    }

    #[test]
    fn bare_key_decodes_in_hex_and_all_base64_forms() {
        let raw = [0xfbu8; 32];
        for text in [
            HEXLOWER.encode(&raw),
            HEXLOWER.encode(&raw).to_uppercase(),
            BASE64.encode(&raw),
            BASE64_NOPAD.encode(&raw),
            BASE64URL.encode(&raw),
            BASE64URL_NOPAD.encode(&raw),
        ] {
            assert_eq!(*decode_bare_key(&text).unwrap(), raw, "{text}");
        }
        for bad in [
            "",
            "abc",
            &BASE64.encode(&[1u8; 31]),
            &HEXLOWER.encode(&[1u8; 33]),
        ] {
            assert!(decode_bare_key(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn bare_env_key_seals_directly_and_has_a_derived_hash_key() {
        let raw = [9u8; 32];
        let ring = Keyring::from_env_value(&format!("  {}\n", BASE64.encode(&raw))).unwrap();
        assert_eq!(ring.current_id(), &id("env"));
        let sealed = ring.seal(b"x", b"aad");
        assert_eq!(
            seal::open_with(&raw, &sealed.blob, b"aad")
                .unwrap()
                .as_bytes(),
            b"x"
        );
        assert_ne!(*ring.hash_key, raw);
        let again = Keyring::from_env_value(&HEXLOWER.encode(&raw)).unwrap();
        assert_eq!(
            ring.hasher("api-key").hash(b"v"),
            again.hasher("api-key").hash(b"v")
        );
    }

    #[test]
    fn env_value_error_does_not_quote_the_value() {
        let err = Keyring::from_env_value("not-a-key-SECRETISH").unwrap_err();
        assert!(matches!(err, KeyError::EnvValue));
        assert!(!err.to_string().contains("SECRETISH"));
    }
}
