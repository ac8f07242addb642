//! One-time password values: their length and their constant-time comparison.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// Longest code any OATH algorithm produces: 10 digits (RFC 6287 §6.2 truncation `t`).
pub(crate) const MAX_CODE_LEN: usize = 10;

/// The number of digits of an HOTP or TOTP value (RFC 4226 §5.3: "Digit = 6 … 8").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digits(u8);

/// A digit count outside RFC 4226 §5.3.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0} digits: RFC 4226 §5.3 requires 6 to 8 digits")]
pub struct DigitsError(pub u64);

impl Digits {
    /// Six digits, the RFC 4226 §5.3 minimum and the usual authenticator setting.
    pub const SIX: Digits = Digits(6);
    /// Seven digits (RFC 4226 §5.3).
    pub const SEVEN: Digits = Digits(7);
    /// Eight digits, as in the RFC 6238 Appendix B vectors.
    pub const EIGHT: Digits = Digits(8);

    /// Validates a digit count (RFC 4226 §5.3: 6 to 8).
    pub fn new(digits: u8) -> Result<Digits, DigitsError> {
        match digits {
            6..=8 => Ok(Digits(digits)),
            other => Err(DigitsError(u64::from(other))),
        }
    }

    /// The digit count, 6 to 8 (RFC 4226 §5.3).
    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for Digits {
    /// Six digits (RFC 4226 §5.3 minimum).
    fn default() -> Self {
        Digits::SIX
    }
}

impl TryFrom<u8> for Digits {
    type Error = DigitsError;

    /// Same as [`Digits::new`] (RFC 4226 §5.3).
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Digits::new(value)
    }
}

impl fmt::Display for Digits {
    /// Writes the digit count (RFC 4226 §5.3).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a text is not a code of the expected length.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// The text has the wrong number of characters.
    #[error("code has {found} characters; RFC 4226 §5.3 needs exactly {expected} digits")]
    WrongLength {
        /// Digits the algorithm produces.
        expected: usize,
        /// Characters received.
        found: usize,
    },
    /// The text contains something other than ASCII digits.
    #[error(
        "code character {position} is not a digit: RFC 4226 §5.3 codes are decimal digits only"
    )]
    NotADigit {
        /// Position (in characters) of the first non-digit.
        position: usize,
    },
}

/// A one-time password: a fixed-length string of ASCII digits (RFC 4226 §5.3 `HOTP value`).
///
/// Equality is constant-time over the digits and never equates codes of different lengths, so
/// `"123"` is not `"000123"`. `Debug` hides the digits.
#[derive(Clone)]
pub struct Code {
    digits: [u8; MAX_CODE_LEN],
    len: u8,
}

impl Code {
    /// Parses a submitted code, checking its length and charset first (RFC 4226 §5.3: exactly
    /// `Digit` decimal digits).
    pub fn parse(text: &str, digits: Digits) -> Result<Code, CodeError> {
        Code::parse_len(text, usize::from(digits.get()))
    }

    /// Parses a code of `len` digits (1 to 10; RFC 6287 §5.2 allows up to 10).
    pub(crate) fn parse_len(text: &str, len: usize) -> Result<Code, CodeError> {
        let found = text.chars().count();
        if found != len || len > MAX_CODE_LEN {
            return Err(CodeError::WrongLength {
                expected: len,
                found,
            });
        }
        if let Some(position) = text.chars().position(|c| !c.is_ascii_digit()) {
            return Err(CodeError::NotADigit { position });
        }
        let mut code = Code {
            digits: [0; MAX_CODE_LEN],
            len: len as u8,
        };
        code.digits[..len].copy_from_slice(text.as_bytes());
        Ok(code)
    }

    /// Writes `value mod 10^len` as exactly `len` digits, zero-padded on the left (RFC 4226 §5.3 step 3).
    pub(crate) fn from_value(mut value: u64, len: usize) -> Code {
        let len = len.min(MAX_CODE_LEN);
        let mut code = Code {
            digits: [0; MAX_CODE_LEN],
            len: len as u8,
        };
        for slot in code.digits[..len].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
        code
    }

    /// The numeric value of the digits (RFC 4226 §5.3 `Snum mod 10^Digit`).
    pub(crate) fn value(&self) -> u64 {
        self.as_bytes()
            .iter()
            .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'))
    }

    /// The digits as text, e.g. `"007081"` (RFC 4226 §5.3).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The number of digits (RFC 4226 §5.3 `Digit`).
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Always false: a code has at least one digit (RFC 4226 §5.3).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn as_bytes(&self) -> &[u8] {
        &self.digits[..usize::from(self.len)]
    }
}

impl ConstantTimeEq for Code {
    /// Compares in constant time for codes of one length; lengths are public (RFC 4226 §7.2).
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.len.ct_eq(&other.len) & self.digits.ct_eq(&other.digits)
    }
}

impl PartialEq for Code {
    /// Constant-time digit comparison (RFC 4226 §7.2); codes of different lengths never match.
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Code {}

impl fmt::Display for Code {
    /// Writes the digits (RFC 4226 §5.3).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Code {
    /// Hides the digits so that codes never reach logs (RFC 4226 §7.1 keeps values confidential).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Code({} digits, **redacted**)", self.len)
    }
}

impl Drop for Code {
    fn drop(&mut self) {
        self.digits.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_outside_six_to_eight_are_rejected() {
        for n in [0u8, 1, 5, 9, 10, 255] {
            let err = Digits::new(n).unwrap_err();
            assert!(err.to_string().contains("6 to 8"), "{err}");
        }
        for n in 6..=8 {
            assert_eq!(Digits::new(n).unwrap().get(), n);
        }
    }

    #[test]
    fn short_code_never_equals_its_zero_padded_form() {
        let short = Code::parse_len("123", 3).unwrap();
        let padded = Code::parse("000123", Digits::SIX).unwrap();
        assert_ne!(short, padded);
        assert_eq!(
            Code::parse("123", Digits::SIX),
            Err(CodeError::WrongLength {
                expected: 6,
                found: 3
            })
        );
    }

    #[test]
    fn codes_with_non_digits_are_rejected_after_the_length_check() {
        assert_eq!(
            Code::parse("12a456", Digits::SIX),
            Err(CodeError::NotADigit { position: 2 })
        );
        assert_eq!(
            Code::parse("١٢٣٤٥٦", Digits::SIX),
            Err(CodeError::NotADigit { position: 0 })
        );
        assert!(matches!(
            Code::parse("12a4567", Digits::SIX),
            Err(CodeError::WrongLength { .. })
        ));
        assert!(Code::parse(" 123456", Digits::SIX).is_err());
    }

    #[test]
    fn values_are_zero_padded_to_the_digit_count() {
        assert_eq!(Code::from_value(7081804, 8).as_str(), "07081804");
        assert_eq!(Code::from_value(1284755224, 6).as_str(), "755224");
        assert_eq!(Code::from_value(42, 6).value(), 42);
    }

    #[test]
    fn debug_never_shows_the_digits() {
        let code = Code::parse("123456", Digits::SIX).unwrap();
        assert!(!format!("{code:?}").contains("123456"));
        assert_eq!(code.to_string(), "123456");
    }
}
