//! `ichido uri`: print an otpauth:// Key URI and write its QR code.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use ichido_otp::{KeyUri, Secret, UriKind, qr};

use super::code::{decode_secret, parse_algorithm, parse_digits};

/// OTP type of the Key URI.
#[derive(Clone, Copy, ValueEnum)]
pub enum UriType {
    /// Time-based (RFC 6238).
    Totp,
    /// Counter-based (RFC 4226).
    Hotp,
}

/// QR code format.
#[derive(Clone, Copy, ValueEnum)]
pub enum QrFormat {
    /// SVG image (needs --out).
    Svg,
    /// PNG image (needs --out).
    Png,
    /// Unicode half blocks, printed after the URI or written to --out.
    Terminal,
}

/// `ichido uri`.
#[derive(Args)]
pub struct UriArgs {
    /// OTP type.
    #[arg(long = "type", value_enum)]
    kind: UriType,
    /// Issuer (the provider name shown by the authenticator); must not contain ':'.
    #[arg(long)]
    issuer: String,
    /// Account name, e.g. alice@example.com; must not contain ':'.
    #[arg(long)]
    account: String,
    /// Shared secret in base32; a random one of the algorithm's size when absent.
    #[arg(long, value_name = "BASE32", conflicts_with = "secret_hex")]
    secret: Option<String>,
    /// Shared secret in hex, instead of --secret.
    #[arg(long, value_name = "HEX")]
    secret_hex: Option<String>,
    /// HMAC hash: sha1, sha256 or sha512.
    #[arg(long, default_value = "sha1")]
    algorithm: String,
    /// Number of digits, 6 to 8.
    #[arg(long, default_value_t = 6)]
    digits: u64,
    /// Time step in seconds (totp only; default 30).
    #[arg(long)]
    period: Option<u64>,
    /// Initial counter (hotp only; default 0).
    #[arg(long)]
    counter: Option<u64>,
    /// Also produce the QR code in this format.
    #[arg(long, value_enum)]
    qr: Option<QrFormat>,
    /// File for the QR code.
    #[arg(long, requires = "qr")]
    out: Option<PathBuf>,
}

/// Prints the Key URI, then writes (or for `terminal` without `--out`, prints) its QR code.
pub fn run(args: UriArgs) -> anyhow::Result<()> {
    if matches!(args.qr, Some(QrFormat::Svg | QrFormat::Png)) && args.out.is_none() {
        bail!("--qr svg and --qr png need --out FILE");
    }
    let algorithm = parse_algorithm(&args.algorithm)?;
    let digits = parse_digits(args.digits)?;
    let secret = match decode_secret(args.secret.as_deref(), args.secret_hex.as_deref())? {
        Some(secret) => secret,
        None => Secret::generate(algorithm),
    };
    for (name, value) in [("--issuer", &args.issuer), ("--account", &args.account)] {
        if value.contains(':') {
            bail!(
                "{name} must not contain ':', which separates issuer and account in a Key URI label"
            );
        }
    }
    let kind = match args.kind {
        UriType::Totp => {
            if args.counter.is_some() {
                bail!("--counter applies to --type hotp only");
            }
            UriKind::Totp {
                period: args.period.unwrap_or(30),
            }
        }
        UriType::Hotp => {
            if args.period.is_some() {
                bail!("--period applies to --type totp only");
            }
            UriKind::Hotp {
                counter: args.counter.unwrap_or(0),
            }
        }
    };
    let issuer = Some(args.issuer).filter(|i| !i.is_empty());
    let uri = KeyUri {
        kind,
        issuer,
        account: args.account,
        secret,
        algorithm,
        digits,
    };
    let text = uri.to_string();
    // Refuse to print what an authenticator (or our own parser) would reject: short secrets,
    // period 0, an empty account.
    KeyUri::parse(&text).context("the Key URI would be invalid")?;

    let image = match args.qr {
        None => None,
        Some(QrFormat::Svg) => Some(qr::svg(&text)?.into_bytes()),
        Some(QrFormat::Png) => Some(qr::png(&text)?),
        Some(QrFormat::Terminal) => Some(qr::terminal(&text)?.into_bytes()),
    };
    println!("{text}");
    match (image, args.out) {
        (Some(image), Some(path)) => {
            std::fs::write(&path, image).with_context(|| format!("writing {}", path.display()))?;
        }
        (Some(image), None) => print!("{}", String::from_utf8_lossy(&image)),
        (None, _) => {}
    }
    Ok(())
}
