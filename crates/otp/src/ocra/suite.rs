//! The OCRASuite string of RFC 6287 §6: `OCRA-1:HOTP-SHA1-6:QN08`.

use std::fmt;
use std::str::FromStr;

use crate::Algorithm;

/// Why a text is not an OCRASuite (RFC 6287 §6).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SuiteError {
    /// Not three `:`-separated parts.
    #[error(
        "OCRA suite {0:?} must have three parts Algorithm:CryptoFunction:DataInput (RFC 6287 §6), e.g. OCRA-1:HOTP-SHA1-6:QN08"
    )]
    Shape(String),
    /// A version other than `OCRA-1`.
    #[error(
        "OCRA suite version {0:?}: RFC 6287 §6.1 defines only OCRA-1 (suites are case-sensitive)"
    )]
    Version(String),
    /// A crypto function not of the form `HOTP-SHAx-t`.
    #[error(
        "crypto function {0:?} must be HOTP-SHA1-t, HOTP-SHA256-t or HOTP-SHA512-t (RFC 6287 §6.2)"
    )]
    CryptoFunction(String),
    /// A truncation length other than 0 or 4 to 10.
    #[error("truncation {0:?} must be 0 (no truncation) or 4 to 10 digits (RFC 6287 §6.2)")]
    Truncation(String),
    /// No `QFxx` field.
    #[error("DataInput {0:?} has no challenge: RFC 6287 §6.3 requires QFxx (e.g. QN08)")]
    MissingChallenge(String),
    /// A malformed `QFxx` field.
    #[error("challenge {0:?} must be QA, QN or QH followed by a length 04 to 64 (RFC 6287 §6.3)")]
    Challenge(String),
    /// A malformed `PH` field.
    #[error("PIN field {0:?} must be PSHA1, PSHA256 or PSHA512 (RFC 6287 §6.3)")]
    Pin(String),
    /// A malformed `Snnn` field.
    #[error(
        "session field {0:?} must be S or S followed by a 3-digit length 001 to 999, e.g. S064 (RFC 6287 §6.3)"
    )]
    Session(String),
    /// A malformed `TG` field.
    #[error("timestamp field {0:?} must be T followed by 1-59S, 1-56M or 0-48H (RFC 6287 §6.3)")]
    Timestamp(String),
    /// A field out of place, repeated or unknown.
    #[error(
        "DataInput field {0:?} is unknown, repeated or out of order: RFC 6287 §6.3 orders them [C]-QFxx-[PH]-[Snnn]-[TG]"
    )]
    Field(String),
}

/// The format of the challenge question (RFC 6287 §6.3 `QFxx`, F = A, N or H).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChallengeFormat {
    /// `A`: alphanumeric characters, encoded as ASCII.
    Alphanumeric,
    /// `N`: decimal digits, encoded as the hexadecimal form of the number.
    Numeric,
    /// `H`: hexadecimal digits.
    Hex,
}

/// The unit of the timestamp granularity (RFC 6287 §6.3 `TG`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// `S`: seconds.
    Seconds,
    /// `M`: minutes.
    Minutes,
    /// `H`: hours.
    Hours,
}

/// The time step of a `TG` field, e.g. `T1M` = 1 minute (RFC 6287 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeStep {
    /// How many units (1-59 S, 1-56 M, 0-48 H).
    pub amount: u8,
    /// The unit.
    pub unit: TimeUnit,
}

impl TimeStep {
    /// Length of the step in seconds; 0 for `T0H`, which cannot count time (RFC 6287 §6.3).
    pub fn seconds(self) -> u64 {
        let unit = match self.unit {
            TimeUnit::Seconds => 1,
            TimeUnit::Minutes => 60,
            TimeUnit::Hours => 3600,
        };
        u64::from(self.amount) * unit
    }
}

/// A parsed OCRASuite (RFC 6287 §6). `Display` writes the original text, whose bytes start the
/// DataInput (RFC 6287 §5.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Suite {
    text: String,
    algorithm: Algorithm,
    truncation: u8,
    counter: bool,
    challenge_format: ChallengeFormat,
    challenge_len: u8,
    pin: Option<Algorithm>,
    session_len: Option<u16>,
    time_step: Option<TimeStep>,
}

