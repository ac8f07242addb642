//! RFC 6287 Appendix C: every OCRA test vector (one-way, mutual and signature).

use ichido_otp::ocra::{self, DataInput, OcraError, Pin, Role, Suite};
use ichido_otp::{Secret, Verified, Window};

/// The Appendix C keys: "1234567890" repeated to 20, 32 or 64 bytes.
fn key(len: usize) -> Secret {
    Secret::new(b"1234567890".iter().copied().cycle().take(len).collect())
}

/// The Appendix C PIN "1234", hashed with SHA-1 as in the RFC tables.
const PIN_1234_SHA1: &str = "7110eda4d09e062aa5e4a390b0a572ac0d2c0220";

/// The Appendix C timestamp: 0x132d0b6 minutes since the epoch ("Mar 25 2008, 12:06:30 GMT").
const T_132D0B6_SECONDS: u64 = 0x132d0b6 * 60;

fn suite(text: &str) -> Suite {
    text.parse().unwrap()
}

fn check(suite: &Suite, key: &Secret, input: DataInput, expected: &str) {
    let response = ocra::compute(suite, key, &input).unwrap_or_else(|e| panic!("{suite}: {e}"));
    assert_eq!(response.as_str(), expected, "{suite} {:?}", input.question);
    assert!(ocra::verify(suite, key, &input, expected).unwrap());
}

#[test]
fn rfc6287_appendix_c1_ocra_1_hotp_sha1_6_qn08() {
    let suite = suite("OCRA-1:HOTP-SHA1-6:QN08");
    for (q, expected) in [
        ("00000000", "237653"),
        ("11111111", "243178"),
        ("22222222", "653583"),
        ("33333333", "740991"),
        ("44444444", "608993"),
        ("55555555", "388898"),
        ("66666666", "816933"),
        ("77777777", "224598"),
        ("88888888", "750600"),
        ("99999999", "294470"),
    ] {
        check(&suite, &key(20), DataInput::challenge(q), expected);
    }
}

#[test]
fn rfc6287_appendix_c1_ocra_1_hotp_sha256_8_c_qn08_psha1() {
    let suite = suite("OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1");
    for (c, expected) in [
        (0, "65347737"),
        (1, "86775851"),
        (2, "78192410"),
        (3, "71565254"),
        (4, "10104329"),
        (5, "65983500"),
        (6, "70069104"),
        (7, "91771096"),
        (8, "75011558"),
        (9, "08522129"),
    ] {
        let hashed = DataInput::challenge("12345678")
            .with_counter(c)
            .with_pin(Pin::from_hex_hash(PIN_1234_SHA1).unwrap());
        check(&suite, &key(32), hashed, expected);
        let plain = DataInput::challenge("12345678")
            .with_counter(c)
            .with_pin(Pin::Plain("1234".into()));
        check(&suite, &key(32), plain, expected);
    }
}

#[test]
fn rfc6287_appendix_c1_ocra_1_hotp_sha256_8_qn08_psha1() {
    let suite = suite("OCRA-1:HOTP-SHA256-8:QN08-PSHA1");
    for (q, expected) in [
        ("00000000", "83238735"),
        ("11111111", "01501458"),
        ("22222222", "17957585"),
        ("33333333", "86776967"),
        ("44444444", "86807031"),
    ] {
        check(
            &suite,
            &key(32),
            DataInput::challenge(q).with_pin(Pin::Plain("1234".into())),
            expected,
        );
    }
}

#[test]
fn rfc6287_appendix_c1_ocra_1_hotp_sha512_8_c_qn08() {
    let suite = suite("OCRA-1:HOTP-SHA512-8:C-QN08");
    for (c, q, expected) in [
        (0, "00000000", "07016083"),
        (1, "11111111", "63947962"),
        (2, "22222222", "70123924"),
        (3, "33333333", "25341727"),
        (4, "44444444", "33203315"),
        (5, "55555555", "34205738"),
        (6, "66666666", "44343969"),
        (7, "77777777", "51946085"),
        (8, "88888888", "20403879"),
        (9, "99999999", "31409299"),
    ] {
        check(
            &suite,
            &key(64),
            DataInput::challenge(q).with_counter(c),
            expected,
        );
    }
}

#[test]
fn rfc6287_appendix_c1_ocra_1_hotp_sha512_8_qn08_t1m() {
    let suite = suite("OCRA-1:HOTP-SHA512-8:QN08-T1M");
    for (q, expected) in [
        ("00000000", "95209754"),
        ("11111111", "55907591"),
        ("22222222", "22048402"),
        ("33333333", "24218844"),
        ("44444444", "36209546"),
    ] {
        check(
            &suite,
            &key(64),
            DataInput::challenge(q).with_timestamp(T_132D0B6_SECONDS),
            expected,
        );
        // Any second within the same minute gives the same step.
        check(
            &suite,
            &key(64),
            DataInput::challenge(q).with_timestamp(T_132D0B6_SECONDS + 59),
            expected,
        );
    }
}

