//! Message-Authenticator (RFC 3579 §3.2, RFC 2869 §5.14): an HMAC-MD5 keyed
//! with the shared secret over the whole packet, computed with its own
//! 16 value octets set to zero.

use hmac::{Hmac, Mac};
use md5::Md5;
use subtle::ConstantTimeEq;

use crate::code::Code;
use crate::dictionary::MESSAGE_AUTHENTICATOR;
use crate::packet::{AUTHENTICATOR, RawAttributes, frame};

/// Octets of the Message-Authenticator value (RFC 3579 §3.2).
pub(crate) const LEN: usize = 16;

/// What a received request's Message-Authenticator says (RFC 3579 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageAuthCheck {
    /// Present once and correct for this shared secret (RFC 3579 §3.2).
    Valid,
    /// Present but wrong, present more than once, not 16 octets long, or the
    /// packet is malformed: RFC 3579 §3.2 says silently discard.
    Invalid,
    /// Absent. RFC 3579 §3.3 requires it with EAP-Message, and the BlastRADIUS
    /// mitigation (draft-ietf-radext-deprecating-radius) has servers require
    /// it in every Access-Request: the caller decides.
    Missing,
}

/// Checks the Message-Authenticator of a received request, using the raw
/// octets as they came off the wire (RFC 3579 §3.2): the HMAC-MD5 is taken
/// over a copy with the 16 value octets zeroed, and compared in constant time.
///
/// For Access-Request and Status-Server the Authenticator field is taken as
/// received (the random Request Authenticator). For Accounting-Request it is
/// zeroed first, since its Request Authenticator is itself computed over the
/// Message-Authenticator (RFC 2866 §3; RFC 5176 §3.5 does the same for
/// CoA and Disconnect).
pub fn verify_message_authenticator(raw_request: &[u8], secret: &[u8]) -> MessageAuthCheck {
    let Ok(packet) = frame(raw_request) else {
        return MessageAuthCheck::Invalid;
    };
    let zero_authenticator = match Code::from(packet[0]) {
        Code::AccountingRequest => Some([0u8; 16]),
        _ => None,
    };
    match locate(packet) {
        Located::Missing => MessageAuthCheck::Missing,
        Located::Malformed => MessageAuthCheck::Invalid,
        Located::At(offset) => {
            if matches(packet, offset, zero_authenticator.as_ref(), secret) {
                MessageAuthCheck::Valid
            } else {
                MessageAuthCheck::Invalid
            }
        }
    }
}

/// Where the Message-Authenticator value sits in a framed packet.
pub(crate) enum Located {
    Missing,
    /// More than one, or a value that is not 16 octets (RFC 3579 §3.2).
    Malformed,
    /// Offset of the first of the 16 value octets.
    At(usize),
}

/// Finds the single Message-Authenticator of a packet checked by `frame`.
pub(crate) fn locate(packet: &[u8]) -> Located {
    let mut found = Located::Missing;
    for attribute in RawAttributes::new(packet) {
        let Ok(attribute) = attribute else {
            return Located::Malformed;
        };
        if attribute.typ != MESSAGE_AUTHENTICATOR {
            continue;
        }
        if attribute.value.len() != LEN || !matches!(found, Located::Missing) {
            return Located::Malformed;
        }
        found = Located::At(attribute.offset + 2);
    }
    found
}

/// Recomputes the Message-Authenticator at `offset` over a copy of `packet`
/// (with the Authenticator field replaced when `authenticator` is given)
/// and compares it with the one received, in constant time.
pub(crate) fn matches(
    packet: &[u8],
    offset: usize,
    authenticator: Option<&[u8; 16]>,
    secret: &[u8],
) -> bool {
    let mut copy = packet.to_vec();
    if let Some(authenticator) = authenticator {
        copy[AUTHENTICATOR].copy_from_slice(authenticator);
    }
    copy[offset..offset + LEN].fill(0);
    let expected = hmac_md5(secret, &copy);
    expected.ct_eq(&packet[offset..offset + LEN]).into()
}

/// Fills the zeroed Message-Authenticator at `offset` of an encoded packet
/// whose Authenticator field already holds what RFC 3579 §3.2 asks for.
pub(crate) fn sign(packet: &mut [u8], offset: usize, secret: &[u8]) {
    let mac = hmac_md5(secret, packet);
    packet[offset..offset + LEN].copy_from_slice(&mac);
}

/// HMAC-MD5 (RFC 2104) keyed with the shared secret (RFC 3579 §3.2).
fn hmac_md5(secret: &[u8], data: &[u8]) -> [u8; 16] {
    // HMAC takes keys of any length, so this never fails.
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2202 §2, test case 2: HMAC-MD5 with key "Jefe".
    #[test]
    fn hmac_md5_matches_rfc2202_test_case_2() {
        let mac = hmac_md5(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            mac,
            [
                0x75, 0x0c, 0x78, 0x3e, 0x6a, 0xb0, 0xb5, 0x03, 0xea, 0xa8, 0x6e, 0x31, 0x0a, 0x5d,
                0xb7, 0x38
            ]
        );
    }

    #[test]
    fn malformed_packet_is_invalid_not_missing() {
        assert_eq!(
            verify_message_authenticator(&[1, 2, 3], b"s"),
            MessageAuthCheck::Invalid
        );
    }
}
