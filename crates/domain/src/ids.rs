//! Names that come from outside, validated once where they enter.

use unicode_normalization::UnicodeNormalization;

use crate::error::Error;

/// Longest username, in characters after normalisation.
pub const USERNAME_MAX_CHARS: usize = 128;

/// A login name: 1–128 characters of letters (any script), digits and
/// `._@+-`, in Unicode normalisation form NFKC.
///
/// NFKC rather than NFC: besides joining composed and decomposed forms
/// ("é" typed as one or two code points), it folds compatibility variants,
/// so "ａｌｉｃｅ" typed in an IME's full-width mode is the account "alice"
/// (RFC 8265 maps width for the same reason). Every name that enters — REST
/// bodies and paths, RADIUS User-Name — goes through here, so one person has
/// one spelling, and nothing else (control characters, 10 kB names) reaches
/// the store or the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Self, Error> {
        // A bound before normalising: no work in proportion to a huge input.
        // NFKC can expand a character (at most 18-fold; 4 bytes each), so a
        // valid name never exceeds this.
        let ok = !s.is_empty() && s.len() <= USERNAME_MAX_CHARS * 4 * 18;
        let s: String = if ok {
            s.nfkc().collect()
        } else {
            String::new()
        };
        let ok = !s.is_empty()
            && s.chars().count() <= USERNAME_MAX_CHARS
            && s.chars()
                .all(|c| c.is_alphanumeric() || "._@+-".contains(c));
        if ok {
            Ok(Username(s))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composed_decomposed_and_full_width_spellings_are_one_username() {
        let composed = Username::parse("jos\u{e9}").unwrap();
        let decomposed = Username::parse("jose\u{301}").unwrap();
        assert_eq!(composed, decomposed);
        assert_eq!(composed.as_str(), "jos\u{e9}");
        let full_width = Username::parse("\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}").unwrap();
        assert_eq!(full_width.as_str(), "alice");
        assert_eq!(Username::parse("田中.太郎").unwrap().as_str(), "田中.太郎");
    }

    #[test]
    fn control_characters_spaces_and_overlong_names_are_refused() {
        for bad in [
            "",
            "alice\nbob",
            "alice\r",
            "al\u{0}ice",
            "alice bob",
            "alice\u{202e}",
            "a/b",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Username::parse(&"a".repeat(128)).is_ok());
        assert!(Username::parse(&"a".repeat(129)).is_err());
        assert!(
            Username::parse(&"é".repeat(128)).is_ok(),
            "characters, not bytes"
        );
        assert!(Username::parse(&"a".repeat(10_000)).is_err());
    }
}