#[test]
fn rfc6287_appendix_c2_mutual_sha256_server_and_client() {
    let suite = suite("OCRA-1:HOTP-SHA256-8:QA08");
    for (cli, srv, server_response, client_response) in [
        ("CLI22220", "SRV11110", "28247970", "15510767"),
        ("CLI22221", "SRV11111", "01984843", "90175646"),
        ("CLI22222", "SRV11112", "65387857", "33777207"),
        ("CLI22223", "SRV11113", "03351211", "95285278"),
        ("CLI22224", "SRV11114", "83412541", "28934924"),
    ] {
        suite.check_challenge(cli).unwrap();
        suite.check_challenge(srv).unwrap();
        check(
            &suite,
            &key(32),
            DataInput::mutual(Role::Server, cli, srv),
            server_response,
        );
        check(
            &suite,
            &key(32),
            DataInput::mutual(Role::Client, cli, srv),
            client_response,
        );
    }
}

#[test]
fn rfc6287_appendix_c2_mutual_sha512_server_and_psha1_client() {
    let server = suite("OCRA-1:HOTP-SHA512-8:QA08");
    let client = suite("OCRA-1:HOTP-SHA512-8:QA08-PSHA1");
    for (cli, srv, server_response, client_response) in [
        ("CLI22220", "SRV11110", "79496648", "18806276"),
        ("CLI22221", "SRV11111", "76831980", "70020315"),
        ("CLI22222", "SRV11112", "12250499", "01600026"),
        ("CLI22223", "SRV11113", "90856481", "18951020"),
        ("CLI22224", "SRV11114", "12761449", "32528969"),
    ] {
        check(
            &server,
            &key(64),
            DataInput::mutual(Role::Server, cli, srv),
            server_response,
        );
        let input = DataInput::mutual(Role::Client, cli, srv)
            .with_pin(Pin::from_hex_hash(PIN_1234_SHA1).unwrap());
        check(&client, &key(64), input, client_response);
    }
}

#[test]
fn rfc6287_appendix_c3_plain_signature_sha256_qa08() {
    let suite = suite("OCRA-1:HOTP-SHA256-8:QA08");
    for (q, expected) in [
        ("SIG10000", "53095496"),
        ("SIG11000", "04110475"),
        ("SIG12000", "31331128"),
        ("SIG13000", "76028668"),
        ("SIG14000", "46554205"),
    ] {
        check(&suite, &key(32), DataInput::challenge(q), expected);
    }
}

#[test]
fn rfc6287_appendix_c3_plain_signature_sha512_qa10_t1m() {
    let suite = suite("OCRA-1:HOTP-SHA512-8:QA10-T1M");
    for (q, expected) in [
        ("SIG1000000", "77537423"),
        ("SIG1100000", "31970405"),
        ("SIG1200000", "10235557"),
        ("SIG1300000", "95213541"),
        ("SIG1400000", "65360607"),
    ] {
        check(
            &suite,
            &key(64),
            DataInput::challenge(q).with_timestamp(T_132D0B6_SECONDS),
            expected,
        );
    }
}

#[test]
fn wrong_responses_and_wrong_inputs_are_refused() {
    let suite = suite("OCRA-1:HOTP-SHA1-6:QN08");
    let input = DataInput::challenge("00000000");
    assert!(!ocra::verify(&suite, &key(20), &input, "237654").unwrap());
    assert!(!ocra::verify(&suite, &key(20), &input, "0237653").unwrap());
    assert!(!ocra::verify(&suite, &key(20), &input, "23765").unwrap());
    assert!(!ocra::verify(&suite, &key(20), &input, "abcdef").unwrap());
    assert!(
        !ocra::verify(
            &suite,
            &key(20),
            &DataInput::challenge("11111111"),
            "237653"
        )
        .unwrap()
    );
}

#[test]
fn counter_window_finds_a_client_that_ran_ahead() {
    let suite = suite("OCRA-1:HOTP-SHA512-8:C-QN08");
    // Appendix C: counter 7 with Q 77777777 gives 51946085.
    let input = DataInput::challenge("77777777").with_counter(4);
    let window = Window {
        behind: 0,
        ahead: 5,
    };
    assert_eq!(
        ocra::verify_in_window(&suite, &key(64), &input, "51946085", window).unwrap(),
        Some(Verified {
            counter: 7,
            drift: 3
        })
    );
    assert_eq!(
        ocra::verify_in_window(
            &suite,
            &key(64),
            &input,
            "51946085",
            Window {
                behind: 0,
                ahead: 2
            }
        )
        .unwrap(),
        None
    );
}

