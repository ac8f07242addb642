//! RFC 4226 Appendix D: every HOTP value for the secret "12345678901234567890".

use ichido_otp::{Algorithm, Code, Digits, Hotp, Secret, Verified};

/// RFC 4226 Appendix D, Table 2: count → HOTP value (6 digits, HMAC-SHA-1).
const APPENDIX_D: [(u64, &str); 10] = [
    (0, "755224"),
    (1, "287082"),
    (2, "359152"),
    (3, "969429"),
    (4, "338314"),
    (5, "254676"),
    (6, "287922"),
    (7, "162583"),
    (8, "399871"),
    (9, "520489"),
];

fn secret() -> Secret {
    Secret::new(b"12345678901234567890".to_vec())
}

fn hotp() -> Hotp {
    Hotp {
        algorithm: Algorithm::Sha1,
        digits: Digits::SIX,
    }
}

#[test]
fn rfc4226_appendix_d_every_value() {
    for (count, expected) in APPENDIX_D {
        assert_eq!(
            hotp().generate(&secret(), count).as_str(),
            expected,
            "count {count}"
        );
    }
}

#[test]
fn rfc4226_appendix_d_every_value_verifies_at_its_own_count() {
    for (count, expected) in APPENDIX_D {
        let code = Code::parse(expected, Digits::SIX).unwrap();
        assert_eq!(
            hotp().verify(&secret(), &code, 0, 9),
            Some(Verified {
                counter: count,
                drift: count as i64
            })
        );
        assert_eq!(
            hotp().verify(&secret(), &code, count, 0),
            Some(Verified {
                counter: count,
                drift: 0
            })
        );
    }
}

#[test]
fn look_ahead_does_not_reach_past_its_end() {
    let code = Code::parse("520489", Digits::SIX).unwrap(); // count 9
    assert_eq!(hotp().verify(&secret(), &code, 0, 8), None);
    assert_eq!(
        hotp().verify(&secret(), &code, 5, 4),
        Some(Verified {
            counter: 9,
            drift: 4
        })
    );
}

#[test]
fn counter_already_used_is_not_matched_again() {
    // After accepting count 3 the next start is 4: the count 3 code must fail.
    let code = Code::parse("969429", Digits::SIX).unwrap();
    assert_eq!(hotp().verify(&secret(), &code, 4, 100), None);
}

#[test]
fn resync_finds_the_counter_of_two_consecutive_codes() {
    let first = Code::parse("254676", Digits::SIX).unwrap(); // count 5
    let second = Code::parse("287922", Digits::SIX).unwrap(); // count 6
    assert_eq!(
        hotp().resync(&secret(), &first, &second, 0, 9),
        Some(Verified {
            counter: 6,
            drift: 6
        })
    );
    assert_eq!(hotp().resync(&secret(), &second, &first, 0, 9), None);
    assert_eq!(hotp().resync(&secret(), &first, &second, 0, 4), None);
    assert_eq!(hotp().resync(&secret(), &first, &second, u64::MAX, 9), None);
}

#[test]
fn code_of_another_length_never_verifies() {
    // The 8-digit form of count 0 is "84755224": a 6-digit verifier must refuse it, and the
    // 6-digit code must not verify against an 8-digit verifier.
    let eight = Hotp {
        algorithm: Algorithm::Sha1,
        digits: Digits::EIGHT,
    };
    assert_eq!(eight.generate(&secret(), 0).as_str(), "84755224");
    let six_digit = Code::parse("755224", Digits::SIX).unwrap();
    assert_eq!(eight.verify(&secret(), &six_digit, 0, 10), None);
    let eight_digit = Code::parse("84755224", Digits::EIGHT).unwrap();
    assert_eq!(hotp().verify(&secret(), &eight_digit, 0, 10), None);
}

#[test]
fn look_ahead_saturates_at_the_last_counter() {
    let last = hotp().generate(&secret(), u64::MAX);
    assert_eq!(
        hotp().verify(&secret(), &last, u64::MAX - 1, u64::MAX),
        Some(Verified {
            counter: u64::MAX,
            drift: 1
        })
    );
}
