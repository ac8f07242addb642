//! Property tests: verification matches only the code's own counter, parsers never panic, and
//! every encoding round-trips.

use ichido_otp::ocra::Suite;
use ichido_otp::{Algorithm, Code, Digits, Hotp, KeyUri, Secret, Totp, UriKind, Window, base32};
use proptest::prelude::*;

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

fn digits() -> impl Strategy<Value = Digits> {
    (6u8..=8).prop_map(|d| Digits::new(d).unwrap())
}

fn secret() -> impl Strategy<Value = Secret> {
    prop::collection::vec(any::<u8>(), 16..=64).prop_map(Secret::new)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn hotp_code_verifies_at_its_own_counter_within_the_look_ahead(
        alg in algorithm(), digits in digits(), secret in secret(),
        counter in 0u64..1_000_000, start_back in 0u64..20, extra in 0u64..20,
    ) {
        let hotp = Hotp { algorithm: alg, digits };
        let code = hotp.generate(&secret, counter);
        let start = counter.saturating_sub(start_back);
        let look_ahead = (counter - start) + extra;
        let verified = hotp.verify(&secret, &code, start, look_ahead).expect("own counter inside the window");
        // A collision with an earlier counter is possible (10^-6 per counter); the matched
        // counter then still produces the same code.
        prop_assert!(verified.counter <= counter);
        prop_assert_eq!(hotp.generate(&secret, verified.counter), code.clone());
        prop_assert_eq!(verified.drift, (verified.counter - start) as i64);
        // Starting after the counter (as after accepting it) never returns it.
        if let Some(again) = hotp.verify(&secret, &code, counter + 1, extra) {
            prop_assert!(again.counter > counter);
        }
    }

    #[test]
    fn totp_code_matches_only_its_own_step_and_never_at_or_before_after(
        alg in algorithm(), digits in digits(), secret in secret(),
        step in 10u64..1_000_000_000, offset in -3i64..=3, behind in 0u64..4, ahead in 0u64..4,
        last_back in 0u64..6,
    ) {
        let totp = Totp { algorithm: alg, digits, period: 30, t0: 0 };
        let code = totp.generate_at_step(&secret, step);
        let now_step = step.checked_add_signed(offset).unwrap();
        let unix_time = now_step * 30 + 7;
        let window = Window { behind, ahead };
        let inside = offset <= behind as i64 && -offset <= ahead as i64;
        match totp.verify(&secret, &code, unix_time, window, 0, None) {
            Some(v) => {
                prop_assert_eq!(totp.generate_at_step(&secret, v.counter), code.clone());
                prop_assert_eq!(v.drift, v.counter as i64 - now_step as i64);
                prop_assert!(v.counter + behind >= now_step && v.counter <= now_step + ahead);
                if v.counter != step {
                    // Only an accidental collision can match another step; the real one must
                    // come later in the window when inside it.
                    prop_assert!(!inside || v.counter < step);
                }
            }
            None => prop_assert!(!inside, "own step inside the window was not matched"),
        }
        let after = step - last_back; // a last accepted step at or before the code's step
        if let Some(v) = totp.verify(&secret, &code, unix_time, window, 0, Some(after)) {
            prop_assert!(v.counter > after);
        }
        prop_assert_eq!(totp.verify(&secret, &code, unix_time, window, 0, Some(step + 4)), None);
    }

    #[test]
    fn base32_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
        let text = base32::encode(&bytes);
        prop_assert!(!text.contains('='));
        prop_assert_eq!(base32::decode(&text).unwrap(), bytes.clone());
        prop_assert_eq!(base32::decode(&text.to_lowercase()).unwrap(), bytes);
    }

    #[test]
    fn base32_decode_never_panics(text in ".{0,64}") {
        let _ = base32::decode(&text);
    }

    #[test]
    fn code_parse_never_panics(text in ".{0,16}", d in digits()) {
        if let Ok(code) = Code::parse(&text, d) {
            prop_assert_eq!(code.as_str(), text.as_str());
            prop_assert_eq!(code.len(), usize::from(d.get()));
        }
    }

    #[test]
    fn short_code_never_equals_its_zero_padded_form(n in 0u32..1000) {
        let short = format!("{n}");
        let padded = format!("{n:06}");
        prop_assert!(Code::parse(&short, Digits::SIX).is_err() || short == padded);
        let six = Code::parse(&padded, Digits::SIX).unwrap();
        let eight = Code::parse(&format!("{n:08}"), Digits::EIGHT).unwrap();
        prop_assert_ne!(six, eight);
    }

    #[test]
    fn suite_parse_never_panics(text in "(OCRA-1:HOTP-SHA(1|256|512)-[0-9]{1,2}:)?[A-Z0-9:-]{0,24}") {
        if let Ok(suite) = Suite::parse(&text) {
            prop_assert_eq!(suite.to_string(), text);
        }
    }

    #[test]
    fn suite_parse_never_panics_on_arbitrary_text(text in "\\PC{0,40}") {
        let _ = Suite::parse(&text);
    }

    #[test]
    fn key_uri_build_then_parse_round_trips(
        issuer in proptest::option::of("[^:]{1,12}"),
        account in "[^: ][^:]{0,20}",
        secret in secret(),
        alg in algorithm(), digits in digits(),
        hotp in any::<bool>(), period in 1u64..10_000, counter in any::<u64>(),
    ) {
        let kind = if hotp { UriKind::Hotp { counter } } else { UriKind::Totp { period } };
        let uri = KeyUri { kind, issuer, account, secret, algorithm: alg, digits };
        let text = uri.to_string();
        prop_assert_eq!(KeyUri::parse(&text).unwrap(), uri);
    }

    #[test]
    fn key_uri_parse_never_panics(text in "otpauth://(totp|hotp)/\\PC{0,60}") {
        let _ = KeyUri::parse(&text);
    }
}