#[test]
fn time_window_accepts_a_neighbouring_minute() {
    let suite = suite("OCRA-1:HOTP-SHA512-8:QA10-T1M");
    let input = DataInput::challenge("SIG1000000").with_timestamp(T_132D0B6_SECONDS + 60);
    assert!(!ocra::verify(&suite, &key(64), &input, "77537423").unwrap());
    assert_eq!(
        ocra::verify_in_window(&suite, &key(64), &input, "77537423", Window::default()).unwrap(),
        Some(Verified {
            counter: 0x132d0b6,
            drift: -1
        })
    );
}

#[test]
fn inputs_that_do_not_fit_the_suite_are_errors() {
    let with_c = suite("OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1");
    let pin = || Pin::Plain("1234".into());
    let no_counter = DataInput::challenge("12345678").with_pin(pin());
    assert_eq!(
        ocra::compute(&with_c, &key(32), &no_counter).unwrap_err(),
        OcraError::Missing("counter C")
    );
    let no_pin = DataInput::challenge("12345678").with_counter(1);
    assert_eq!(
        ocra::compute(&with_c, &key(32), &no_pin).unwrap_err(),
        OcraError::Missing("PIN P")
    );
    let plain = suite("OCRA-1:HOTP-SHA1-6:QN08");
    let extra = DataInput::challenge("12345678").with_counter(1);
    assert_eq!(
        ocra::compute(&plain, &key(20), &extra).unwrap_err(),
        OcraError::Unexpected("counter C")
    );
    assert_eq!(
        ocra::compute(&plain, &key(20), &DataInput::default()).unwrap_err(),
        OcraError::Missing("question Q")
    );
    assert!(matches!(
        ocra::compute(&plain, &key(20), &DataInput::challenge("12AB")),
        Err(OcraError::QuestionChar { format: "QN", .. })
    ));
    let session = suite("OCRA-1:HOTP-SHA512-8:QA08-S064");
    let long = DataInput::challenge("SIG10000").with_session(vec![1; 65]);
    assert!(matches!(
        ocra::compute(&session, &key(64), &long),
        Err(OcraError::SessionTooLong { max: 64, found: 65 })
    ));
    let zero_hours = suite("OCRA-1:HOTP-SHA1-6:QN08-T0H");
    let timed = DataInput::challenge("12345678").with_timestamp(1);
    assert_eq!(
        ocra::compute(&zero_hours, &key(20), &timed).unwrap_err(),
        OcraError::ZeroTimeStep
    );
    for err in [
        OcraError::Missing("counter C"),
        OcraError::ZeroTimeStep,
        OcraError::QuestionTooLong,
    ] {
        assert!(err.to_string().contains("RFC 6287"), "{err}");
    }
}

#[test]
fn session_information_is_zero_padded_on_the_left() {
    let suite = suite("OCRA-1:HOTP-SHA256-8:QA08-S004");
    let short = DataInput::challenge("SIG10000").with_session(vec![0xab]);
    let padded = DataInput::challenge("SIG10000").with_session(vec![0, 0, 0, 0xab]);
    assert_eq!(
        ocra::compute(&suite, &key(32), &short).unwrap(),
        ocra::compute(&suite, &key(32), &padded).unwrap()
    );
}

#[test]
fn untruncated_suite_returns_the_whole_hmac_in_hex() {
    let suite = suite("OCRA-1:HOTP-SHA256-0:QH08");
    let input = DataInput::challenge("DEADBEEF");
    let response = ocra::compute(&suite, &key(32), &input).unwrap();
    assert_eq!(response.as_str().len(), 64);
    assert!(ocra::verify(&suite, &key(32), &input, &response.as_str().to_uppercase()).unwrap());
    assert!(!ocra::verify(&suite, &key(32), &input, &response.as_str()[..62]).unwrap());
}

#[test]
fn challenges_are_checked_against_the_suite_length_and_format() {
    let suite = suite("OCRA-1:HOTP-SHA1-6:QN08");
    assert!(suite.check_challenge("1234").is_ok());
    assert!(matches!(
        suite.check_challenge("123"),
        Err(OcraError::ChallengeLength { max: 8, found: 3 })
    ));
    assert!(matches!(
        suite.check_challenge("123456789"),
        Err(OcraError::ChallengeLength { .. })
    ));
    assert!(matches!(
        suite.check_challenge("1234abcd"),
        Err(OcraError::QuestionChar { .. })
    ));
    let mut rng = rand::rngs::OsRng;
    for text in [
        "OCRA-1:HOTP-SHA1-6:QN08",
        "OCRA-1:HOTP-SHA1-6:QA64",
        "OCRA-1:HOTP-SHA1-6:QH40",
    ] {
        let suite = self::suite(text);
        let challenge = suite.generate_challenge(&mut rng);
        assert_eq!(challenge.len(), suite.challenge_len());
        suite.check_challenge(&challenge).unwrap();
        ocra::compute(&suite, &key(20), &DataInput::challenge(challenge)).unwrap();
    }
}
