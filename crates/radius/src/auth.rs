//! Authenticators (RFC 2865 §3, RFC 2866 §3), User-Password hiding
//! (RFC 2865 §5.2), and the encoders and checks that tie them to
//! Message-Authenticator (RFC 3579 §3.2).

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use crate::attribute::Attribute;
use crate::code::Code;
use crate::dictionary::{MESSAGE_AUTHENTICATOR, PROXY_STATE};
use crate::error::{DecodeError, EncodeError};
use crate::message_authenticator::{self as ma, Located};
use crate::packet::{AUTHENTICATOR, HEADER_LEN, Packet, frame, write};

/// Longest User-Password before hiding (RFC 2865 §5.2).
pub const MAX_USER_PASSWORD_LEN: usize = 128;

/// Block size of User-Password hiding: one MD5 output (RFC 2865 §5.2).
const BLOCK: usize = 16;

/// The Response Authenticator, RFC 2865 §3:
/// `MD5(Code + ID + Length + RequestAuth + Attributes + Secret)`.
///
/// `response_packet` is the encoded response, exactly Length octets, with the
/// Request Authenticator of the request it answers in the Authenticator field.
/// The same sum over a packet whose Authenticator field is zero is the
/// Accounting-Request Request Authenticator (RFC 2866 §3).
pub fn response_authenticator(response_packet: &[u8], secret: &[u8]) -> [u8; 16] {
    Md5::new()
        .chain_update(response_packet)
        .chain_update(secret)
        .finalize()
        .into()
}

