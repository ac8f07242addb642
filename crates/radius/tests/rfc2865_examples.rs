//! The worked examples of RFC 2865 §7, shared secret "xyzzy5461".
//!
//! The hex dumps are those of RFC 2865 §7.1, §7.2 and §7.3. Each exchange is
//! checked cryptographically too (hidden passwords decrypt to the RFC's
//! plaintext, Response Authenticators match), so a mistyped octet fails.

mod common;

use std::net::Ipv4Addr;

use common::octets;
use ichido_radius::dictionary::*;
use ichido_radius::{
    Attribute, Code, Packet, decrypt_user_password, encrypt_user_password, response_authenticator,
    verify_response,
};

const SECRET: &[u8] = b"xyzzy5461";

/// RFC 2865 §7.1, Access-Request from NAS 192.168.1.16 port 3.
const RFC7_1_ACCESS_REQUEST: &str = "
    01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb
    98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d
    93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8
    01 10 05 06 00 00 00 03";

/// RFC 2865 §7.1, the Access-Accept answering it.
const RFC7_1_ACCESS_ACCEPT: &str = "
    02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf
    9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00
    0e 06 c0 a8 01 03";

/// RFC 2865 §7.2, Access-Request with CHAP-Password.
const RFC7_2_ACCESS_REQUEST: &str = "
    01 01 00 47 2a ee 86 f0 8d 0d 55 96 9c a5 97 8e
    0d 33 67 a2 01 08 66 6c 6f 70 73 79 03 13 16 e9
    75 57 c3 16 18 58 95 f2 93 ff 63 44 07 72 75 04
    06 c0 a8 01 10 05 06 00 00 00 14 06 06 00 00 00
    02 07 06 00 00 00 01";

/// RFC 2865 §7.2, the Access-Accept answering it.
const RFC7_2_ACCESS_ACCEPT: &str = "
    02 01 00 38 15 ef bc 7d ab 26 cf a3 dc 34 d9 c0
    3c 86 01 a4 06 06 00 00 00 02 07 06 00 00 00 01
    08 06 ff ff ff fe 0a 06 00 00 00 02 0d 06 00 00
    00 01 0c 06 00 00 05 dc";

/// RFC 2865 §7.3, first Access-Request (password "challenge").
const RFC7_3_ACCESS_REQUEST: &str = "
    01 02 00 39 f3 a4 7a 1f 6a 6d 76 71 0b 94 7a b9
    30 41 a0 39 01 07 6d 6f 70 73 79 02 12 33 65 75
    73 77 82 89 b5 70 88 5e 15 08 48 25 c5 04 06 c0
    a8 01 10 05 06 00 00 00 07";

/// RFC 2865 §7.3, the Access-Challenge with Reply-Message and State.
const RFC7_3_ACCESS_CHALLENGE: &str = "
    0b 02 00 4e 36 f3 c8 76 4a e8 c7 11 57 40 3c 0c
    71 ff 9c 45 12 30 43 68 61 6c 6c 65 6e 67 65 20
    33 32 37 36 39 34 33 30 2e 20 20 45 6e 74 65 72
    20 72 65 73 70 6f 6e 73 65 20 61 74 20 70 72 6f
    6d 70 74 2e 18 0a 33 32 37 36 39 34 33 30";

/// RFC 2865 §7.3, second Access-Request answering the challenge with State
/// (State Length 10, consistent with the packet Length of 67).
const RFC7_3_SECOND_ACCESS_REQUEST: &str = "
    01 03 00 43 b1 22 55 6d 42 8a 13 d0 d6 25 38 07
    c4 57 ec f0 01 07 6d 6f 70 73 79 02 12 69 2c 1f
    20 5f c0 81 b9 19 b9 51 95 f5 61 a5 81 04 06 c0
    a8 01 10 05 06 00 00 00 07 18 0a 33 32 37 36 39
    34 33 30";

