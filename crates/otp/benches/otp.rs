//! Cost of one code and of one ±1-step verification, against one bare HMAC-SHA-1.
//!
//! Targets (as ratios to `hmac_sha1_bare` in the same run): one code ≤ 1.3×, a ±1-step TOTP
//! verification (3 candidates) ≤ 2×.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use ichido_otp::{Algorithm, Code, Digits, Hotp, Secret, Totp, Window};
use sha1::Sha1;

const KEY: &[u8] = b"12345678901234567890";
const TIME: u64 = 1_111_111_111;

fn bench(c: &mut Criterion) {
    let secret = Secret::new(KEY.to_vec());
    let hotp = Hotp {
        algorithm: Algorithm::Sha1,
        digits: Digits::SIX,
    };
    let totp = Totp {
        algorithm: Algorithm::Sha1,
        digits: Digits::SIX,
        period: 30,
        t0: 0,
    };

    c.bench_function("hmac_sha1_bare", |b| {
        b.iter(|| {
            let mut mac = Hmac::<Sha1>::new_from_slice(black_box(KEY)).expect("any key length");
            mac.update(&black_box(7u64).to_be_bytes());
            black_box(mac.finalize().into_bytes())
        })
    });
    c.bench_function("hotp_generate", |b| {
        b.iter(|| black_box(hotp.generate(black_box(&secret), black_box(7))))
    });
    c.bench_function("totp_generate", |b| {
        b.iter(|| black_box(totp.generate(black_box(&secret), black_box(TIME))))
    });

    // The code of the last candidate (now + 1), so all three candidates are computed.
    let last = totp.generate_at_step(&secret, totp.step(TIME) + 1);
    c.bench_function("totp_verify_window_1_match_last", |b| {
        b.iter(|| {
            black_box(totp.verify(
                black_box(&secret),
                black_box(&last),
                TIME,
                Window::symmetric(1),
                0,
                None,
            ))
        })
    });
    // A code that none of the three candidates produces.
    let now = totp.step(TIME);
    let candidates: Vec<Code> = (now - 1..=now + 1)
        .map(|step| totp.generate_at_step(&secret, step))
        .collect();
    let wrong = (0..1_000_000u32)
        .map(|n| Code::parse(&format!("{n:06}"), Digits::SIX).expect("six digits"))
        .find(|code| !candidates.contains(code))
        .expect("some code misses three candidates");
    c.bench_function("totp_verify_window_1_no_match", |b| {
        b.iter(|| {
            black_box(totp.verify(
                black_box(&secret),
                black_box(&wrong),
                TIME,
                Window::symmetric(1),
                0,
                None,
            ))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