impl Suite {
    /// Parses an OCRASuite (RFC 6287 §6): `OCRA-1:HOTP-SHAx-t:[C-]QFxx[-PH][-Snnn][-TG]`.
    pub fn parse(text: &str) -> Result<Suite, SuiteError> {
        let parts: Vec<&str> = text.split(':').collect();
        let [version, function, data_input] = parts[..] else {
            return Err(SuiteError::Shape(text.to_owned()));
        };
        if version != "OCRA-1" {
            return Err(SuiteError::Version(version.to_owned()));
        }
        let (algorithm, truncation) = parse_function(function)?;
        let mut suite = Suite {
            text: text.to_owned(),
            algorithm,
            truncation,
            counter: false,
            challenge_format: ChallengeFormat::Numeric,
            challenge_len: 0,
            pin: None,
            session_len: None,
            time_step: None,
        };
        let mut fields = data_input.split('-').peekable();
        if fields.peek() == Some(&"C") {
            suite.counter = true;
            fields.next();
        }
        let challenge = fields.next().filter(|f| f.starts_with('Q'));
        let challenge =
            challenge.ok_or_else(|| SuiteError::MissingChallenge(data_input.to_owned()))?;
        (suite.challenge_format, suite.challenge_len) = parse_challenge(challenge)?;
        // Each optional field may appear once, in the order P, S, T (RFC 6287 §6.3).
        let mut stage = 0;
        for field in fields {
            let next_stage = match field.chars().next() {
                Some('P') => 1,
                Some('S') => 2,
                Some('T') => 3,
                _ => 4,
            };
            if next_stage <= stage || next_stage == 4 {
                return Err(SuiteError::Field(field.to_owned()));
            }
            stage = next_stage;
            match next_stage {
                1 => suite.pin = Some(parse_pin(field)?),
                2 => suite.session_len = Some(parse_session(field)?),
                _ => suite.time_step = Some(parse_time(field)?),
            }
        }
        Ok(suite)
    }

    /// The suite text as given; its bytes start the DataInput (RFC 6287 §5.1).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The HMAC hash of the crypto function (RFC 6287 §6.2).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Digits of the response, or `None` for `t = 0`: the full HMAC, no truncation (RFC 6287 §6.2).
    pub fn truncation(&self) -> Option<u8> {
        (self.truncation != 0).then_some(self.truncation)
    }

    /// Whether the DataInput contains the counter `C` (RFC 6287 §6.3).
    pub fn has_counter(&self) -> bool {
        self.counter
    }

    /// The challenge format `F` of `QFxx` (RFC 6287 §6.3).
    pub fn challenge_format(&self) -> ChallengeFormat {
        self.challenge_format
    }

    /// The challenge length `xx` of `QFxx`, 4 to 64 (RFC 6287 §6.3).
    pub fn challenge_len(&self) -> usize {
        usize::from(self.challenge_len)
    }

    /// The hash of the PIN field `PH`, if any (RFC 6287 §6.3).
    pub fn pin_hash(&self) -> Option<Algorithm> {
        self.pin
    }

    /// The session information length `nnn` in bytes, if any (RFC 6287 §6.3).
    pub fn session_len(&self) -> Option<usize> {
        self.session_len.map(usize::from)
    }

    /// The timestamp granularity `G` of `TG`, if any (RFC 6287 §6.3).
    pub fn time_step(&self) -> Option<TimeStep> {
        self.time_step
    }
}

impl FromStr for Suite {
    type Err = SuiteError;

    /// Same as [`Suite::parse`] (RFC 6287 §6).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Suite::parse(s)
    }
}

