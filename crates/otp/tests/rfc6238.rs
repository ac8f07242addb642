//! RFC 6238 Appendix B: every TOTP value, for SHA-1, SHA-256 and SHA-512 (8 digits, X = 30, T0 = 0).

use ichido_otp::{Algorithm, Code, Digits, Secret, Totp, Verified, Window};

/// RFC 6238 Appendix B: (time, T in hex, SHA-1, SHA-256, SHA-512).
type Row = (u64, u64, &'static str, &'static str, &'static str);

const APPENDIX_B: [Row; 6] = [
    (59, 0x0000000000000001, "94287082", "46119246", "90693936"),
    (
        1111111109,
        0x00000000023523EC,
        "07081804",
        "68084774",
        "25091201",
    ),
    (
        1111111111,
        0x00000000023523ED,
        "14050471",
        "67062674",
        "99943326",
    ),
    (
        1234567890,
        0x000000000273EF07,
        "89005924",
        "91819424",
        "93441116",
    ),
    (
        2000000000,
        0x0000000003F940AA,
        "69279037",
        "90698825",
        "38618901",
    ),
    (
        20000000000,
        0x0000000027BC86AA,
        "65353130",
        "77737706",
        "47863826",
    ),
];

/// The RFC 6238 Appendix A seeds: "12345678901234567890" repeated to 20, 32 or 64 bytes.
fn seed(algorithm: Algorithm) -> Secret {
    let bytes: Vec<u8> = b"1234567890"
        .iter()
        .copied()
        .cycle()
        .take(algorithm.secret_len())
        .collect();
    Secret::new(bytes)
}

fn totp(algorithm: Algorithm) -> Totp {
    Totp {
        algorithm,
        digits: Digits::EIGHT,
        period: 30,
        t0: 0,
    }
}

fn check(algorithm: Algorithm, column: fn(&Row) -> &'static str) {
    let totp = totp(algorithm);
    for row in &APPENDIX_B {
        let (time, step, ..) = *row;
        let expected = column(row);
        assert_eq!(totp.step(time), step, "T at {time}");
        assert_eq!(
            totp.generate(&seed(algorithm), time).as_str(),
            expected,
            "{algorithm} at {time}"
        );
        assert_eq!(
            totp.generate_at_step(&seed(algorithm), step).as_str(),
            expected
        );
        let code = Code::parse(expected, Digits::EIGHT).unwrap();
        assert_eq!(
            totp.verify(&seed(algorithm), &code, time, Window::EXACT, 0, None),
            Some(Verified {
                counter: step,
                drift: 0
            })
        );
    }
}

#[test]
fn rfc6238_appendix_b_sha1() {
    check(Algorithm::Sha1, |row| row.2);
}

#[test]
fn rfc6238_appendix_b_sha256() {
    check(Algorithm::Sha256, |row| row.3);
}

#[test]
fn rfc6238_appendix_b_sha512() {
    check(Algorithm::Sha512, |row| row.4);
}

#[test]
fn seeds_are_the_appendix_a_strings() {
    assert_eq!(seed(Algorithm::Sha1).as_bytes(), b"12345678901234567890");
    assert_eq!(
        seed(Algorithm::Sha256).as_bytes(),
        b"12345678901234567890123456789012"
    );
    assert_eq!(
        seed(Algorithm::Sha512).as_bytes(),
        b"1234567890123456789012345678901234567890123456789012345678901234"
    );
}

#[test]
fn code_from_the_previous_step_is_matched_with_negative_drift() {
    let totp = totp(Algorithm::Sha1);
    let code = Code::parse("07081804", Digits::EIGHT).unwrap(); // step 0x23523EC
    let verified = totp.verify(
        &seed(Algorithm::Sha1),
        &code,
        1111111111,
        Window::default(),
        0,
        None,
    );
    assert_eq!(
        verified,
        Some(Verified {
            counter: 0x23523EC,
            drift: -1
        })
    );
    assert_eq!(
        totp.verify(
            &seed(Algorithm::Sha1),
            &code,
            1111111111,
            Window::EXACT,
            0,
            None
        ),
        None
    );
}

#[test]
fn replayed_step_is_not_matched_again() {
    let totp = totp(Algorithm::Sha1);
    let code = Code::parse("14050471", Digits::EIGHT).unwrap(); // step 0x23523ED
    let first = totp
        .verify(
            &seed(Algorithm::Sha1),
            &code,
            1111111111,
            Window::default(),
            0,
            None,
        )
        .unwrap();
    assert_eq!(first.counter, 0x23523ED);
    let replay = totp.verify(
        &seed(Algorithm::Sha1),
        &code,
        1111111111,
        Window::default(),
        0,
        Some(first.counter),
    );
    assert_eq!(replay, None);
    // An older code inside the window is refused once a later step was accepted.
    let older = Code::parse("07081804", Digits::EIGHT).unwrap();
    assert_eq!(
        totp.verify(
            &seed(Algorithm::Sha1),
            &older,
            1111111111,
            Window::default(),
            0,
            Some(first.counter)
        ),
        None
    );
}

#[test]
fn learned_drift_moves_the_window() {
    let totp = totp(Algorithm::Sha1);
    let code = Code::parse("14050471", Digits::EIGHT).unwrap(); // step 0x23523ED
    // The clock reads 5 steps later, the token is known to run 5 steps behind.
    let later = 1111111111 + 5 * 30;
    assert_eq!(
        totp.verify(&seed(Algorithm::Sha1), &code, later, Window::EXACT, 0, None),
        None
    );
    assert_eq!(
        totp.verify(
            &seed(Algorithm::Sha1),
            &code,
            later,
            Window::EXACT,
            -5,
            None
        ),
        Some(Verified {
            counter: 0x23523ED,
            drift: -5
        })
    );
}

#[test]
fn period_and_epoch_shift_the_step() {
    let totp = Totp {
        algorithm: Algorithm::Sha1,
        digits: Digits::SIX,
        period: 60,
        t0: 1000,
    };
    assert_eq!(totp.step(999), 0);
    assert_eq!(totp.step(1000), 0);
    assert_eq!(totp.step(1059), 0);
    assert_eq!(totp.step(1060), 1);
    assert!(Totp::new(Algorithm::Sha1, Digits::SIX, 0, 0).is_err());
    let zero = Totp {
        period: 0,
        ..Totp::default()
    };
    assert_eq!(zero.step(5), 5, "a zero period never divides by zero");
}

#[test]
fn window_at_the_ends_of_time_does_not_overflow() {
    let totp = totp(Algorithm::Sha1);
    let code = totp.generate_at_step(&seed(Algorithm::Sha1), 0);
    assert_eq!(
        totp.verify(
            &seed(Algorithm::Sha1),
            &code,
            0,
            Window::symmetric(3),
            i64::MIN,
            None
        ),
        None
    );
    assert_eq!(
        totp.verify(
            &seed(Algorithm::Sha1),
            &code,
            10,
            Window::symmetric(u64::MAX / 2),
            -1,
            Some(u64::MAX)
        ),
        None
    );
    let top = Totp { period: 1, ..totp };
    let last = top.generate_at_step(&seed(Algorithm::Sha1), u64::MAX);
    assert_eq!(
        top.verify(
            &seed(Algorithm::Sha1),
            &last,
            u64::MAX,
            Window::symmetric(2),
            0,
            None
        ),
        Some(Verified {
            counter: u64::MAX,
            drift: 0
        })
    );
    assert_eq!(
        top.verify(
            &seed(Algorithm::Sha1),
            &last,
            u64::MAX,
            Window::symmetric(2),
            i64::MAX,
            None
        ),
        None
    );
}
