//! The DataInput of RFC 6287 §5.1 and the values a caller supplies for it.

use std::fmt;

use hmac::digest::Digest;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{ChallengeFormat, OcraError, Suite};
use crate::Algorithm;

/// Size of the question field `Q` in the DataInput (RFC 6287 §5.1: 128 bytes).
const QUESTION_FIELD: usize = 128;

/// The PIN or password `P` (RFC 6287 §5.1): either the PIN itself, hashed here with the suite's
/// `PH` hash, or its hash computed elsewhere. Zeroized on drop; `Debug` never shows it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub enum Pin {
    /// The PIN as typed, e.g. `"1234"`.
    Plain(String),
    /// The PIN already hashed with the suite's `PH` hash, e.g. SHA-1("1234").
    Hashed(Vec<u8>),
}

impl Pin {
    /// A pre-hashed PIN (RFC 6287 §5.1 `P`) given in hex, e.g. `7110eda4d09e062aa5e4a390b0a572ac0d2c0220` for SHA-1("1234").
    pub fn from_hex_hash(text: &str) -> Result<Pin, OcraError> {
        hex::decode(text.trim())
            .map(Pin::Hashed)
            .map_err(|_| OcraError::PinHashNotHex)
    }

    /// The `P` field for a suite whose PIN hash is `hash` (RFC 6287 §5.1).
    fn field(&self, hash: Algorithm) -> Result<Zeroizing<Vec<u8>>, OcraError> {
        match self {
            Pin::Plain(pin) => Ok(Zeroizing::new(match hash {
                Algorithm::Sha1 => sha1::Sha1::digest(pin.as_bytes()).to_vec(),
                Algorithm::Sha256 => sha2::Sha256::digest(pin.as_bytes()).to_vec(),
                Algorithm::Sha512 => sha2::Sha512::digest(pin.as_bytes()).to_vec(),
            })),
            Pin::Hashed(bytes) if bytes.len() == hash.output_len() => {
                Ok(Zeroizing::new(bytes.clone()))
            }
            Pin::Hashed(bytes) => Err(OcraError::PinHashLength {
                hash,
                expected: hash.output_len(),
                found: bytes.len(),
            }),
        }
    }
}

impl fmt::Debug for Pin {
    /// Never shows the PIN or its hash.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(**redacted**)")
    }
}

/// Who computes a response in mutual challenge-response (RFC 6287 §7.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The server answers the client's challenge: `Q = client challenge ‖ server challenge`.
    Server,
    /// The client answers the server's challenge: `Q = server challenge ‖ client challenge`.
    Client,
}

/// The values of the DataInput (RFC 6287 §5.1). Each field must be present exactly when the
/// suite names it; a value the suite would not authenticate is an error rather than ignored.
#[derive(Clone, Debug, Default)]
pub struct DataInput {
    /// `C`: the counter, encoded as 8 bytes big-endian.
    pub counter: Option<u64>,
    /// `Q`: the challenge question in the suite's format (A, N or H), encoded into 128 bytes.
    pub question: Option<String>,
    /// `P`: the PIN, plain or already hashed with the suite's `PH` hash.
    pub pin: Option<Pin>,
    /// `S`: session information of at most `nnn` bytes, zero-padded on the left to `nnn` bytes
    /// as the RFC 6287 Appendix A reference implementation does.
    pub session: Option<Vec<u8>>,
    /// `T`: Unix time in seconds, converted to a count of the suite's time steps `G`.
    pub timestamp: Option<u64>,
}

impl DataInput {
    /// One-way challenge-response (RFC 6287 §7.1) or a plain signature (RFC 6287 §7.4, the
    /// challenge carrying the data to sign): the question is the server's challenge.
    pub fn challenge(question: impl Into<String>) -> DataInput {
        DataInput {
            question: Some(question.into()),
            ..DataInput::default()
        }
    }

    /// Mutual challenge-response (RFC 6287 §7.3): the question is the two challenges
    /// concatenated, the client's first when the server answers and the server's first when
    /// the client answers, as in the RFC 6287 Appendix C.2 vectors.
    pub fn mutual(role: Role, client_challenge: &str, server_challenge: &str) -> DataInput {
        let question = match role {
            Role::Server => format!("{client_challenge}{server_challenge}"),
            Role::Client => format!("{server_challenge}{client_challenge}"),
        };
        DataInput::challenge(question)
    }

    /// Sets the counter `C` (RFC 6287 §5.1).
    pub fn with_counter(mut self, counter: u64) -> DataInput {
        self.counter = Some(counter);
        self
    }

    /// Sets the PIN `P` (RFC 6287 §5.1).
    pub fn with_pin(mut self, pin: Pin) -> DataInput {
        self.pin = Some(pin);
        self
    }

    /// Sets the session information `S` (RFC 6287 §5.1).
    pub fn with_session(mut self, session: Vec<u8>) -> DataInput {
        self.session = Some(session);
        self
    }