/// RFC 2865 §7.3, the Access-Reject answering it.
const RFC7_3_ACCESS_REJECT: &str = "
    03 03 00 14 a4 2f 4f ca 45 91 6c 4e 09 c8 34 0f
    9e 74 6a a0";

/// Encodes `reply` as RFC 2865 §3 alone does (no Message-Authenticator):
/// Request Authenticator in place, then MD5 over packet and secret.
fn encode_rfc2865_response(reply: &Packet, request: &Packet) -> Vec<u8> {
    let mut unsigned = reply.clone();
    unsigned.authenticator = request.authenticator;
    let mut raw = unsigned.encode().unwrap();
    let authenticator = response_authenticator(&raw, SECRET);
    raw[4..20].copy_from_slice(&authenticator);
    raw
}

fn decode(dump: &str) -> (Vec<u8>, Packet) {
    let raw = octets(dump);
    let packet = Packet::decode(&raw).unwrap();
    assert_eq!(
        packet.encode().unwrap(),
        raw,
        "re-encoding gives the same octets"
    );
    (raw, packet)
}

#[test]
fn rfc2865_7_1_access_request_decodes_every_attribute() {
    let (_, request) = decode(RFC7_1_ACCESS_REQUEST);
    assert_eq!(request.code, Code::AccessRequest);
    assert_eq!(request.identifier, 0);
    assert_eq!(
        request.authenticator,
        octets("0f403f9473978057bd83d5cb98f4227a")[..]
    );
    assert_eq!(
        request.attributes,
        vec![
            Attribute::new(USER_NAME, "nemo"),
            Attribute::new(USER_PASSWORD, octets("0dbe708d93d413ce3196e43f782a0aee")),
            Attribute::new(NAS_IP_ADDRESS, [192, 168, 1, 16]),
            Attribute::new(NAS_PORT, [0, 0, 0, 3]),
        ]
    );
    assert_eq!(request.string(USER_NAME).as_deref(), Some("nemo"));
    assert_eq!(
        request.ipv4(NAS_IP_ADDRESS),
        Some(Ipv4Addr::new(192, 168, 1, 16))
    );
    assert_eq!(request.u32(NAS_PORT), Some(3));
}

#[test]
fn rfc2865_7_1_user_password_decrypts_to_arctangent() {
    let (_, request) = decode(RFC7_1_ACCESS_REQUEST);
    let hidden = request.attr(USER_PASSWORD).unwrap();
    let password = decrypt_user_password(hidden, SECRET, &request.authenticator).unwrap();
    assert_eq!(password, b"arctangent");
    // And hiding "arctangent" gives back the RFC's octets.
    let again = encrypt_user_password(b"arctangent", SECRET, &request.authenticator).unwrap();
    assert_eq!(again, hidden);
}

#[test]
fn rfc2865_7_1_access_accept_response_authenticator_verifies() {
    let (request_raw, request) = decode(RFC7_1_ACCESS_REQUEST);
    let (accept_raw, accept) = decode(RFC7_1_ACCESS_ACCEPT);
    assert_eq!(accept.code, Code::AccessAccept);
    assert_eq!(accept.identifier, request.identifier);
    assert_eq!(
        accept.attributes,
        vec![
            Attribute::new(SERVICE_TYPE, [0, 0, 0, 1]),
            Attribute::new(LOGIN_SERVICE, [0, 0, 0, 0]),
            Attribute::new(LOGIN_IP_HOST, [192, 168, 1, 3]),
        ]
    );
    assert!(verify_response(&accept_raw, &request.authenticator, SECRET));
    assert!(!verify_response(
        &accept_raw,
        &request.authenticator,
        b"xyzzy5462"
    ));
    // A response is not checked against its own request's octets.
    assert!(!verify_response(
        &request_raw,
        &request.authenticator,
        SECRET
    ));
}

