//! OCRA, the OATH challenge-response algorithm of RFC 6287: suites, DataInput, responses.
//!
//! Modes (RFC 6287 §7):
//! - one-way (§7.1): the server sends a challenge, the client answers
//!   `compute(suite, key, &DataInput::challenge(q))`;
//! - mutual (§7.3): each side answers the concatenation of both challenges, see
//!   [`DataInput::mutual`] and [`Role`];
//! - signature (§7.4): the challenge carries the data to sign (or a hash of it), optionally with
//!   a timestamp, and is computed like one-way.

mod compute;
mod input;
mod suite;

pub use compute::{Response, compute, verify, verify_in_window};
pub use input::{DataInput, Pin, Role};
pub use suite::{ChallengeFormat, Suite, SuiteError, TimeStep, TimeUnit};

use crate::Algorithm;

/// Why a DataInput does not fit its suite (RFC 6287 §5.1).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OcraError {
    /// A field the suite requires is absent.
    #[error("the suite requires the {0} (RFC 6287 §5.1)")]
    Missing(&'static str),
    /// A field the suite does not name was given; it would not be authenticated.
    #[error("the suite has no {0}, so it would not be authenticated (RFC 6287 §5.1)")]
    Unexpected(&'static str),
    /// The question does not fit the 128-byte `Q` field.
    #[error("the question does not fit in 128 bytes (RFC 6287 §5.1 Q)")]
    QuestionTooLong,
    /// A question character outside its format.
    #[error(
        "question character {position} does not fit {format} (RFC 6287 §6.3: A alphanumeric, N decimal, H hex)"
    )]
    QuestionChar {
        /// The suite's challenge field type.
        format: &'static str,
        /// Position (in characters) of the first bad character.
        position: usize,
    },
    /// A single challenge shorter than 4 characters or longer than the suite's `xx`.
    #[error("challenge of {found} characters: the suite's QFxx allows 4 to {max} (RFC 6287 §6.3)")]
    ChallengeLength {
        /// The suite's `xx`.
        max: usize,
        /// Characters received.
        found: usize,
    },
    /// A pre-hashed PIN of the wrong size.
    #[error("PIN hash is {found} bytes but the suite's P{hash} gives {expected} (RFC 6287 §5.1 P)")]
    PinHashLength {
        /// The suite's PIN hash.
        hash: Algorithm,
        /// Output size of that hash.
        expected: usize,
        /// Bytes received.
        found: usize,
    },
    /// A pre-hashed PIN that is not hex.
    #[error("PIN hash is not hex (RFC 6287 §5.1 P is the hash of the PIN)")]
    PinHashNotHex,
    /// Session information longer than the suite's `nnn`.
    #[error("session information of {found} bytes exceeds the suite's S{max:03} (RFC 6287 §5.1 S)")]
    SessionTooLong {
        /// The suite's `nnn`.
        max: usize,
        /// Bytes received.
        found: usize,
    },
    /// A `T0H` suite cannot turn a Unix time into time steps.
    #[error("the suite's time step is 0 hours, which cannot count time (RFC 6287 §6.3 TG)")]
    ZeroTimeStep,
}

impl Suite {
    /// Checks one challenge as sent by one side (RFC 6287 §6.3 `QFxx`): 4 to `xx` characters of
    /// the suite's format. Mutual questions are two such challenges concatenated.
    pub fn check_challenge(&self, challenge: &str) -> Result<(), OcraError> {
        let found = challenge.chars().count();
        if !(4..=self.challenge_len()).contains(&found) {
            return Err(OcraError::ChallengeLength {
                max: self.challenge_len(),
                found,
            });
        }
        let (format, ok): (&'static str, fn(char) -> bool) = match self.challenge_format() {
            ChallengeFormat::Alphanumeric => ("QA", |c| c.is_ascii_alphanumeric()),
            ChallengeFormat::Numeric => ("QN", |c| c.is_ascii_digit()),
            ChallengeFormat::Hex => ("QH", |c| c.is_ascii_hexdigit()),
        };
        match challenge.chars().position(|c| !ok(c)) {
            Some(position) => Err(OcraError::QuestionChar { format, position }),
            None => Ok(()),
        }
    }

    /// A random challenge of the suite's full length `xx` and format (RFC 6287 §7.1: "the server
    /// generates a random challenge").
    pub fn generate_challenge<R: rand::RngCore + ?Sized>(&self, rng: &mut R) -> String {
        const ALPHANUMERIC: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        const DECIMAL: &[u8] = b"0123456789";
        const HEX: &[u8] = b"0123456789ABCDEF";
        let alphabet = match self.challenge_format() {
            ChallengeFormat::Alphanumeric => ALPHANUMERIC,
            ChallengeFormat::Numeric => DECIMAL,
            ChallengeFormat::Hex => HEX,
        };
        (0..self.challenge_len())
            .map(|_| {
                // Rejection sampling keeps every symbol equally likely.
                let limit = 256 - 256 % alphabet.len();
                loop {
                    let mut byte = [0u8; 1];
                    rng.fill_bytes(&mut byte);
                    if usize::from(byte[0]) < limit {
                        break char::from(alphabet[usize::from(byte[0]) % alphabet.len()]);
                    }
                }
            })
            .collect()
    }
}
