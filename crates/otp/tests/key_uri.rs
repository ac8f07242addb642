//! Key URIs: building, strict parsing and the errors for every broken rule.

use ichido_otp::{Algorithm, Base32Error, Digits, Hotp, KeyUri, Secret, Totp, UriError, UriKind};

const SECRET_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

fn example() -> KeyUri {
    KeyUri {
        kind: UriKind::Totp { period: 30 },
        issuer: Some("Issuer".into()),
        account: "alice@example.com".into(),
        secret: Secret::from_base32(SECRET_B32).unwrap(),
        algorithm: Algorithm::Sha1,
        digits: Digits::SIX,
    }
}

#[test]
fn built_uri_has_the_google_authenticator_shape() {
    assert_eq!(
        example().to_string(),
        "otpauth://totp/Issuer:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Issuer&algorithm=SHA1&digits=6&period=30"
    );
    let hotp = KeyUri::for_hotp(
        None,
        "bob".into(),
        example().secret,
        &Hotp::new(Algorithm::Sha256, Digits::EIGHT),
        7,
    );
    assert_eq!(
        hotp.to_string(),
        "otpauth://hotp/bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA256&digits=8&counter=7"
    );
}

#[test]
fn spaces_and_reserved_characters_are_percent_encoded() {
    let uri = KeyUri {
        issuer: Some("ACME Co & Sons".into()),
        account: "a b+c".into(),
        ..example()
    };
    let text = uri.to_string();
    assert!(
        text.starts_with("otpauth://totp/ACME%20Co%20%26%20Sons:a%20b%2Bc?"),
        "{text}"
    );
    assert!(text.contains("&issuer=ACME%20Co%20%26%20Sons&"), "{text}");
    assert_eq!(KeyUri::parse(&text).unwrap(), uri);
}

#[test]
fn common_real_world_forms_parse() {
    let uri = KeyUri::parse("otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30").unwrap();
    assert_eq!(uri.issuer.as_deref(), Some("ACME Co"));
    assert_eq!(uri.account, "john.doe@email.com");
    // Colon encoded as %3A, a space after it, defaults for the missing parameters, lowercase secret.
    let uri = KeyUri::parse(
        "otpauth://totp/Example%3A%20alice?secret=gezdgnbvgy3tqojqgezdgnbvgy3tqojq&image=x",
    )
    .unwrap();
    assert_eq!(uri.issuer.as_deref(), Some("Example"));
    assert_eq!(uri.account, "alice");
    assert_eq!(uri.totp(), Some(Totp::default()));
    // Issuer only as parameter.
    let uri = KeyUri::parse(
        "otpauth://hotp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Corp&counter=0",
    )
    .unwrap();
    assert_eq!(uri.issuer.as_deref(), Some("Corp"));
    assert_eq!(uri.hotp(), Some((Hotp::default(), 0)));
}

fn parse_err(text: &str) -> UriError {
    KeyUri::parse(text).expect_err(text)
}

#[test]
fn wrong_type_is_rejected() {
    assert_eq!(
        parse_err("otpauth://motp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
        UriError::WrongType("motp".into())
    );
    assert_eq!(
        parse_err("https://totp/a?secret=GEZDGNBVGY3TQOJQ"),
        UriError::NotOtpauth
    );
    assert_eq!(parse_err("otpauth:/"), UriError::NotOtpauth);
    assert_eq!(parse_err(""), UriError::NotOtpauth);
}

#[test]
fn missing_or_bad_secret_is_rejected() {
    assert_eq!(
        parse_err("otpauth://totp/a?issuer=x"),
        UriError::MissingSecret
    );
    assert_eq!(parse_err("otpauth://totp/a"), UriError::MissingSecret);
    assert!(matches!(
        parse_err("otpauth://totp/a?secret=GEZDGNBV1Y3TQOJQ"),
        UriError::BadSecret(Base32Error::InvalidChar { ch: '1', .. })
    ));
    assert_eq!(
        parse_err("otpauth://totp/a?secret="),
        UriError::BadSecret(Base32Error::Empty)
    );
}

#[test]
fn secret_under_128_bits_is_rejected() {
    // 15 bytes = 120 bits.
    let short = Secret::new(vec![7; 15]).to_base32();
    let err = parse_err(&format!("otpauth://totp/a?secret={short}"));
    assert_eq!(err, UriError::SecretTooShort { bits: 120 });
    assert!(err.to_string().contains("128 bits"));
    let enough = Secret::new(vec![7; 16]).to_base32();
    assert!(KeyUri::parse(&format!("otpauth://totp/a?secret={enough}")).is_ok());
}

#[test]
fn digits_out_of_range_are_rejected() {
    for digits in ["5", "9", "0", "x", "", "06x", "256"] {
        let err = parse_err(&format!(
            "otpauth://totp/a?secret={SECRET_B32}&digits={digits}"
        ));
        assert_eq!(err, UriError::Digits(digits.into()));
    }
}

#[test]
fn issuer_in_label_and_parameter_must_agree() {
    let err = parse_err(&format!(
        "otpauth://totp/Alpha:alice?secret={SECRET_B32}&issuer=Beta"
    ));
    assert_eq!(
        err,
        UriError::IssuerMismatch {
            label: "Alpha".into(),
            parameter: "Beta".into()
        }
    );
}

#[test]
fn hotp_without_counter_is_rejected() {
    assert_eq!(
        parse_err(&format!("otpauth://hotp/a?secret={SECRET_B32}")),
        UriError::MissingCounter
    );
    assert!(matches!(
        parse_err(&format!("otpauth://hotp/a?secret={SECRET_B32}&counter=-1")),
        UriError::NotANumber {
            name: "counter",
            ..
        }
    ));
}

#[test]
fn period_zero_or_not_a_number_is_rejected() {
    assert_eq!(
        parse_err(&format!("otpauth://totp/a?secret={SECRET_B32}&period=0")),
        UriError::ZeroPeriod
    );
    assert!(matches!(
        parse_err(&format!("otpauth://totp/a?secret={SECRET_B32}&period=3O")),
        UriError::NotANumber { name: "period", .. }
    ));
}

#[test]
fn unknown_algorithm_is_rejected() {
    assert_eq!(
        parse_err(&format!(
            "otpauth://totp/a?secret={SECRET_B32}&algorithm=MD5"
        )),
        UriError::UnknownAlgorithm("MD5".into())
    );
}

#[test]
fn other_malformed_uris_are_rejected() {
    assert_eq!(
        parse_err(&format!("otpauth://totp/?secret={SECRET_B32}")),
        UriError::MissingAccount
    );
    assert_eq!(
        parse_err(&format!("otpauth://totp/Issuer:?secret={SECRET_B32}")),
        UriError::MissingAccount
    );
    assert_eq!(
        parse_err(&format!(
            "otpauth://totp/a?secret={SECRET_B32}&secret={SECRET_B32}"
        )),
        UriError::DuplicateParameter("secret".into())
    );
    assert!(matches!(
        parse_err(&format!("otpauth://totp/a%zz?secret={SECRET_B32}")),
        UriError::BadEncoding(_)
    ));
    assert_eq!(
        parse_err(&format!("otpauth://totp/a?secret={SECRET_B32}#x")),
        UriError::Fragment
    );
}

#[test]
fn debug_of_a_key_uri_hides_the_secret() {
    let debug = format!("{:?}", example());
    assert!(!debug.contains(SECRET_B32));
    assert!(debug.contains("redacted"));
}