#[test]
fn rfc2865_7_1_access_accept_is_rebuilt_octet_for_octet() {
    let (_, request) = decode(RFC7_1_ACCESS_REQUEST);
    let mut accept = Packet::reply(&request, Code::AccessAccept);
    accept
        .add_u32(SERVICE_TYPE, 1)
        .add_u32(LOGIN_SERVICE, 0)
        .add_ipv4(LOGIN_IP_HOST, Ipv4Addr::new(192, 168, 1, 3));
    assert_eq!(
        encode_rfc2865_response(&accept, &request),
        octets(RFC7_1_ACCESS_ACCEPT)
    );
}

#[test]
fn rfc2865_7_2_chap_access_request_decodes_every_attribute() {
    let (_, request) = decode(RFC7_2_ACCESS_REQUEST);
    assert_eq!(request.code, Code::AccessRequest);
    assert_eq!(request.identifier, 1);
    assert_eq!(request.string(USER_NAME).as_deref(), Some("flopsy"));
    // CHAP-Password: CHAP Ident 0x16, then the 16-octet response (RFC 2865 §5.3).
    let chap = request.attr(CHAP_PASSWORD).unwrap();
    assert_eq!(chap.len(), 17);
    assert_eq!(chap[0], 0x16);
    assert_eq!(chap[1..], octets("e97557c316185895f293ff6344077275")[..]);
    assert_eq!(
        request.ipv4(NAS_IP_ADDRESS),
        Some(Ipv4Addr::new(192, 168, 1, 16))
    );
    assert_eq!(request.u32(NAS_PORT), Some(20));
    assert_eq!(request.u32(SERVICE_TYPE), Some(2), "Framed-User");
    assert_eq!(request.u32(FRAMED_PROTOCOL), Some(1), "PPP");
    assert_eq!(request.attributes.len(), 6);
    assert_eq!(request.attr(USER_PASSWORD), None);
}

#[test]
fn rfc2865_7_2_access_accept_decodes_and_verifies() {
    let (_, request) = decode(RFC7_2_ACCESS_REQUEST);
    let (accept_raw, accept) = decode(RFC7_2_ACCESS_ACCEPT);
    assert_eq!(accept.code, Code::AccessAccept);
    assert_eq!(accept.identifier, 1);
    assert_eq!(accept.u32(SERVICE_TYPE), Some(2), "Framed-User");
    assert_eq!(accept.u32(FRAMED_PROTOCOL), Some(1), "PPP");
    assert_eq!(
        accept.ipv4(FRAMED_IP_ADDRESS),
        Some(Ipv4Addr::new(255, 255, 255, 254)),
        "the NAS chooses the address"
    );
    assert_eq!(accept.u32(FRAMED_ROUTING), Some(2), "Listen");
    assert_eq!(accept.u32(FRAMED_COMPRESSION), Some(1), "Van Jacobson");
    assert_eq!(accept.u32(FRAMED_MTU), Some(1500));
    assert_eq!(accept.attributes.len(), 6);
    assert!(verify_response(&accept_raw, &request.authenticator, SECRET));
}

#[test]
fn rfc2865_7_2_access_accept_is_rebuilt_octet_for_octet() {
    let (_, request) = decode(RFC7_2_ACCESS_REQUEST);
    let mut accept = Packet::reply(&request, Code::AccessAccept);
    accept
        .add_u32(SERVICE_TYPE, 2)
        .add_u32(FRAMED_PROTOCOL, 1)
        .add_ipv4(FRAMED_IP_ADDRESS, Ipv4Addr::new(255, 255, 255, 254))
        .add_u32(FRAMED_ROUTING, 2)
        .add_u32(FRAMED_COMPRESSION, 1)
        .add_u32(FRAMED_MTU, 1500);
    assert_eq!(
        encode_rfc2865_response(&accept, &request),
        octets(RFC7_2_ACCESS_ACCEPT)
    );
}

