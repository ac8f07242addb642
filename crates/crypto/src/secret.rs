//! Types for values that must never reach a log.
//!
//! Both types print `**redacted**` under `Debug`, have no `Display`, and wipe
//! their heap buffer when dropped. They cannot guarantee that no copy exists
//! elsewhere (the caller may have copied the bytes before handing them over),
//! but they make the common accidents — a `{:?}` in a log line, a freed buffer
//! left in memory — impossible for the values they own.

use std::fmt;

use serde::{Deserialize, Deserializer};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Secret bytes: seeds, decrypted values, key material.
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of `bytes` without copying them.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBytes(**redacted**)")
    }
}

/// Secret text: passwords, PINs, API keys and codes shown to a user once.
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct SecretString(String);

impl SecretString {
    /// Takes ownership of `text` without copying it.
    pub fn new(text: String) -> Self {
        Self(text)
    }

    /// The only way to read the text; the name makes every use visible in review.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl From<&str> for SecretString {
    fn from(text: &str) -> Self {
        Self::new(text.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(**redacted**)")
    }
}

/// Lets configuration and request types hold a `SecretString` directly.
/// There is deliberately no `Serialize`: a secret is never written back out by
/// accident.
impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_secret_bytes_is_redacted() {
        let secret = SecretBytes::new(b"hunter2-seed".to_vec());
        let shown = format!("{secret:?}");
        assert_eq!(shown, "SecretBytes(**redacted**)");
        assert!(!shown.contains("hunter2"));
        assert_eq!(secret.as_bytes(), b"hunter2-seed");
        assert_eq!(secret.len(), 12);
        assert!(!secret.is_empty());
    }

    #[test]
    fn debug_of_secret_string_is_redacted_also_inside_structs() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Login {
            user: &'static str,
            password: SecretString,
        }
        let login = Login {
            user: "alice",
            password: SecretString::from("correct horse".to_owned()),
        };
        let shown = format!("{login:?} {login:#?}");
        assert!(!shown.contains("correct horse"));
        assert!(shown.contains("**redacted**"));
        assert_eq!(login.password.expose(), "correct horse");
    }

    #[test]
    fn secret_string_deserializes_from_a_json_string() {
        let secret: SecretString = serde_json::from_str("\"s3cret\"").unwrap();
        assert_eq!(secret.expose(), "s3cret");
    }
}