/// Hides a User-Password, RFC 2865 §5.2: pads with NULs to a multiple of 16
/// (at least 16), then `c(i) = p(i) xor MD5(secret + c(i-1))` with
/// `c(0)` the Request Authenticator. At most 128 octets.
pub fn encrypt_user_password(
    password: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> Result<Vec<u8>, EncodeError> {
    if password.len() > MAX_USER_PASSWORD_LEN {
        return Err(EncodeError::PasswordTooLong {
            length: password.len(),
        });
    }
    let blocks = password.len().div_ceil(BLOCK).max(1);
    let mut out = vec![0u8; blocks * BLOCK];
    out[..password.len()].copy_from_slice(password);
    let mut previous = *request_authenticator;
    for chunk in out.chunks_exact_mut(BLOCK) {
        xor(chunk, &key_block(secret, &previous));
        previous.copy_from_slice(chunk);
    }
    Ok(out)
}

/// Recovers a hidden User-Password, RFC 2865 §5.2: the value must be a
/// multiple of 16 octets in 16..=128; the NUL padding at the end is removed.
pub fn decrypt_user_password(
    hidden: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> Result<Vec<u8>, DecodeError> {
    let length = hidden.len();
    if !length.is_multiple_of(BLOCK) || !(BLOCK..=MAX_USER_PASSWORD_LEN).contains(&length) {
        return Err(DecodeError::UserPasswordLength { length });
    }
    let mut out = hidden.to_vec();
    let mut previous = *request_authenticator;
    for chunk in out.chunks_exact_mut(BLOCK) {
        let key = key_block(secret, &previous);
        previous.copy_from_slice(chunk);
        xor(chunk, &key);
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    Ok(out)
}

/// Checks a response as a client does (RFC 2865 §3): the Response
/// Authenticator must be right for this request, and a Message-Authenticator,
/// if present, must be single and right too (RFC 3579 §3.2). Comparisons are
/// constant-time. Matching the Identifier is left to the caller.
pub fn verify_response(
    raw_response: &[u8],
    request_authenticator: &[u8; 16],
    secret: &[u8],
) -> bool {
    let Ok(packet) = frame(raw_response) else {
        return false;
    };
    let mut copy = packet.to_vec();
    copy[AUTHENTICATOR].copy_from_slice(request_authenticator);
    let expected = response_authenticator(&copy, secret);
    let authenticator_ok: bool = expected.ct_eq(&packet[AUTHENTICATOR]).into();
    let message_authenticator_ok = match ma::locate(packet) {
        Located::Missing => true,
        Located::Malformed => false,
        Located::At(offset) => ma::matches(packet, offset, Some(request_authenticator), secret),
    };
    authenticator_ok & message_authenticator_ok
}

/// Checks an Accounting-Request's Request Authenticator, RFC 2866 §3:
/// `MD5(Code + Identifier + Length + 16 zero octets + Attributes + Secret)`;
/// and its Message-Authenticator, if present (computed with the
/// Authenticator field zeroed). Constant-time.
pub fn verify_accounting_request(raw_request: &[u8], secret: &[u8]) -> bool {
    let Ok(packet) = frame(raw_request) else {
        return false;
    };
    let mut copy = packet.to_vec();
    copy[AUTHENTICATOR].fill(0);
    let expected = response_authenticator(&copy, secret);
    let authenticator_ok: bool = expected.ct_eq(&packet[AUTHENTICATOR]).into();
    let message_authenticator_ok = match ma::locate(packet) {
        Located::Missing => true,
        Located::Malformed => false,
        Located::At(offset) => ma::matches(packet, offset, Some(&[0; 16]), secret),
    };
    authenticator_ok & message_authenticator_ok
}

impl Packet {
    /// An empty Access-Request (RFC 2865 §4.1). `authenticator` is the
    /// Request Authenticator: 16 octets that must be unpredictable and unique
    /// over the life of the secret (RFC 2865 §3); the caller draws them.
    pub fn new_access_request(identifier: u8, authenticator: [u8; 16]) -> Packet {
        Packet::new(Code::AccessRequest, identifier, authenticator)
    }

    /// Starts the reply to `request` (RFC 2865 §3, §4): same Identifier,
    /// and every Proxy-State copied unmodified and in order (RFC 2865 §5.33).
    /// Put on the wire with [`Packet::encode_response`].
    pub fn reply(request: &Packet, code: Code) -> Packet {
        Packet {
            code,
            identifier: request.identifier,
            authenticator: request.authenticator,
            attributes: request
                .attributes
                .iter()
                .filter(|a| a.typ == PROXY_STATE)
                .cloned()
                .collect(),
        }
    }

    /// Encodes a response (RFC 2865 §3, RFC 3579 §3.2). Any
    /// Message-Authenticator in `attributes` is dropped and a fresh one is
    /// placed first (the BlastRADIUS mitigation of
    /// draft-ietf-radext-deprecating-radius), computed as HMAC-MD5 over the
    /// packet with the Request Authenticator in the Authenticator field;
    /// then the Response Authenticator
    /// `MD5(Code+ID+Length+RequestAuth+Attributes+Secret)` is written.
    /// `self.authenticator` is not used.
    pub fn encode_response(
        &self,
        request_authenticator: &[u8; 16],
        secret: &[u8],
    ) -> Result<Vec<u8>, EncodeError> {
        let mut out = self.encode_signed(request_authenticator, secret)?;
        let authenticator = response_authenticator(&out, secret);
        out[AUTHENTICATOR].copy_from_slice(&authenticator);
        Ok(out)
    }

    /// Encodes a request with a Message-Authenticator placed first
    /// (RFC 3579 §3.2; any existing one is dropped). For Access-Request and
    /// Status-Server the HMAC-MD5 covers `self.authenticator`, the random
    /// Request Authenticator. For Accounting-Request it covers a zeroed
    /// Authenticator field, and the Request Authenticator is then computed
    /// as RFC 2866 §3 says; `self.authenticator` is not used.
    pub fn encode_request(&self, secret: &[u8]) -> Result<Vec<u8>, EncodeError> {
        if self.code != Code::AccountingRequest {
            return self.encode_signed(&self.authenticator, secret);
        }
        let mut out = self.encode_signed(&[0; 16], secret)?;
        let authenticator = response_authenticator(&out, secret);
        out[AUTHENTICATOR].copy_from_slice(&authenticator);
        Ok(out)
    }

    /// Encodes with `authenticator` in the header and a signed
    /// Message-Authenticator as the first attribute (RFC 3579 §3.2).
    fn encode_signed(
        &self,
        authenticator: &[u8; 16],
        secret: &[u8],
    ) -> Result<Vec<u8>, EncodeError> {
        let placeholder = Attribute::new(MESSAGE_AUTHENTICATOR, [0u8; ma::LEN]);
        let others = self
            .attributes
            .iter()
            .filter(|a| a.typ != MESSAGE_AUTHENTICATOR);
        let mut out = write(
            self.code,
            self.identifier,
            authenticator,
            std::iter::once(&placeholder).chain(others),
        )?;
        ma::sign(&mut out, HEADER_LEN + 2, secret);
        Ok(out)
    }
}

/// `MD5(secret + previous)`, the key stream block of RFC 2865 §5.2.
fn key_block(secret: &[u8], previous: &[u8; 16]) -> [u8; 16] {
    Md5::new()
        .chain_update(secret)
        .chain_update(previous)
        .finalize()
        .into()
}

fn xor(block: &mut [u8], key: &[u8; 16]) {
    for (b, k) in block.iter_mut().zip(key) {
        *b ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RA: [u8; 16] = [7; 16];

    #[test]
    fn hidden_password_is_padded_to_sixteen_octet_blocks() {
        for (len, hidden) in [(0, 16), (1, 16), (16, 16), (17, 32), (128, 128)] {
            let pw = vec![b'p'; len];
            assert_eq!(encrypt_user_password(&pw, b"s", &RA).unwrap().len(), hidden);
        }
    }

    #[test]
    fn password_over_128_octets_is_refused() {
        assert_eq!(
            encrypt_user_password(&[b'p'; 129], b"s", &RA),
            Err(EncodeError::PasswordTooLong { length: 129 })
        );
    }

    #[test]
    fn hidden_password_length_must_be_a_multiple_of_16_in_16_to_128() {
        for length in [0, 1, 15, 17, 31, 144, 256] {
            assert_eq!(
                decrypt_user_password(&vec![1; length], b"s", &RA),
                Err(DecodeError::UserPasswordLength { length })
            );
        }
        for length in [16, 32, 128] {
            assert!(decrypt_user_password(&vec![1; length], b"s", &RA).is_ok());
        }
    }

    #[test]
    fn hiding_chains_each_block_on_the_previous_ciphertext() {
        let pw = [b'a'; 32];
        let hidden = encrypt_user_password(&pw, b"s", &RA).unwrap();
        let mut first = [0u8; 16];
        first.copy_from_slice(&hidden[..16]);
        let mut expected_second = [b'a'; 16];
        xor(&mut expected_second, &key_block(b"s", &first));
        assert_eq!(hidden[16..], expected_second);
    }
}
