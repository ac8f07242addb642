//! `ichido code`: print one HOTP, TOTP or OCRA value, like oathtool.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use ichido_otp::ocra::{self, DataInput, Pin, Suite};
use ichido_otp::{Algorithm, Digits, DigitsError, Hotp, Secret, Totp};

/// The three OATH algorithms.
#[derive(Subcommand)]
pub enum CodeCommand {
    /// HOTP value for a counter (RFC 4226).
    Hotp(HotpArgs),
    /// TOTP value for a time, now by default (RFC 6238).
    Totp(TotpArgs),
    /// OCRA response to a challenge (RFC 6287).
    Ocra(OcraArgs),
}

/// The shared secret, in base32 or hex (exactly one).
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct SecretArgs {
    /// Shared secret in base32, as in Key URIs.
    #[arg(long, value_name = "BASE32")]
    secret: Option<String>,
    /// Shared secret in hex, as in the RFC test vectors.
    #[arg(long, value_name = "HEX")]
    secret_hex: Option<String>,
}

impl SecretArgs {
    fn secret(&self) -> anyhow::Result<Secret> {
        decode_secret(self.secret.as_deref(), self.secret_hex.as_deref())?
            .context("a secret is required")
    }
}

/// Decodes `--secret` (base32) or `--secret-hex`, whichever is given.
pub(crate) fn decode_secret(
    base32: Option<&str>,
    hex: Option<&str>,
) -> anyhow::Result<Option<Secret>> {
    match (base32, hex) {
        (Some(text), _) => Ok(Some(Secret::from_base32(text).context("--secret")?)),
        (None, Some(text)) => Ok(Some(Secret::from_hex(text).context("--secret-hex")?)),
        (None, None) => Ok(None),
    }
}

/// `--algorithm` in any common spelling (sha1, SHA-256, …).
pub(crate) fn parse_algorithm(text: &str) -> anyhow::Result<Algorithm> {
    text.parse::<Algorithm>().context("--algorithm")
}

/// `--digits`, 6 to 8.
pub(crate) fn parse_digits(digits: u64) -> anyhow::Result<Digits> {
    u8::try_from(digits)
        .ok()
        .and_then(|d| Digits::new(d).ok())
        .ok_or(DigitsError(digits))
        .context("--digits")
}

/// Options shared by HOTP and TOTP.
#[derive(Args)]
pub struct OathArgs {
    #[command(flatten)]
    key: SecretArgs,
    /// Number of digits, 6 to 8.
    #[arg(long, default_value_t = 6)]
    digits: u64,
    /// HMAC hash: sha1, sha256 or sha512.
    #[arg(long, default_value = "sha1")]
    algorithm: String,
}

/// `ichido code hotp`.
#[derive(Args)]
pub struct HotpArgs {
    #[command(flatten)]
    oath: OathArgs,
    /// The counter C.
    #[arg(long)]
    counter: u64,
}

/// `ichido code totp`.
#[derive(Args)]
pub struct TotpArgs {
    #[command(flatten)]
    oath: OathArgs,
    /// Unix time in seconds; now when absent.
    #[arg(long, value_name = "UNIX_SECONDS")]
    time: Option<u64>,
    /// Time step X in seconds.
    #[arg(long, default_value_t = 30)]
    period: u64,
}

/// `ichido code ocra`.
#[derive(Args)]
pub struct OcraArgs {
    /// OCRA suite, e.g. OCRA-1:HOTP-SHA1-6:QN08.
    #[arg(long)]
    suite: String,
    #[command(flatten)]
    key: SecretArgs,
    /// The challenge question, in the suite's format (A, N or H).
    #[arg(long)]
    question: Option<String>,
    /// The counter C, for suites with C.
    #[arg(long)]
    counter: Option<u64>,
    /// The PIN, hashed with the suite's P hash.
    #[arg(long, conflicts_with = "pin_hash")]
    pin: Option<String>,
    /// The PIN already hashed with the suite's P hash, in hex.
    #[arg(long, value_name = "HEX")]
    pin_hash: Option<String>,
    /// Session information in hex, for suites with S.
    #[arg(long, value_name = "HEX")]
    session: Option<String>,
    /// Unix time in seconds for suites with T; now when absent.
    #[arg(long, value_name = "UNIX_SECONDS")]
    time: Option<u64>,
}

/// Prints the requested value, and nothing else, on stdout.
pub fn run(cmd: CodeCommand) -> anyhow::Result<()> {
    let value = match cmd {
        CodeCommand::Hotp(args) => {
            let (secret, algorithm, digits) = oath(&args.oath)?;
            Hotp::new(algorithm, digits)
                .generate(&secret, args.counter)
                .to_string()
        }
        CodeCommand::Totp(args) => {
            let (secret, algorithm, digits) = oath(&args.oath)?;
            let totp = Totp::new(algorithm, digits, args.period, 0).context("--period")?;
            let time = match args.time {
                Some(time) => time,
                None => now()?,
            };
            totp.generate(&secret, time).to_string()
        }
        CodeCommand::Ocra(args) => ocra_response(args)?,
    };
    println!("{value}");
    Ok(())
}

fn oath(args: &OathArgs) -> anyhow::Result<(Secret, Algorithm, Digits)> {
    Ok((
        args.key.secret()?,
        parse_algorithm(&args.algorithm)?,
        parse_digits(args.digits)?,
    ))
}

fn ocra_response(args: OcraArgs) -> anyhow::Result<String> {
    let suite: Suite = args.suite.parse().context("--suite")?;
    let secret = args.key.secret()?;
    let pin = match (args.pin, args.pin_hash) {
        (Some(pin), _) => Some(Pin::Plain(pin)),
        (None, Some(hash)) => Some(Pin::from_hex_hash(&hash).context("--pin-hash")?),
        (None, None) => None,
    };
    let session = match args.session {
        Some(text) => Some(hex::decode(text.trim()).context("--session must be hex")?),
        None => None,
    };
    let timestamp = match (suite.time_step(), args.time) {
        (_, Some(time)) => Some(time),
        (Some(_), None) => Some(now()?),
        (None, None) => None,
    };
    let Some(question) = args.question else {
        bail!("--question is required: every OCRA suite has a challenge (RFC 6287 §5.1 Q)");
    };
    let input = DataInput {
        counter: args.counter,
        question: Some(question),
        pin,
        session,
        timestamp,
    };
    let response =
        ocra::compute(&suite, &secret, &input).with_context(|| format!("suite {suite}"))?;
    Ok(response.to_string())
}

/// The current Unix time in seconds; the CLI reads the clock, the OTP engine never does.
fn now() -> anyhow::Result<u64> {
    Ok(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_secs())
}
