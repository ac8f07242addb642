//! Properties of the codec over arbitrary input (RFC 2865 §3, §5, §5.2).

use ichido_radius::{
    Attribute, Code, MessageAuthCheck, Packet, decrypt_user_password, encrypt_user_password,
    verify_message_authenticator, verify_response,
};
use proptest::prelude::*;

fn attribute() -> impl Strategy<Value = Attribute> {
    (any::<u8>(), prop::collection::vec(any::<u8>(), 0..=253))
        .prop_map(|(typ, value)| Attribute { typ, value })
}

/// Packets that fit in 4096 octets: at most 16 attributes of at most
/// 253 octets would not, so sizes are bounded by filtering on encode.
fn packet() -> impl Strategy<Value = Packet> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<[u8; 16]>(),
        prop::collection::vec(attribute(), 0..24),
    )
        .prop_map(|(code, identifier, authenticator, attributes)| Packet {
            code: Code::from(code),
            identifier,
            authenticator,
            attributes,
        })
        .prop_filter("fits in 4096 octets", |p| {
            20 + p
                .attributes
                .iter()
                .map(|a| a.value.len() + 2)
                .sum::<usize>()
                <= 4096
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_of_encode_is_identity(p in packet()) {
        let raw = p.encode().unwrap();
        prop_assert_eq!(raw.len(), usize::from(u16::from_be_bytes([raw[2], raw[3]])));
        prop_assert_eq!(Packet::decode(&raw).unwrap(), p);
    }

    #[test]
    fn decode_never_panics_on_arbitrary_octets(raw in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = Packet::decode(&raw);
        let _ = verify_message_authenticator(&raw, b"s");
        let _ = verify_response(&raw, &[0; 16], b"s");
    }

    #[test]
    fn decode_never_panics_on_plausible_headers(
        code in any::<u8>(),
        length in 0u16..=4200,
        body in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut raw = vec![code, 0];
        raw.extend_from_slice(&length.to_be_bytes());
        raw.extend_from_slice(&[0; 16]);
        raw.extend_from_slice(&body);
        if let Ok(p) = Packet::decode(&raw) {
            // Whatever decodes re-encodes to the octets within Length.
            prop_assert_eq!(p.encode().unwrap(), &raw[..usize::from(length)]);
        }
    }

    #[test]
    fn decrypt_of_encrypt_is_identity(
        password in prop::collection::vec(any::<u8>(), 1..=128)
            .prop_filter("no trailing NUL", |p| p.last() != Some(&0)),
        secret in prop::collection::vec(any::<u8>(), 1..64),
        authenticator in any::<[u8; 16]>(),
    ) {
        let hidden = encrypt_user_password(&password, &secret, &authenticator).unwrap();
        prop_assert_eq!(hidden.len() % 16, 0);
        prop_assert_eq!(hidden.len(), password.len().div_ceil(16) * 16);
        prop_assert_eq!(decrypt_user_password(&hidden, &secret, &authenticator).unwrap(), password);
    }

    #[test]
    fn signed_requests_and_responses_verify(p in packet(), secret in prop::collection::vec(any::<u8>(), 1..64)) {
        // Leave room for the 18-octet Message-Authenticator.
        prop_assume!(p.encode().unwrap().len() + 18 <= 4096);
        let mut request = p.clone();
        request.code = Code::AccessRequest;
        let raw = request.encode_request(&secret).unwrap();
        prop_assert_eq!(verify_message_authenticator(&raw, &secret), MessageAuthCheck::Valid);
        let reply = Packet::reply(&request, Code::AccessChallenge);
        let answer = reply.encode_response(&request.authenticator, &secret).unwrap();
        prop_assert!(verify_response(&answer, &request.authenticator, &secret));
    }
}
