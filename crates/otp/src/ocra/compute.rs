//! Computing and verifying OCRA responses (RFC 6287 §5.2 and §7).

use std::fmt;

use subtle::ConstantTimeEq;

use super::input::Message;
use super::{DataInput, OcraError, Suite};
use crate::code::Code;
use crate::mac::{KeyedMac, Tag, modulus};
use crate::window::signed_distance;
use crate::{Secret, Verified, Window};

/// An OCRA response (RFC 6287 §5.2): the truncated decimal code, or for truncation `t = 0` the
/// full HMAC in lowercase hex. Equality is constant-time.
#[derive(Clone)]
pub enum Response {
    /// `t` digits, 4 to 10 (RFC 6287 §5.2).
    Code(Code),
    /// The whole HMAC output, hex-encoded (RFC 6287 §6.2, `t = 0`).
    Full(String),
}

impl Response {
    /// The response as text (RFC 6287 §5.2).
    pub fn as_str(&self) -> &str {
        match self {
            Response::Code(code) => code.as_str(),
            Response::Full(hex) => hex,
        }
    }

    fn from_tag(suite: &Suite, tag: &Tag) -> Response {
        match suite.truncation() {
            Some(digits) => {
                let digits = usize::from(digits);
                Response::Code(Code::from_value(
                    u64::from(tag.truncate()) % modulus(digits),
                    digits,
                ))
            }
            None => Response::Full(hex::encode(tag.as_bytes())),
        }
    }
}

impl PartialEq for Response {
    /// Constant-time comparison of the response text (RFC 6287 §7: responses are compared, not leaked).
    fn eq(&self, other: &Self) -> bool {
        self.as_str()
            .as_bytes()
            .ct_eq(other.as_str().as_bytes())
            .into()
    }
}

impl Eq for Response {}

impl fmt::Display for Response {
    /// Writes the response (RFC 6287 §5.2).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Response {
    /// Hides the response so that it never reaches logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Response(**redacted**)")
    }
}

/// `OCRA = CryptoFunction(K, DataInput)` (RFC 6287 §5.2): HMAC of the DataInput with the
/// suite's hash, truncated as in HOTP (RFC 4226 §5.3) unless `t = 0`.
pub fn compute(suite: &Suite, secret: &Secret, input: &DataInput) -> Result<Response, OcraError> {
    let message = Message::build(suite, input)?;
    let tag = KeyedMac::new(suite.algorithm(), secret.as_bytes()).finish(&message.bytes);
    Ok(Response::from_tag(suite, &tag))
}

/// Accepts a submitted response for exactly this DataInput (RFC 6287 §7.1 to §7.4), comparing
/// in constant time. A response of the wrong length or charset is simply not accepted; errors
/// are reserved for a DataInput that does not fit the suite.
pub fn verify(
    suite: &Suite,
    secret: &Secret,
    input: &DataInput,
    response: &str,
) -> Result<bool, OcraError> {
    let message = Message::build(suite, input)?;
    let Some(submitted) = parse_submitted(suite, response) else {
        return Ok(false);
    };
    let mac = KeyedMac::new(suite.algorithm(), secret.as_bytes());
    Ok(matches(suite, &mac, &message.bytes, &submitted))
}

/// Verification with the suite's moving factor searched (RFC 6287 §7.1 and §7.4 "the server
/// checks … within a window"): for a `T` suite, time steps `T - behind ..= T + ahead` around the
/// input's timestamp, with `drift = matched - T`; otherwise for a `C` suite, counters
/// `C ..= C + ahead` with `drift = matched - C` (store `matched + 1` next, RFC 4226 §7.4); for a
/// suite with neither, the single input. `counter` in the result is the matched time step or
/// counter (0 when there is neither). The HMAC is keyed once.
pub fn verify_in_window(
    suite: &Suite,
    secret: &Secret,
    input: &DataInput,
    response: &str,
    window: Window,
) -> Result<Option<Verified>, OcraError> {
    let mut message = Message::build(suite, input)?;
    let Some(submitted) = parse_submitted(suite, response) else {
        return Ok(None);
    };
    let mac = KeyedMac::new(suite.algorithm(), secret.as_bytes());
    let (at, low, high, origin) = match (message.time_at, message.counter_at) {
        (Some(at), _) => {
            let now = message.read_u64(at);
            (
                Some(at),
                now.saturating_sub(window.behind),
                now.saturating_add(window.ahead),
                now,
            )
        }
        (None, Some(at)) => {
            let start = message.read_u64(at);
            (Some(at), start, start.saturating_add(window.ahead), start)
        }
        (None, None) => (None, 0, 0, 0),
    };
    let Some(at) = at else {
        let accepted = matches(suite, &mac, &message.bytes, &submitted);
        return Ok(accepted.then_some(Verified {
            counter: 0,
            drift: 0,
        }));
    };
    for candidate in low..=high {
        message.write_u64(at, candidate);
        if matches(suite, &mac, &message.bytes, &submitted) {
            return Ok(Some(Verified {
                counter: candidate,
                drift: signed_distance(candidate, origin),
            }));
        }
    }
    Ok(None)
}

/// The submitted response in canonical form, or `None` when it cannot be one for this suite.
fn parse_submitted(suite: &Suite, response: &str) -> Option<Response> {
    match suite.truncation() {
        Some(digits) => Code::parse_len(response, usize::from(digits))
            .ok()
            .map(Response::Code),
        None => {
            let bytes = hex::decode(response).ok()?;
            (bytes.len() == suite.algorithm().output_len())
                .then(|| Response::Full(hex::encode(bytes)))
        }
    }
}

fn matches(suite: &Suite, mac: &KeyedMac, message: &[u8], submitted: &Response) -> bool {
    Response::from_tag(suite, &mac.sign(message)) == *submitted
}