#[test]
fn rfc2865_7_3_first_user_password_decrypts_to_challenge() {
    let (_, request) = decode(RFC7_3_ACCESS_REQUEST);
    assert_eq!(request.identifier, 2);
    assert_eq!(request.string(USER_NAME).as_deref(), Some("mopsy"));
    assert_eq!(
        request.ipv4(NAS_IP_ADDRESS),
        Some(Ipv4Addr::new(192, 168, 1, 16))
    );
    assert_eq!(request.u32(NAS_PORT), Some(7));
    assert_eq!(request.attributes.len(), 4);
    let hidden = request.attr(USER_PASSWORD).unwrap();
    let password = decrypt_user_password(hidden, SECRET, &request.authenticator).unwrap();
    assert_eq!(password, b"challenge");
}

#[test]
fn rfc2865_7_3_access_challenge_carries_reply_message_and_state() {
    let (request_raw, request) = decode(RFC7_3_ACCESS_REQUEST);
    let (challenge_raw, challenge) = decode(RFC7_3_ACCESS_CHALLENGE);
    assert_eq!(challenge.code, Code::AccessChallenge);
    assert_eq!(challenge.identifier, 2);
    assert_eq!(
        challenge.string(REPLY_MESSAGE).as_deref(),
        Some("Challenge 32769430.  Enter response at prompt.")
    );
    assert_eq!(challenge.attr(STATE), Some(&b"32769430"[..]));
    assert_eq!(challenge.attributes.len(), 2);
    assert!(verify_response(
        &challenge_raw,
        &request.authenticator,
        SECRET
    ));
    // Flip one octet of the request's authenticator: no longer its answer.
    let mut other = request.authenticator;
    other[0] ^= 1;
    assert!(!verify_response(&challenge_raw, &other, SECRET));
    assert_ne!(request_raw, challenge_raw);
}

#[test]
fn rfc2865_7_3_access_challenge_is_rebuilt_octet_for_octet() {
    let (_, request) = decode(RFC7_3_ACCESS_REQUEST);
    let mut challenge = Packet::reply(&request, Code::AccessChallenge);
    challenge
        .add_string(
            REPLY_MESSAGE,
            "Challenge 32769430.  Enter response at prompt.",
        )
        .add(STATE, "32769430");
    assert_eq!(
        encode_rfc2865_response(&challenge, &request),
        octets(RFC7_3_ACCESS_CHALLENGE)
    );
}

#[test]
fn rfc2865_7_3_second_request_echoes_state_and_decrypts_to_99101462() {
    let (_, challenge) = decode(RFC7_3_ACCESS_CHALLENGE);
    let (_, request) = decode(RFC7_3_SECOND_ACCESS_REQUEST);
    assert_eq!(request.identifier, 3);
    assert_eq!(request.string(USER_NAME).as_deref(), Some("mopsy"));
    assert_eq!(request.u32(NAS_PORT), Some(7));
    assert_eq!(request.attr(STATE), challenge.attr(STATE));
    assert_eq!(request.attributes.len(), 5);
    let hidden = request.attr(USER_PASSWORD).unwrap();
    let password = decrypt_user_password(hidden, SECRET, &request.authenticator).unwrap();
    assert_eq!(password, b"99101462");
}

#[test]
fn rfc2865_7_3_access_reject_has_no_attributes_and_verifies() {
    let (_, request) = decode(RFC7_3_SECOND_ACCESS_REQUEST);
    let (reject_raw, reject) = decode(RFC7_3_ACCESS_REJECT);
    assert_eq!(reject.code, Code::AccessReject);
    assert_eq!(reject.identifier, 3);
    assert!(reject.attributes.is_empty());
    assert!(verify_response(&reject_raw, &request.authenticator, SECRET));
    let rebuilt = Packet::reply(&request, Code::AccessReject);
    assert_eq!(
        encode_rfc2865_response(&rebuilt, &request),
        octets(RFC7_3_ACCESS_REJECT)
    );
}
