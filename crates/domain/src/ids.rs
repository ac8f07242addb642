//! Names that come from outside, validated once where they enter.

use crate::error::Error;

/// A login name: 1–128 characters of letters, digits and `._@+-`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Self, Error> {
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.chars()
                .all(|c| c.is_alphanumeric() || "._@+-".contains(c));
        if ok {
            Ok(Username(s.to_owned()))
        } else {
            Err(Error::invalid(
                "invalid_username",
                "username must be 1-128 characters of letters, digits and ._@+-",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A token serial such as `TOTP0001A2B3`: kind prefix plus random hex, or the
/// vendor serial of an imported hardware token.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Serial(String);

impl Serial {
    pub fn parse(s: &str) -> Result<Self, Error> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if ok {
            Ok(Serial(s.to_owned()))
        } else {
            Err(Error::invalid(
                "invalid_serial",
                "serial must be 1-64 characters of ASCII letters, digits and ._-",
            ))
        }
    }
    /// A new serial: the kind's prefix and 8 random hex digits (32 bits; the
    /// unique index catches the rare collision).
    pub fn generate(prefix: &str) -> Self {
        let r = ichido_crypto::random::bytes(4);
        Serial(format!(
            "{}{}",
            prefix.to_ascii_uppercase(),
            hex::encode_upper(r)
        ))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Serial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
