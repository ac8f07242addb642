//! The HMAC hash functions of HOTP, TOTP and OCRA.

use std::fmt;
use std::str::FromStr;

/// The hash function of the HMAC (RFC 6238 §1.2: HMAC-SHA-1, HMAC-SHA-256 or HMAC-SHA-512).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HMAC-SHA-1, the only function of RFC 4226 §5.2 and the default.
    #[default]
    Sha1,
    /// HMAC-SHA-256 (RFC 6238 §1.2).
    Sha256,
    /// HMAC-SHA-512 (RFC 6238 §1.2).
    Sha512,
}

impl Algorithm {
    /// Every algorithm, in order of output size (RFC 6238 §1.2).
    pub const ALL: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];

    /// Key length in bytes, equal to the hash output (RFC 6238 §5.1: "the length of the HMAC key
    /// … SHOULD be the same as the hash output"): 20, 32 or 64.
    pub fn secret_len(self) -> usize {
        self.output_len()
    }

    /// Length in bytes of the HMAC output (RFC 2104 §2 `L`): 20, 32 or 64.
    pub fn output_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }

    /// Canonical name as written in Key URIs and OCRA suites (RFC 6287 §6.2): `SHA1`, `SHA256`, `SHA512`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }
}

impl fmt::Display for Algorithm {
    /// Writes the canonical name of RFC 6287 §6.2 (`SHA1`, `SHA256`, `SHA512`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the hash functions allowed by RFC 6238 §1.2.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown algorithm {0:?}: RFC 6238 §1.2 allows only SHA1, SHA256 or SHA512")]
pub struct UnknownAlgorithm(pub String);

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    /// Parses `sha1`, `SHA1`, `SHA-1`, `HMAC-SHA1`, `sha_256`, … (RFC 6238 §1.2 names), ignoring
    /// case, `-` and `_`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let folded: String = s
            .trim()
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let name = folded.strip_prefix("HMAC").unwrap_or(&folded);
        match name {
            "SHA1" => Ok(Algorithm::Sha1),
            "SHA256" => Ok(Algorithm::Sha256),
            "SHA512" => Ok(Algorithm::Sha512),
            _ => Err(UnknownAlgorithm(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_every_common_spelling() {
        for (text, alg) in [
            ("sha1", Algorithm::Sha1),
            ("SHA1", Algorithm::Sha1),
            ("SHA-1", Algorithm::Sha1),
            ("HmacSHA1", Algorithm::Sha1),
            ("sha-256", Algorithm::Sha256),
            ("SHA256", Algorithm::Sha256),
            ("sha_512", Algorithm::Sha512),
            (" SHA512 ", Algorithm::Sha512),
        ] {
            assert_eq!(text.parse::<Algorithm>(), Ok(alg), "{text}");
        }
    }

    #[test]
    fn unknown_names_are_rejected_with_the_rule() {
        let err = "md5".parse::<Algorithm>().unwrap_err();
        assert!(err.to_string().contains("SHA1, SHA256 or SHA512"), "{err}");
        assert!("SHA384".parse::<Algorithm>().is_err());
        assert!("".parse::<Algorithm>().is_err());
    }

    #[test]
    fn display_round_trips_and_sizes_match_the_hash() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.to_string().parse::<Algorithm>(), Ok(alg));
        }
        assert_eq!(Algorithm::default(), Algorithm::Sha1);
        assert_eq!(Algorithm::Sha1.secret_len(), 20);
        assert_eq!(Algorithm::Sha256.secret_len(), 32);
        assert_eq!(Algorithm::Sha512.secret_len(), 64);
    }
}
