//! Cryptography for Ichido, in small modules with one job each.
//!
//! - [`secret`]: byte and text types that hide themselves from `Debug` and are
//!   wiped on drop.
//! - [`keyring`] and [`seal`]: master keys with ids, and AEAD sealing of values
//!   at rest, bound to the row they belong to.
//! - `keyfile`: the on-disk form of the keyring, written so that it is never
//!   readable by anyone but its owner, not even for an instant.
//! - [`keyed_hash`]: HMAC-SHA-256 per purpose, for secrets that are looked up
//!   by hash (API keys, backup codes, reset links).
//! - [`password`]: Argon2id in PHC strings.
//! - [`compare`]: the one constant-time comparison everybody calls.
//! - [`random`]: tokens, digits and raw bytes from the operating system's CSPRNG.
//! - [`shared_keyring`]: the keyring of a running server, read again from its
//!   key file when a sealed value names a key it does not have.

pub mod compare;
pub mod keyed_hash;
mod keyfile;
pub mod keyring;
pub mod password;
pub mod random;
pub mod seal;
pub mod secret;
pub mod shared_keyring;

pub use compare::ct_eq;
pub use keyed_hash::KeyedHasher;
pub use keyring::{KeyError, KeyId, Keyring};
pub use password::{Cost, PasswordError};
pub use seal::{SealError, Sealed};
pub use secret::{SecretBytes, SecretString};
pub use shared_keyring::SharedKeyring;
