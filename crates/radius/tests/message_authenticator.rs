//! Message-Authenticator (RFC 3579 §3.2) on requests and responses, and the
//! Response Authenticator check a client makes (RFC 2865 §3).

mod common;

use common::octets;
use ichido_radius::dictionary::*;
use ichido_radius::{
    Code, MessageAuthCheck, Packet, decrypt_user_password, encrypt_user_password,
    response_authenticator, verify_accounting_request, verify_message_authenticator,
    verify_response,
};

const SECRET: &[u8] = b"correct horse battery staple";
const REQUEST_AUTHENTICATOR: [u8; 16] = [
    0x3a, 0x91, 0x0c, 0x5e, 0x77, 0x12, 0xa8, 0x40, 0xfe, 0x09, 0x6b, 0xd2, 0x81, 0x33, 0xc4, 0x5f,
];

fn access_request() -> Packet {
    let mut request = Packet::new_access_request(42, REQUEST_AUTHENTICATOR);
    let hidden = encrypt_user_password(b"123456", SECRET, &REQUEST_AUTHENTICATOR).unwrap();
    request
        .add_string(USER_NAME, "alice")
        .add(USER_PASSWORD, hidden)
        .add_string(NAS_IDENTIFIER, "vpn-gw-1")
        .add(PROXY_STATE, "hop-1")
        .add(PROXY_STATE, "hop-2");
    request
}

/// Offset of the Message-Authenticator value when it is the first attribute.
const FIRST_VALUE: std::ops::Range<usize> = 22..38;

#[test]
fn encode_request_then_verify_is_valid() {
    let raw = access_request().encode_request(SECRET).unwrap();
    assert_eq!(
        verify_message_authenticator(&raw, SECRET),
        MessageAuthCheck::Valid
    );
    let decoded = Packet::decode(&raw).unwrap();
    assert_eq!(decoded.attributes[0].typ, MESSAGE_AUTHENTICATOR);
    assert_eq!(decoded.authenticator, REQUEST_AUTHENTICATOR);
    let password = decrypt_user_password(
        decoded.attr(USER_PASSWORD).unwrap(),
        SECRET,
        &decoded.authenticator,
    )
    .unwrap();
    assert_eq!(password, b"123456");
}

#[test]
fn any_flipped_bit_makes_the_request_fail() {
    let raw = access_request().encode_request(SECRET).unwrap();
    for i in 0..raw.len() {
        for bit in 0..8 {
            let mut tampered = raw.clone();
            tampered[i] ^= 1 << bit;
            // Changing the Type octet of the Message-Authenticator (offset 20)
            // removes it: a server that requires it drops the packet as Missing.
            let expected = if i == 20 {
                MessageAuthCheck::Missing
            } else {
                MessageAuthCheck::Invalid
            };
            assert_eq!(
                verify_message_authenticator(&tampered, SECRET),
                expected,
                "octet {i} bit {bit}"
            );
        }
    }
}

#[test]
fn wrong_secret_is_invalid() {
    let raw = access_request().encode_request(SECRET).unwrap();
    assert_eq!(
        verify_message_authenticator(&raw, b"correct horse battery stapler"),
        MessageAuthCheck::Invalid
    );
    assert_eq!(
        verify_message_authenticator(&raw, b""),
        MessageAuthCheck::Invalid
    );
}

#[test]
fn absent_message_authenticator_is_missing() {
    let raw = access_request().encode().unwrap();
    assert_eq!(
        verify_message_authenticator(&raw, SECRET),
        MessageAuthCheck::Missing
    );
}

#[test]
fn padding_after_length_does_not_change_the_check() {
    let mut raw = access_request().encode_request(SECRET).unwrap();
    raw.extend_from_slice(&[0xee; 33]);
    assert_eq!(
        verify_message_authenticator(&raw, SECRET),
        MessageAuthCheck::Valid
    );
}

#[test]
fn two_message_authenticators_are_invalid() {
    let raw = access_request().encode_request(SECRET).unwrap();
    let mut doubled = Packet::decode(&raw).unwrap();
    let first = doubled.attributes[0].clone();
    doubled.attributes.push(first);
    let doubled = doubled.encode().unwrap();
    assert_eq!(
        verify_message_authenticator(&doubled, SECRET),
        MessageAuthCheck::Invalid
    );
}