impl fmt::Display for Suite {
    /// Writes the suite text, which round-trips through [`Suite::parse`] (RFC 6287 §6).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A decimal number of 1 to `max_len` ASCII digits.
fn small_number(text: &str, max_len: usize) -> Option<u16> {
    if text.is_empty() || text.len() > max_len || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn parse_function(function: &str) -> Result<(Algorithm, u8), SuiteError> {
    let bad = || SuiteError::CryptoFunction(function.to_owned());
    let mut pieces = function.split('-');
    let (Some("HOTP"), Some(hash), Some(truncation), None) =
        (pieces.next(), pieces.next(), pieces.next(), pieces.next())
    else {
        return Err(bad());
    };
    let algorithm = match hash {
        "SHA1" => Algorithm::Sha1,
        "SHA256" => Algorithm::Sha256,
        "SHA512" => Algorithm::Sha512,
        _ => return Err(bad()),
    };
    match small_number(truncation, 2) {
        Some(t @ (0 | 4..=10)) => Ok((algorithm, t as u8)),
        _ => Err(SuiteError::Truncation(truncation.to_owned())),
    }
}

fn parse_challenge(field: &str) -> Result<(ChallengeFormat, u8), SuiteError> {
    let bad = || SuiteError::Challenge(field.to_owned());
    let rest = field.strip_prefix('Q').ok_or_else(bad)?;
    let format = match rest.chars().next() {
        Some('A') => ChallengeFormat::Alphanumeric,
        Some('N') => ChallengeFormat::Numeric,
        Some('H') => ChallengeFormat::Hex,
        _ => return Err(bad()),
    };
    let len = &rest[1..];
    match small_number(len, 2) {
        Some(n @ 4..=64) if len.len() == 2 => Ok((format, n as u8)),
        _ => Err(bad()),
    }
}

fn parse_pin(field: &str) -> Result<Algorithm, SuiteError> {
    match field {
        "PSHA1" => Ok(Algorithm::Sha1),
        "PSHA256" => Ok(Algorithm::Sha256),
        "PSHA512" => Ok(Algorithm::Sha512),
        _ => Err(SuiteError::Pin(field.to_owned())),
    }
}

fn parse_session(field: &str) -> Result<u16, SuiteError> {
    match &field[1..] {
        "" => Ok(64),
        digits if digits.len() == 3 => match small_number(digits, 3) {
            Some(n @ 1..=999) => Ok(n),
            _ => Err(SuiteError::Session(field.to_owned())),
        },
        _ => Err(SuiteError::Session(field.to_owned())),
    }
}

fn parse_time(field: &str) -> Result<TimeStep, SuiteError> {
    let bad = || SuiteError::Timestamp(field.to_owned());
    let body = &field[1..];
    let unit_char = body.chars().last().ok_or_else(bad)?;
    let amount = small_number(&body[..body.len() - unit_char.len_utf8()], 2).ok_or_else(bad)?;
    let (unit, range) = match unit_char {
        'S' => (TimeUnit::Seconds, 1..=59),
        'M' => (TimeUnit::Minutes, 1..=56),
        'H' => (TimeUnit::Hours, 0..=48),
        _ => return Err(bad()),
    };
    if !range.contains(&amount) {
        return Err(bad());
    }
    Ok(TimeStep {
        amount: amount as u8,
        unit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rfc6287_suite_parses_and_round_trips() {
        for text in [
            "OCRA-1:HOTP-SHA1-6:QN08",
            "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1",
            "OCRA-1:HOTP-SHA256-8:QN08-PSHA1",
            "OCRA-1:HOTP-SHA512-8:C-QN08",
            "OCRA-1:HOTP-SHA512-8:QN08-T1M",
            "OCRA-1:HOTP-SHA256-8:QA08",
            "OCRA-1:HOTP-SHA512-8:QA08-PSHA1",
            "OCRA-1:HOTP-SHA512-8:QA10-T1M",
            "OCRA-1:HOTP-SHA512-8:QA08-S064",
            "OCRA-1:HOTP-SHA256-8:QH40-T1M",
            "OCRA-1:HOTP-SHA1-0:C-QH64-PSHA512-S512-T48H",
            "OCRA-1:HOTP-SHA1-10:QA04-S-T59S",
        ] {
            let suite: Suite = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(suite.to_string(), text);
        }
    }

    #[test]
    fn fields_are_read_into_their_parts() {
        let suite = Suite::parse("OCRA-1:HOTP-SHA256-8:C-QH40-PSHA1-S128-T30S").unwrap();
        assert_eq!(suite.algorithm(), Algorithm::Sha256);
        assert_eq!(suite.truncation(), Some(8));
        assert!(suite.has_counter());
        assert_eq!(suite.challenge_format(), ChallengeFormat::Hex);
        assert_eq!(suite.challenge_len(), 40);
        assert_eq!(suite.pin_hash(), Some(Algorithm::Sha1));
        assert_eq!(suite.session_len(), Some(128));
        assert_eq!(suite.time_step().map(TimeStep::seconds), Some(30));
        let plain = Suite::parse("OCRA-1:HOTP-SHA1-0:QA08-S").unwrap();
        assert_eq!(plain.truncation(), None);
        assert_eq!(plain.session_len(), Some(64));
    }

    /// A malformed suite and a check of the error it must give.
    type Case = (&'static str, fn(&SuiteError) -> bool);

    #[test]
    fn malformed_suites_name_the_broken_rule() {
        let cases: [Case; 16] = [
            ("", |e| matches!(e, SuiteError::Shape(_))),
            ("OCRA-1:HOTP-SHA1-6", |e| matches!(e, SuiteError::Shape(_))),
            ("OCRA-2:HOTP-SHA1-6:QN08", |e| {
                matches!(e, SuiteError::Version(_))
            }),
            ("ocra-1:hotp-sha1-6:qn08", |e| {
                matches!(e, SuiteError::Version(_))
            }),
            ("OCRA-1:HOTP-MD5-6:QN08", |e| {
                matches!(e, SuiteError::CryptoFunction(_))
            }),
            ("OCRA-1:TOTP-SHA1-6:QN08", |e| {
                matches!(e, SuiteError::CryptoFunction(_))
            }),
            ("OCRA-1:HOTP-SHA1-3:QN08", |e| {
                matches!(e, SuiteError::Truncation(_))
            }),
            ("OCRA-1:HOTP-SHA1-11:QN08", |e| {
                matches!(e, SuiteError::Truncation(_))
            }),
            ("OCRA-1:HOTP-SHA1-6:C", |e| {
                matches!(e, SuiteError::MissingChallenge(_))
            }),
            ("OCRA-1:HOTP-SHA1-6:QN03", |e| {
                matches!(e, SuiteError::Challenge(_))
            }),
            ("OCRA-1:HOTP-SHA1-6:QX08", |e| {
                matches!(e, SuiteError::Challenge(_))
            }),
            ("OCRA-1:HOTP-SHA1-6:QN08-PMD5", |e| {
                matches!(e, SuiteError::Pin(_))
            }),
            ("OCRA-1:HOTP-SHA1-6:QN08-S64", |e| {
                matches!(e, SuiteError::Session(_))
            }),
            ("OCRA-1:HOTP-SHA1-6:QN08-T60S", |e| {
                matches!(e, SuiteError::Timestamp(_))
            }),
            ("OCRA-1:HOTP-SHA1-6:QN08-T57M", |e| {
                matches!(e, SuiteError::Timestamp(_))
            }),
            ("OCRA-1:HOTP-SHA1-6:QN08-T1M-PSHA1", |e| {
                matches!(e, SuiteError::Field(_))
            }),
        ];
        for (text, expected) in cases {
            let err = Suite::parse(text).unwrap_err();
            assert!(expected(&err), "{text}: {err:?}");
            assert!(err.to_string().contains("RFC 6287"), "{err}");
        }
        assert!(Suite::parse("OCRA-1:HOTP-SHA1-6:QN08-T49H").is_err());
        assert!(Suite::parse("OCRA-1:HOTP-SHA1-6:QN08-PSHA1-PSHA1").is_err());
        assert!(Suite::parse("OCRA-1:HOTP-SHA1-6:C-C-QN08").is_err());
        assert!(Suite::parse("OCRA-1:HOTP-SHA1-6:QN08-").is_err());
        assert!(Suite::parse("OCRA-1:HOTP-SHA1-6:QN08-T1Mé").is_err());
    }
}
