//! Codec costs on the server's hot path: reading an Access-Request and
//! writing its answer.

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{Criterion, criterion_group, criterion_main};
use ichido_radius::dictionary::*;
use ichido_radius::{
    Code, MessageAuthCheck, Packet, decrypt_user_password, encrypt_user_password,
    verify_message_authenticator,
};

const SECRET: &[u8] = b"a-shared-secret-of-reasonable-length";
const REQUEST_AUTHENTICATOR: [u8; 16] = [
    0x5b, 0x1e, 0x93, 0x04, 0xc7, 0x2a, 0x6d, 0xf0, 0x18, 0x8e, 0x41, 0xb9, 0x73, 0x0c, 0xd5, 0x62,
];

/// An Access-Request as a VPN gateway sends it: user, password with an OTP,
/// NAS identity, and a Message-Authenticator.
fn typical_access_request() -> Vec<u8> {
    let mut request = Packet::new_access_request(17, REQUEST_AUTHENTICATOR);
    let hidden = encrypt_user_password(b"hunter2-492039", SECRET, &REQUEST_AUTHENTICATOR).unwrap();
    request
        .add_string(USER_NAME, "alice@example.com")
        .add(USER_PASSWORD, hidden)
        .add_ipv4(NAS_IP_ADDRESS, Ipv4Addr::new(10, 0, 0, 1))
        .add_u32(NAS_PORT, 1234)
        .add_u32(NAS_PORT_TYPE, 5)
        .add_string(NAS_IDENTIFIER, "vpn-gw-1")
        .add_string(CALLING_STATION_ID, "203.0.113.7")
        .add_u32(SERVICE_TYPE, 8);
    request.encode_request(SECRET).unwrap()
}

fn bench(c: &mut Criterion) {
    let raw = typical_access_request();
    c.bench_function("decode_verify_decrypt_access_request", |b| {
        b.iter(|| {
            let raw = black_box(&raw[..]);
            let request = Packet::decode(raw).unwrap();
            assert_eq!(
                verify_message_authenticator(raw, SECRET),
                MessageAuthCheck::Valid
            );
            let hidden = request.attr(USER_PASSWORD).unwrap();
            decrypt_user_password(hidden, SECRET, &request.authenticator).unwrap()
        })
    });

    let request = Packet::decode(&raw).unwrap();
    let mut accept = Packet::reply(&request, Code::AccessAccept);
    accept
        .add_string(REPLY_MESSAGE, "Welcome, alice")
        .add(CLASS, "ichido:session:7f3a9c")
        .add_u32(SESSION_TIMEOUT, 28_800);
    c.bench_function("encode_response_access_accept", |b| {
        b.iter(|| {
            black_box(&accept)
                .encode_response(&request.authenticator, SECRET)
                .unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