#[test]
fn message_authenticator_of_wrong_length_is_invalid() {
    let mut request = access_request();
    request.add(MESSAGE_AUTHENTICATOR, [0u8; 15]);
    let raw = request.encode().unwrap();
    assert_eq!(
        verify_message_authenticator(&raw, SECRET),
        MessageAuthCheck::Invalid
    );
}

#[test]
fn encode_request_replaces_a_stale_message_authenticator_and_puts_it_first() {
    let mut request = access_request();
    request.add(MESSAGE_AUTHENTICATOR, [0xab; 16]);
    let raw = request.encode_request(SECRET).unwrap();
    let decoded = Packet::decode(&raw).unwrap();
    assert_eq!(decoded.attrs(MESSAGE_AUTHENTICATOR).count(), 1);
    assert_eq!(decoded.attributes[0].typ, MESSAGE_AUTHENTICATOR);
    assert_eq!(
        verify_message_authenticator(&raw, SECRET),
        MessageAuthCheck::Valid
    );
}

#[test]
fn reply_keeps_identifier_and_copies_every_proxy_state_in_order() {
    let request = access_request();
    let reply = Packet::reply(&request, Code::AccessReject);
    assert_eq!(reply.code, Code::AccessReject);
    assert_eq!(reply.identifier, 42);
    assert_eq!(
        reply.attrs(PROXY_STATE).collect::<Vec<_>>(),
        vec![&b"hop-1"[..], &b"hop-2"[..]]
    );
    assert_eq!(reply.attributes.len(), 2, "nothing else is copied");
}

#[test]
fn response_with_message_authenticator_first_verifies() {
    let request = access_request();
    let mut accept = Packet::reply(&request, Code::AccessAccept);
    accept.add_string(REPLY_MESSAGE, "welcome");
    let raw = accept
        .encode_response(&REQUEST_AUTHENTICATOR, SECRET)
        .unwrap();
    assert!(verify_response(&raw, &REQUEST_AUTHENTICATOR, SECRET));

    let decoded = Packet::decode(&raw).unwrap();
    let types: Vec<u8> = decoded.attributes.iter().map(|a| a.typ).collect();
    assert_eq!(
        types,
        vec![
            MESSAGE_AUTHENTICATOR,
            PROXY_STATE,
            PROXY_STATE,
            REPLY_MESSAGE
        ]
    );
    assert_eq!(decoded.identifier, 42);
}

#[test]
fn response_fails_with_wrong_secret_or_wrong_request() {
    let request = access_request();
    let raw = Packet::reply(&request, Code::AccessAccept)
        .encode_response(&REQUEST_AUTHENTICATOR, SECRET)
        .unwrap();
    assert!(!verify_response(&raw, &REQUEST_AUTHENTICATOR, b"wrong"));
    let mut other = REQUEST_AUTHENTICATOR;
    other[15] ^= 0x80;
    assert!(!verify_response(&raw, &other, SECRET));
    for i in 0..raw.len() {
        let mut tampered = raw.clone();
        tampered[i] ^= 0x01;
        assert!(
            !verify_response(&tampered, &REQUEST_AUTHENTICATOR, SECRET),
            "octet {i}"
        );
    }
}

#[test]
fn response_with_bad_message_authenticator_fails_even_if_response_authenticator_is_right() {
    let request = access_request();
    let mut raw = Packet::reply(&request, Code::AccessAccept)
        .encode_response(&REQUEST_AUTHENTICATOR, SECRET)
        .unwrap();
    raw[FIRST_VALUE].fill(0x5a);
    // Recompute only the Response Authenticator over the forged packet.
    raw[4..20].copy_from_slice(&REQUEST_AUTHENTICATOR);
    let authenticator = response_authenticator(&raw, SECRET);
    raw[4..20].copy_from_slice(&authenticator);
    assert!(!verify_response(&raw, &REQUEST_AUTHENTICATOR, SECRET));
}

