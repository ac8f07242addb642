//! `serial, secret, type, digits, period/counter` per line; the secret in
//! hex or base32; `#` starts a comment; an optional header line.

use ichido_domain::service::ImportedToken;
use ichido_domain::token::{OathParams, TokenKind};
use ichido_otp::{Algorithm, Digits, Secret};

use super::ImportError;

pub fn parse(content: &str) -> Result<Vec<ImportedToken>, ImportError> {
    let mut out = Vec::new();
    for (i, raw) in content.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if out.is_empty() && f.first().is_some_and(|s| s.eq_ignore_ascii_case("serial")) {
            continue;
        }
        let err = |m: &str| ImportError(format!("line {n}: {m}"));
        if f.len() != 5 {
            return Err(err(
                "expected 5 fields: serial, secret, type, digits, period/counter",
            ));
        }
        let secret = Secret::from_hex(f[1])
            .or_else(|_| Secret::from_base32(f[1]))
            .map_err(|_| err("the secret is neither hex nor base32"))?;
        let kind = match f[2].to_ascii_lowercase().as_str() {
            "totp" => TokenKind::Totp,
            "hotp" => TokenKind::Hotp,
            _ => return Err(err("type must be totp or hotp")),
        };
        let digits = f[3]
            .parse::<u8>()
            .ok()
            .and_then(|d| Digits::new(d).ok())
            .ok_or_else(|| err("digits must be 6, 7 or 8"))?;
        let last: u64 = f[4]
            .parse()
            .map_err(|_| err("period/counter must be a whole number"))?;
        let (period, counter) = match kind {
            TokenKind::Totp => (last, None),
            _ => (30, Some(last)),
        };
        out.push(ImportedToken {
            serial: f[0].to_owned(),
            secret: ichido_crypto::SecretBytes::new(secret.as_bytes().to_vec()),
            params: OathParams {
                kind,
                algorithm: Algorithm::Sha1,
                digits,
                period,
            },
            counter,
            issuer: None,
            validity: Default::default(),
        });
    }
    Ok(out)
}
