//! `ichido code` and `ichido uri` through the real binary: RFC vectors, bad input, and a QR code
//! read back by a real decoder.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_ichido");

/// RFC 4226 / 6238 / 6287 keys: "1234567890" repeated to 20, 32 or 64 bytes, in hex.
fn key_hex(len: usize) -> String {
    b"1234567890"
        .iter()
        .cycle()
        .take(len)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn ichido(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the ichido binary runs")
}

/// Runs a command that must succeed and returns its stdout.
fn stdout_of(args: &[&str]) -> String {
    let out = ichido(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Runs a command that must fail cleanly and returns its stderr.
fn failure_of(args: &[&str]) -> String {
    let out = ichido(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert!(
        !stderr.trim().is_empty(),
        "{args:?} failed without a message"
    );
    assert!(
        out.stdout.is_empty(),
        "{args:?} printed on stdout: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

#[test]
fn hotp_prints_rfc4226_appendix_d_values_and_nothing_else() {
    let base32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; // "12345678901234567890"
    for (counter, expected) in [("0", "755224"), ("1", "287082"), ("9", "520489")] {
        assert_eq!(
            stdout_of(&["code", "hotp", "--secret", base32, "--counter", counter]),
            format!("{expected}\n")
        );
    }
    let hex = key_hex(20);
    assert_eq!(
        stdout_of(&["code", "hotp", "--secret-hex", &hex, "--counter", "5"]),
        "254676\n"
    );
}

#[test]
fn totp_prints_rfc6238_appendix_b_values_for_each_algorithm() {
    for (algorithm, len, time, expected) in [
        ("sha1", 20, "59", "94287082"),
        ("SHA256", 32, "1111111109", "68084774"),
        ("sha-512", 64, "20000000000", "47863826"),
        ("sha1", 20, "1234567890", "89005924"),
    ] {
        let hex = key_hex(len);
        let args = [
            "code",
            "totp",
            "--secret-hex",
            &hex,
            "--time",
            time,
            "--digits",
            "8",
            "--algorithm",
            algorithm,
        ];
        assert_eq!(
            stdout_of(&args),
            format!("{expected}\n"),
            "{algorithm} at {time}"
        );
    }
}

#[test]
fn totp_without_time_uses_the_clock_and_prints_six_digits() {
    let out = stdout_of(&[
        "code",
        "totp",
        "--secret",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
    ]);
    let code = out.trim_end();
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
}

#[test]
fn ocra_prints_rfc6287_appendix_c_values() {
    let minutes = 0x132d0b6u64 * 60;
    let time = minutes.to_string();
    let cases: [(&str, usize, &[&str], &str); 5] = [
        (
            "OCRA-1:HOTP-SHA1-6:QN08",
            20,
            &["--question", "44444444"],
            "608993",
        ),
        (
            "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1",
            32,
            &["--question", "12345678", "--counter", "9", "--pin", "1234"],
            "08522129",
        ),
        (
            "OCRA-1:HOTP-SHA256-8:QN08-PSHA1",
            32,
            &[
                "--question",
                "22222222",
                "--pin-hash",
                "7110eda4d09e062aa5e4a390b0a572ac0d2c0220",
            ],
            "17957585",
        ),
        (
            "OCRA-1:HOTP-SHA512-8:QN08-T1M",
            64,
            &["--question", "11111111", "--time", &time],
            "55907591",
        ),
        (
            "OCRA-1:HOTP-SHA256-8:QA08",
            32,
            &["--question", "CLI22220SRV11110"],
            "28247970",
        ),
    ];
    for (suite, len, extra, expected) in cases {
        let hex = key_hex(len);
        let mut args = vec!["code", "ocra", "--suite", suite, "--secret-hex", &hex];
        args.extend_from_slice(extra);
        assert_eq!(stdout_of(&args), format!("{expected}\n"), "{suite}");
    }
}

#[test]
fn bad_input_exits_non_zero_with_a_message_and_no_panic() {
    let hex = key_hex(20);
    let cases: [(&[&str], &str); 12] = [
        (
            &["code", "hotp", "--secret", "NOT-BASE32-1", "--counter", "1"],
            "base32",
        ),
        (&["code", "totp", "--secret-hex", "xyz"], "hex"),
        (
            &[
                "code",
                "hotp",
                "--secret-hex",
                &hex,
                "--counter",
                "1",
                "--algorithm",
                "md5",
            ],
            "algorithm",
        ),
        (
            &["code", "totp", "--secret-hex", &hex, "--digits", "9"],
            "digits",
        ),
        (
            &["code", "totp", "--secret-hex", &hex, "--digits", "5"],
            "digits",
        ),
        (
            &["code", "totp", "--secret-hex", &hex, "--period", "0"],
            "period",
        ),
        (
            &[
                "code",
                "ocra",
                "--suite",
                "OCRA-1:HOTP-SHA1-6:QX08",
                "--secret-hex",
                &hex,
                "--question",
                "1234",
            ],
            "challenge",
        ),
        (
            &[
                "code",
                "ocra",
                "--suite",
                "OCRA-2:HOTP-SHA1-6:QN08",
                "--secret-hex",
                &hex,
                "--question",
                "1234",
            ],
            "version",
        ),
        (
            &[
                "code",
                "ocra",
                "--suite",
                "OCRA-1:HOTP-SHA1-6:C-QN08",
                "--secret-hex",
                &hex,
                "--question",
                "1234",
            ],
            "counter",
        ),
        (
            &[
                "code",
                "ocra",
                "--suite",
                "OCRA-1:HOTP-SHA1-6:QN08",
                "--secret-hex",
                &hex,
                "--question",
                "12ab",
            ],
            "question",
        ),
        (&["code", "hotp", "--counter", "1"], "secret"),
        (
            &[
                "uri",
                "--type",
                "totp",
                "--issuer",
                "I",
                "--account",
                "a",
                "--secret",
                "GEZDGNBV",
            ],
            "128 bits",
        ),
    ];
    for (args, topic) in cases {
        let stderr = failure_of(args);
        assert!(stderr.to_lowercase().contains(topic), "{args:?}: {stderr}");
    }
    let stderr = failure_of(&[
        "uri",
        "--type",
        "totp",
        "--issuer",
        "I",
        "--account",
        "a",
        "--qr",
        "png",
    ]);
    assert!(stderr.contains("--out"), "{stderr}");
    let stderr = failure_of(&["uri", "--type", "totp", "--issuer", "A:B", "--account", "a"]);
    assert!(stderr.contains("':'"), "{stderr}");
    // Errors through the program (not clap) are one line, prefixed with the program name.
    let stderr = failure_of(&["code", "hotp", "--secret", "GEZ1", "--counter", "1"]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("ichido: "), "{stderr}");
}

#[test]
fn uri_prints_a_key_uri_that_matches_the_code_command() {
    let out = stdout_of(&[
        "uri",
        "--type",
        "hotp",
        "--issuer",
        "ACME Co",
        "--account",
        "alice@example.com",
        "--secret",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "--counter",
        "3",
        "--digits",
        "8",
    ]);
    assert_eq!(
        out,
        "otpauth://hotp/ACME%20Co:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co&algorithm=SHA1&digits=8&counter=3\n"
    );
    let generated = stdout_of(&[
        "uri",
        "--type",
        "totp",
        "--issuer",
        "I",
        "--account",
        "a",
        "--algorithm",
        "sha256",
    ]);
    let secret = generated
        .split("secret=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .expect("a secret parameter");
    assert_eq!(secret.len(), 52, "256-bit secret for SHA-256: {generated}");
}

#[test]
fn uri_terminal_qr_follows_the_uri_on_stdout() {
    let out = stdout_of(&[
        "uri",
        "--type",
        "totp",
        "--issuer",
        "I",
        "--account",
        "a",
        "--qr",
        "terminal",
    ]);
    let mut lines = out.lines();
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("otpauth://totp/I:a?secret="))
    );
    let art: Vec<&str> = lines.collect();
    assert!(art.len() > 10);
    assert!(
        art.iter()
            .all(|l| l.chars().all(|c| matches!(c, '█' | '▀' | '▄' | ' ')))
    );
}

#[test]
fn png_qr_decodes_to_exactly_the_printed_uri() {
    let zbar = Command::new("zbarimg").arg("--version").output();
    if zbar.is_err() {
        if std::env::var_os("CI").is_some() {
            panic!("zbarimg is required in CI (apt-get install zbar-tools)");
        }
        eprintln!("notice: zbarimg not installed; skipping the QR decoding check");
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    for (kind, extra) in [("totp", ["--period", "60"]), ("hotp", ["--counter", "42"])] {
        let file = dir.path().join(format!("{kind}.png"));
        let file_arg = file.to_str().expect("utf-8 path");
        let mut args = vec![
            "uri",
            "--type",
            kind,
            "--issuer",
            "ACME Co",
            "--account",
            "alice@example.com",
        ];
        args.extend_from_slice(&extra);
        args.extend_from_slice(&["--qr", "png", "--out", file_arg]);
        let printed = stdout_of(&args);
        let decoded = Command::new("zbarimg")
            .args(["--raw", "-q", file_arg])
            .output()
            .expect("zbarimg runs");
        assert!(
            decoded.status.success(),
            "zbarimg failed: {}",
            String::from_utf8_lossy(&decoded.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&decoded.stdout).trim_end(),
            printed.trim_end()
        );
    }
}

#[test]
fn svg_and_terminal_qr_are_written_to_the_out_file() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let svg = dir.path().join("q.svg");
    let txt = dir.path().join("q.txt");
    for (format, path) in [("svg", &svg), ("terminal", &txt)] {
        let out = stdout_of(&[
            "uri",
            "--type",
            "totp",
            "--issuer",
            "I",
            "--account",
            "a",
            "--qr",
            format,
            "--out",
            path.to_str().expect("utf-8 path"),
        ]);
        assert_eq!(out.lines().count(), 1, "only the URI on stdout");
    }
    assert!(
        std::fs::read_to_string(&svg)
            .expect("svg written")
            .contains("<svg")
    );
    assert!(
        std::fs::read_to_string(&txt)
            .expect("text written")
            .contains('█')
    );
}
