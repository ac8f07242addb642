//! Differential test: our TOTP against the independent `totp-rs` crate.

use ichido_otp::{Algorithm, Code, Digits, Secret, Totp, Window};
use proptest::prelude::*;
use totp_rs::{Algorithm as TheirAlgorithm, TOTP};

fn theirs(alg: Algorithm) -> TheirAlgorithm {
    match alg {
        Algorithm::Sha1 => TheirAlgorithm::SHA1,
        Algorithm::Sha256 => TheirAlgorithm::SHA256,
        Algorithm::Sha512 => TheirAlgorithm::SHA512,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn totp_matches_totp_rs_for_random_secrets_times_algorithms_and_digits(
        alg in prop_oneof![Just(Algorithm::Sha1), Just(Algorithm::Sha256), Just(Algorithm::Sha512)],
        digits in 6u8..=8,
        secret in prop::collection::vec(any::<u8>(), 16..=64),
        period in prop_oneof![Just(30u64), Just(60), 1u64..600],
        time in any::<u32>().prop_map(u64::from),
    ) {
        let ours = Totp { algorithm: alg, digits: Digits::new(digits).unwrap(), period, t0: 0 };
        let reference = TOTP::new_unchecked(theirs(alg), usize::from(digits), 1, period, secret.clone());
        let expected = reference.generate(time);
        let secret = Secret::new(secret);
        let generated = ours.generate(&secret, time);
        prop_assert_eq!(generated.as_str(), expected.as_str());
        // Their code also verifies with ours, and theirs accepts ours within their skew of 1.
        let code = Code::parse(&expected, ours.digits).unwrap();
        prop_assert!(ours.verify(&secret, &code, time, Window::EXACT, 0, None).is_some());
        let previous = ours.generate(&secret, time.saturating_sub(period));
        prop_assert!(reference.check(previous.as_str(), time));
    }
}