    /// Sets the timestamp `T` from a Unix time in seconds (RFC 6287 §5.1).
    pub fn with_timestamp(mut self, unix_time: u64) -> DataInput {
        self.timestamp = Some(unix_time);
        self
    }
}

/// The encoded DataInput and where its moving factors sit, so that a verification window can
/// rewrite them in place.
pub(crate) struct Message {
    pub(crate) bytes: Vec<u8>,
    pub(crate) counter_at: Option<usize>,
    pub(crate) time_at: Option<usize>,
}

impl Drop for Message {
    /// The message holds the PIN hash: wipe it.
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl Message {
    /// Builds `OCRASuite ‖ 00 ‖ C ‖ Q ‖ P ‖ S ‖ T` (RFC 6287 §5.1).
    pub(crate) fn build(suite: &Suite, input: &DataInput) -> Result<Message, OcraError> {
        let mut bytes =
            Vec::with_capacity(suite.as_str().len() + 1 + 8 + QUESTION_FIELD + 64 + 512 + 8);
        bytes.extend_from_slice(suite.as_str().as_bytes());
        bytes.push(0);
        let counter_at = match (suite.has_counter(), input.counter) {
            (true, Some(counter)) => {
                let at = bytes.len();
                bytes.extend_from_slice(&counter.to_be_bytes());
                Some(at)
            }
            (true, None) => return Err(OcraError::Missing("counter C")),
            (false, Some(_)) => return Err(OcraError::Unexpected("counter C")),
            (false, None) => None,
        };
        let question = input
            .question
            .as_deref()
            .ok_or(OcraError::Missing("question Q"))?;
        bytes.extend_from_slice(&question_field(suite.challenge_format(), question)?);
        match (suite.pin_hash(), &input.pin) {
            (Some(hash), Some(pin)) => bytes.extend_from_slice(&pin.field(hash)?),
            (Some(_), None) => return Err(OcraError::Missing("PIN P")),
            (None, Some(_)) => return Err(OcraError::Unexpected("PIN P")),
            (None, None) => {}
        }
        match (suite.session_len(), &input.session) {
            (Some(len), Some(session)) if session.len() <= len => {
                bytes.resize(bytes.len() + len - session.len(), 0);
                bytes.extend_from_slice(session);
            }
            (Some(len), Some(session)) => {
                return Err(OcraError::SessionTooLong {
                    max: len,
                    found: session.len(),
                });
            }
            (Some(_), None) => return Err(OcraError::Missing("session information S")),
            (None, Some(_)) => return Err(OcraError::Unexpected("session information S")),
            (None, None) => {}
        }
        let time_at = match (suite.time_step(), input.timestamp) {
            (Some(step), Some(unix_time)) => {
                let seconds = step.seconds();
                if seconds == 0 {
                    return Err(OcraError::ZeroTimeStep);
                }
                let at = bytes.len();
                bytes.extend_from_slice(&(unix_time / seconds).to_be_bytes());
                Some(at)
            }
            (Some(_), None) => return Err(OcraError::Missing("timestamp T")),
            (None, Some(_)) => return Err(OcraError::Unexpected("timestamp T")),
            (None, None) => None,
        };
        Ok(Message {
            bytes,
            counter_at,
            time_at,
        })
    }

    /// The 8-byte value at `at` (a counter or time step written by [`Message::build`]).
    pub(crate) fn read_u64(&self, at: usize) -> u64 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.bytes[at..at + 8]);
        u64::from_be_bytes(word)
    }

    /// Overwrites the 8-byte value at `at`.
    pub(crate) fn write_u64(&mut self, at: usize, value: u64) {
        self.bytes[at..at + 8].copy_from_slice(&value.to_be_bytes());
    }
}

/// Packs hex nibbles left-justified into the 128-byte `Q` field, as the RFC 6287 Appendix A
/// reference implementation does (an odd final nibble fills the high half of its byte).
fn pack_nibbles(nibbles: &[u8]) -> Result<Vec<u8>, OcraError> {
    if nibbles.len() > 2 * QUESTION_FIELD {
        return Err(OcraError::QuestionTooLong);
    }
    let mut field = vec![0u8; QUESTION_FIELD];
    for (i, nibble) in nibbles.iter().enumerate() {
        field[i / 2] |= if i % 2 == 0 { nibble << 4 } else { *nibble };
    }
    Ok(field)
}