#[test]
fn encode_response_ignores_the_packets_own_authenticator() {
    let request = access_request();
    let mut accept = Packet::reply(&request, Code::AccessAccept);
    let a = accept
        .encode_response(&REQUEST_AUTHENTICATOR, SECRET)
        .unwrap();
    accept.authenticator = [0xff; 16];
    let b = accept
        .encode_response(&REQUEST_AUTHENTICATOR, SECRET)
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn status_server_request_is_signed() {
    let mut status = Packet::new(Code::StatusServer, 9, REQUEST_AUTHENTICATOR);
    status.add_string(NAS_IDENTIFIER, "probe");
    let raw = status.encode_request(SECRET).unwrap();
    assert_eq!(
        verify_message_authenticator(&raw, SECRET),
        MessageAuthCheck::Valid
    );
}

#[test]
fn rfc2866_accounting_request_authenticator_round_trips() {
    let mut accounting = Packet::new(Code::AccountingRequest, 5, [0; 16]);
    accounting
        .add_string(USER_NAME, "alice")
        .add_u32(ACCT_STATUS_TYPE, 1)
        .add_string(ACCT_SESSION_ID, "0001");
    let raw = accounting.encode_request(SECRET).unwrap();
    assert!(verify_accounting_request(&raw, SECRET));
    assert_eq!(
        verify_message_authenticator(&raw, SECRET),
        MessageAuthCheck::Valid
    );
    assert!(!verify_accounting_request(&raw, b"wrong"));
    let mut tampered = raw.clone();
    *tampered.last_mut().unwrap() ^= 1;
    assert!(!verify_accounting_request(&tampered, SECRET));
    // Without a Message-Authenticator only the Request Authenticator counts.
    let mut plain = accounting.encode().unwrap();
    plain[4..20].fill(0);
    let authenticator = response_authenticator(&plain, SECRET);
    plain[4..20].copy_from_slice(&authenticator);
    assert!(verify_accounting_request(&plain, SECRET));
}

/// Packets of the Wireshark sample capture `radius_localhost.pcapng`
/// (EAP-MD5 between a client and FreeRADIUS on localhost), as reproduced in
/// FreeRADIUS `src/tests/unit/protocols/radius/packet_wireshark01.txt`
/// (CC-BY 4.0). The file does not name the shared secret; the capture's
/// Message-Authenticators and Response Authenticators all verify under
/// FreeRADIUS's default client secret, "testing123".
mod wireshark_capture {
    use super::*;

    const SECRET: &[u8] = b"testing123";

    /// Packet 1: Access-Request, id 103, Message-Authenticator after NAS-Port.
    const ACCESS_REQUEST_1: &str = "
        01 67 00 57 40 b6 64 db f5 d6 81 b2 ad bd 17 69 51 51 18 c8 01 07 73 74 65 76 65
        02 12 db c6 c4 b7 58 be 14 f0 05 b3 87 7c 9e 2f b6 01 04 06 c0 a8 00 1c 05 06 00
        00 00 7b 50 12 5f 0f 86 47 e8 c8 9b d8 81 36 42 68 fc d0 45 32 4f 0c 02 66 00 0a
        01 73 74 65 76 65";

    /// Packet 2: Access-Challenge answering packet 1.
    const ACCESS_CHALLENGE_2: &str = "
        0b 67 00 83 83 ec e7 07 a2 f3 1b b6 5b ad fb 22 a6 40 23 d9 06 06 00 00 00 02 07
        06 00 00 00 01 08 06 ac 10 03 21 09 06 ff ff ff 00 0a 06 00 00 00 03 0b 09 73 74
        64 2e 70 70 70 0c 06 00 00 05 dc 0d 06 00 00 00 01 4f 18 01 67 00 16 04 10 ff 0b
        f1 d6 e4 01 a9 cb e5 b4 6e b9 43 e5 54 9a 50 12 6e 79 4a 02 0c 45 c6 6f 42 47 ba
        8c 5f f0 4e d1 18 12 73 6f 86 85 73 08 82 77 41 4a e3 f3 1e ac 34 e9";

    /// Packet 7: Access-Request, id 114, with State and EAP-Message.
    const ACCESS_REQUEST_7: &str = "
        01 72 00 75 8a b0 86 d6 0a e5 7c a0 46 52 a6 87 10 e6 30 de 01 07 73 74 65 76 65
        02 12 c0 23 8d af 7e a4 99 d4 8b e3 25 12 a0 ae 5b c7 04 06 c0 a8 00 1c 05 06 00
        00 00 7b 50 12 c5 0b 17 d5 46 cd f7 c0 a0 bf ff bd d3 5a 72 80 18 12 db e0 f4 9f
        db 91 f0 d0 23 71 8f e6 6f 2d e0 07 4f 18 02 71 00 16 04 10 36 d9 3b 94 f1 42 71
        4e 95 06 16 13 64 0e d3 6d";

    /// Packet 8: Access-Accept answering packet 7.
    const ACCESS_ACCEPT_8: &str = "
        02 72 00 66 e6 c4 59 f6 07 63 14 87 65 35 51 64 ac 59 94 14 06 06 00 00 00 02 07
        06 00 00 00 01 08 06 ac 10 03 21 09 06 ff ff ff 00 0a 06 00 00 00 03 0b 09 73 74
        64 2e 70 70 70 0c 06 00 00 05 dc 0d 06 00 00 00 01 4f 06 03 71 00 04 50 12 69 ff
        0a ab 72 16 68 cd 28 25 6d e5 75 73 b9 bd 01 07 73 74 65 76 65";

    #[test]
    fn captured_access_requests_have_valid_message_authenticators() {
        for dump in [ACCESS_REQUEST_1, ACCESS_REQUEST_7] {
            let raw = octets(dump);
            assert_eq!(
                verify_message_authenticator(&raw, SECRET),
                MessageAuthCheck::Valid
            );
            assert_eq!(
                verify_message_authenticator(&raw, b"testing124"),
                MessageAuthCheck::Invalid
            );
            assert_eq!(Packet::decode(&raw).unwrap().encode().unwrap(), raw);
        }
    }

    #[test]
    fn captured_user_passwords_decrypt() {
        for (dump, expected) in [
            (ACCESS_REQUEST_1, &b"bad"[..]),
            (ACCESS_REQUEST_7, b"testing"),
        ] {
            let request = Packet::decode(&octets(dump)).unwrap();
            let hidden = request.attr(USER_PASSWORD).unwrap();
            let password = decrypt_user_password(hidden, SECRET, &request.authenticator).unwrap();
            assert_eq!(password, expected);
            assert_eq!(request.string(USER_NAME).as_deref(), Some("steve"));
        }
    }

    #[test]
    fn captured_responses_verify_against_their_requests() {
        for (request, response) in [
            (ACCESS_REQUEST_1, ACCESS_CHALLENGE_2),
            (ACCESS_REQUEST_7, ACCESS_ACCEPT_8),
        ] {
            let request = Packet::decode(&octets(request)).unwrap();
            let raw = octets(response);
            assert!(verify_response(&raw, &request.authenticator, SECRET));
            assert!(!verify_response(
                &raw,
                &request.authenticator,
                b"testing124"
            ));
            assert_eq!(Packet::decode(&raw).unwrap().encode().unwrap(), raw);
        }
        // Packet 2 answers packet 1, not packet 7.
        let request_7 = Packet::decode(&octets(ACCESS_REQUEST_7)).unwrap();
        let challenge = octets(ACCESS_CHALLENGE_2);
        assert!(!verify_response(
            &challenge,
            &request_7.authenticator,
            SECRET
        ));
    }

    #[test]
    fn captured_request_keeps_state_and_eap_message_as_raw_octets() {
        let request_7 = Packet::decode(&octets(ACCESS_REQUEST_7)).unwrap();
        assert_eq!(
            request_7.attr(STATE),
            Some(&octets("dbe0f49fdb91f0d023718fe66f2de007")[..])
        );
        assert_eq!(request_7.attrs(EAP_MESSAGE).count(), 1);
    }
}