/// Encodes the question into the 128-byte `Q` field (RFC 6287 §5.1): `A` as ASCII, `H` as hex,
/// `N` as the hex digits of the decimal number; left-justified and zero-padded.
fn question_field(format: ChallengeFormat, question: &str) -> Result<Vec<u8>, OcraError> {
    if question.is_empty() {
        return Err(OcraError::Missing("question Q"));
    }
    match format {
        ChallengeFormat::Alphanumeric => {
            if let Some(position) = question.chars().position(|c| !c.is_ascii_alphanumeric()) {
                return Err(OcraError::QuestionChar {
                    format: "QA",
                    position,
                });
            }
            if question.len() > QUESTION_FIELD {
                return Err(OcraError::QuestionTooLong);
            }
            let mut field = question.as_bytes().to_vec();
            field.resize(QUESTION_FIELD, 0);
            Ok(field)
        }
        ChallengeFormat::Hex => {
            if let Some(position) = question.chars().position(|c| !c.is_ascii_hexdigit()) {
                return Err(OcraError::QuestionChar {
                    format: "QH",
                    position,
                });
            }
            let nibbles: Vec<u8> = question
                .chars()
                .filter_map(|c| c.to_digit(16))
                .map(|d| d as u8)
                .collect();
            pack_nibbles(&nibbles)
        }
        ChallengeFormat::Numeric => {
            if let Some(position) = question.chars().position(|c| !c.is_ascii_digit()) {
                return Err(OcraError::QuestionChar {
                    format: "QN",
                    position,
                });
            }
            pack_nibbles(&decimal_to_hex_nibbles(question)?)
        }
    }
}

/// The hex digits of a decimal number without leading zeros ("0" for zero), as
/// `BigInteger(q, 10).toString(16)` in the RFC 6287 Appendix A reference implementation.
fn decimal_to_hex_nibbles(decimal: &str) -> Result<Vec<u8>, OcraError> {
    // A 128-byte field holds at most 256 nibbles; 310 decimal digits always exceed that.
    if decimal.len() > 310 {
        return Err(OcraError::QuestionTooLong);
    }
    // Little-endian base-16 digits, multiplied by 10 and added to for each decimal digit.
    let mut nibbles: Vec<u8> = vec![0];
    for digit in decimal.bytes().map(|b| b - b'0') {
        let mut carry = u32::from(digit);
        for nibble in nibbles.iter_mut() {
            let value = u32::from(*nibble) * 10 + carry;
            *nibble = (value & 0xf) as u8;
            carry = value >> 4;
        }
        while carry > 0 {
            nibbles.push((carry & 0xf) as u8);
            carry >>= 4;
        }
    }
    while nibbles.len() > 1 && nibbles.last() == Some(&0) {
        nibbles.pop();
    }
    nibbles.reverse();
    Ok(nibbles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_questions_become_left_justified_hex() {
        // RFC 6287 Appendix C: Q = 12345678 is encoded as BC614E.
        let field = question_field(ChallengeFormat::Numeric, "12345678").unwrap();
        assert_eq!(&field[..4], &[0xbc, 0x61, 0x4e, 0x00]);
        assert_eq!(field.len(), 128);
        let zero = question_field(ChallengeFormat::Numeric, "00000000").unwrap();
        assert!(zero.iter().all(|b| *b == 0));
        // 256 = 0x100: three nibbles, the last in the high half of the second byte.
        let odd = question_field(ChallengeFormat::Numeric, "256").unwrap();
        assert_eq!(&odd[..3], &[0x10, 0x00, 0x00]);
    }

    #[test]
    fn questions_that_overflow_128_bytes_or_break_the_format_are_rejected() {
        assert!(matches!(
            question_field(ChallengeFormat::Alphanumeric, &"A".repeat(129)),
            Err(OcraError::QuestionTooLong)
        ));
        assert!(question_field(ChallengeFormat::Alphanumeric, &"A".repeat(128)).is_ok());
        assert!(matches!(
            question_field(ChallengeFormat::Hex, &"f".repeat(257)),
            Err(OcraError::QuestionTooLong)
        ));
        assert!(matches!(
            question_field(ChallengeFormat::Numeric, &"9".repeat(400)),
            Err(OcraError::QuestionTooLong)
        ));
        assert!(matches!(
            question_field(ChallengeFormat::Numeric, "12a4"),
            Err(OcraError::QuestionChar {
                format: "QN",
                position: 2
            })
        ));
        assert!(question_field(ChallengeFormat::Alphanumeric, "SIG 1000").is_err());
        assert!(question_field(ChallengeFormat::Hex, "xyz").is_err());
    }

    #[test]
    fn plain_and_prehashed_pins_give_the_same_field() {
        let plain = Pin::Plain("1234".into()).field(Algorithm::Sha1).unwrap();
        let hashed = Pin::from_hex_hash("7110eda4d09e062aa5e4a390b0a572ac0d2c0220").unwrap();
        assert_eq!(*plain, *hashed.field(Algorithm::Sha1).unwrap());
        assert!(matches!(
            hashed.field(Algorithm::Sha256),
            Err(OcraError::PinHashLength { .. })
        ));
        assert_eq!(format!("{hashed:?}"), "Pin(**redacted**)");
    }
}
