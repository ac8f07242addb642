//! `otpauth://` Key URIs, the enrollment format of authenticator apps (Google Authenticator
//! "Key Uri Format"): `otpauth://TYPE/ISSUER:ACCOUNT?secret=…&issuer=…&algorithm=…&digits=…&period=…`.

mod percent;

use std::fmt;

use crate::base32::Base32Error;
use crate::{Algorithm, Digits, Hotp, Secret, Totp};

/// Shortest secret a Key URI may carry: 128 bits (RFC 4226 §4 R6).
const MIN_SECRET_BYTES: usize = 16;

/// The OTP type of a Key URI with its moving-factor parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UriKind {
    /// `totp` with its time step in seconds (RFC 6238 §4.1 `X`, default 30).
    Totp {
        /// Time step `X` in seconds, greater than 0.
        period: u64,
    },
    /// `hotp` with its initial counter (RFC 4226 §5.1 `C`), required.
    Hotp {
        /// The counter of the next code.
        counter: u64,
    },
}

/// A Key URI: what an authenticator needs to produce codes (Key Uri Format, RFC 4226 / RFC 6238
/// parameters). `Display` builds the URI; [`KeyUri::parse`] reads one strictly. Neither issuer
/// nor account may contain a `:` (the label separator); `Debug` hides the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyUri {
    /// `totp` or `hotp`, with period or counter.
    pub kind: UriKind,
    /// The provider, written both as label prefix and as `issuer` parameter.
    pub issuer: Option<String>,
    /// The account name, e.g. `alice@example.com`.
    pub account: String,
    /// The shared secret (RFC 4226 §5.1 `K`), written as unpadded base32.
    pub secret: Secret,
    /// HMAC hash (RFC 6238 §1.2), default SHA1.
    pub algorithm: Algorithm,
    /// Code length (RFC 4226 §5.3), default 6.
    pub digits: Digits,
}

/// Why a text is not an acceptable Key URI.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// The scheme is not `otpauth`.
    #[error("not an otpauth:// URI: a Key URI reads otpauth://TYPE/LABEL?PARAMETERS")]
    NotOtpauth,
    /// A type other than `totp` or `hotp`.
    #[error("OTP type {0:?}: a Key URI type must be totp or hotp")]
    WrongType(String),
    /// A fragment (`#…`), which a Key URI never has.
    #[error("Key URI has a fragment ('#'), which the Key URI format does not allow")]
    Fragment,
    /// A malformed `%XX` escape or non-UTF-8 text.
    #[error("{0} is not valid percent-encoded UTF-8 (RFC 3986 §2.1)")]
    BadEncoding(&'static str),
    /// No account name in the label.
    #[error("Key URI label has no account name: the label is [ISSUER:]ACCOUNT")]
    MissingAccount,
    /// A parameter given twice.
    #[error("parameter {0:?} appears twice in the Key URI")]
    DuplicateParameter(String),
    /// No `secret` parameter.
    #[error("Key URI has no secret parameter, which is required")]
    MissingSecret,
    /// A `secret` that is not base32.
    #[error("secret parameter is not valid base32: {0}")]
    BadSecret(Base32Error),
    /// A secret under 128 bits.
    #[error("secret is {bits} bits: RFC 4226 §4 R6 requires at least 128 bits")]
    SecretTooShort {
        /// The secret's size in bits.
        bits: usize,
    },
    /// An `algorithm` other than SHA1, SHA256, SHA512.
    #[error("algorithm {0:?}: RFC 6238 §1.2 allows only SHA1, SHA256 or SHA512")]
    UnknownAlgorithm(String),
    /// `digits` outside 6 to 8.
    #[error("digits {0:?}: RFC 4226 §5.3 requires 6 to 8 digits")]
    Digits(String),
    /// The label prefix and the `issuer` parameter differ.
    #[error(
        "label issuer {label:?} differs from issuer parameter {parameter:?}; the Key URI format requires them to be equal"
    )]
    IssuerMismatch {
        /// Issuer in the label.
        label: String,
        /// Issuer in the parameter.
        parameter: String,
    },
    /// `hotp` without `counter`.
    #[error("hotp Key URI has no counter parameter, which hotp requires (RFC 4226 §5.1 C)")]
    MissingCounter,
    /// `period=0`.
    #[error("period 0: RFC 6238 §4.1 requires a time step X of at least 1 second")]
    ZeroPeriod,
    /// `period` or `counter` that is not a whole number.
    #[error("parameter {name} = {value:?} is not a whole number")]
    NotANumber {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: String,
    },
}

impl KeyUri {
    /// A TOTP Key URI for the given parameters (RFC 6238 §4; `t0` is not representable and
    /// assumed 0 by authenticators).
    pub fn for_totp(
        issuer: Option<String>,
        account: String,
        secret: Secret,
        totp: &Totp,
    ) -> KeyUri {
        KeyUri {
            kind: UriKind::Totp {
                period: totp.period,
            },
            issuer,
            account,
            secret,
            algorithm: totp.algorithm,
            digits: totp.digits,
        }
    }

    /// An HOTP Key URI starting at `counter` (RFC 4226 §5).
    pub fn for_hotp(
        issuer: Option<String>,
        account: String,
        secret: Secret,
        hotp: &Hotp,
        counter: u64,
    ) -> KeyUri {
        KeyUri {
            kind: UriKind::Hotp { counter },
            issuer,
            account,
            secret,
            algorithm: hotp.algorithm,
            digits: hotp.digits,
        }
    }

    /// The TOTP parameters of a `totp` URI (RFC 6238 §4, `T0 = 0`).
    pub fn totp(&self) -> Option<Totp> {
        match self.kind {
            UriKind::Totp { period } => Some(Totp {
                algorithm: self.algorithm,
                digits: self.digits,
                period,
                t0: 0,
            }),
            UriKind::Hotp { .. } => None,
        }
    }

    /// The HOTP parameters and initial counter of an `hotp` URI (RFC 4226 §5).
    pub fn hotp(&self) -> Option<(Hotp, u64)> {
        match self.kind {
            UriKind::Hotp { counter } => Some((
                Hotp {
                    algorithm: self.algorithm,
                    digits: self.digits,
                },
                counter,
            )),
            UriKind::Totp { .. } => None,
        }
    }

    /// Parses a Key URI strictly: the type must be totp or hotp, the secret present, base32 and
    /// at least 128 bits (RFC 4226 §4 R6), digits 6 to 8 (RFC 4226 §5.3), the algorithm SHA1,
    /// SHA256 or SHA512 (RFC 6238 §1.2), the period above 0 (RFC 6238 §4.1), a counter present
    /// for hotp, and the label issuer equal to the `issuer` parameter. Unknown parameters (such
    /// as `image`) are ignored.
    pub fn parse(text: &str) -> Result<KeyUri, UriError> {
        let scheme_len = "otpauth://".len();
        if text.len() < scheme_len || !text.is_char_boundary(scheme_len) {
            return Err(UriError::NotOtpauth);
        }
        let (scheme, rest) = text.split_at(scheme_len);
        if !scheme.eq_ignore_ascii_case("otpauth://") {
            return Err(UriError::NotOtpauth);
        }
        if rest.contains('#') {
            return Err(UriError::Fragment);
        }
        let (kind, rest) = rest.split_once('/').unwrap_or((rest, ""));
        let is_totp = match kind.to_ascii_lowercase().as_str() {
            "totp" => true,
            "hotp" => false,
            _ => return Err(UriError::WrongType(kind.to_owned())),
        };
        let (label, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (label_issuer, account) = parse_label(label)?;
        let params = Parameters::parse(query)?;

        let secret_text = params.get("secret").ok_or(UriError::MissingSecret)?;
        let secret = Secret::from_base32(secret_text).map_err(UriError::BadSecret)?;
        if secret.len() < MIN_SECRET_BYTES {
            return Err(UriError::SecretTooShort {
                bits: secret.len() * 8,
            });
        }
        let issuer = match (label_issuer, params.get("issuer").filter(|i| !i.is_empty())) {
            (Some(label), Some(parameter)) if label != parameter => {
                return Err(UriError::IssuerMismatch {
                    label,
                    parameter: parameter.to_owned(),
                });
            }
            (label, parameter) => parameter.map(str::to_owned).or(label),
        };
        let algorithm = match params.get("algorithm") {
            None => Algorithm::default(),
            Some(name) => name
                .parse()
                .map_err(|_| UriError::UnknownAlgorithm(name.to_owned()))?,
        };
        let digits = match params.get("digits") {
            None => Digits::default(),
            Some(text) => text
                .parse::<u8>()
                .ok()
                .and_then(|n| Digits::new(n).ok())
                .ok_or_else(|| UriError::Digits(text.to_owned()))?,
        };
        let kind = if is_totp {
            let period = match params.get("period") {
                None => 30,
                Some(text) => number("period", text)?,
            };
            if period == 0 {
                return Err(UriError::ZeroPeriod);
            }
            UriKind::Totp { period }
        } else {
            let counter = params.get("counter").ok_or(UriError::MissingCounter)?;
            UriKind::Hotp {
                counter: number("counter", counter)?,
            }
        };
        Ok(KeyUri {
            kind,
            issuer,
            account,
            secret,
            algorithm,
            digits,
        })
    }
}

impl std::str::FromStr for KeyUri {
    type Err = UriError;

    /// Same as [`KeyUri::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyUri::parse(s)
    }
}

impl fmt::Display for KeyUri {
    /// Writes `otpauth://TYPE/ISSUER:ACCOUNT?secret=…&issuer=…&algorithm=…&digits=…&period=…`
    /// (or `&counter=…` for hotp), percent-encoded (RFC 3986 §2.1), secret unpadded base32.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            UriKind::Totp { .. } => "totp",
            UriKind::Hotp { .. } => "hotp",
        };
        write!(f, "otpauth://{kind}/")?;
        // An empty issuer is no issuer: writing `:` or `issuer=` for it would not read back.
        let issuer = self.issuer.as_deref().filter(|i| !i.is_empty());
        if let Some(issuer) = issuer {
            write!(f, "{}:", percent::encode(issuer))?;
        }
        write!(
            f,
            "{}?secret={}",
            percent::encode(&self.account),
            self.secret.to_base32()
        )?;
        if let Some(issuer) = issuer {
            write!(f, "&issuer={}", percent::encode(issuer))?;
        }
        write!(f, "&algorithm={}&digits={}", self.algorithm, self.digits)?;
        match self.kind {
            UriKind::Totp { period } => write!(f, "&period={period}"),
            UriKind::Hotp { counter } => write!(f, "&counter={counter}"),
        }
    }
}

/// Splits `[ISSUER:]ACCOUNT` at the first literal `:`, or else the first `%3A`; spaces after the
/// separator are dropped, as the Key URI format allows.
fn parse_label(label: &str) -> Result<(Option<String>, String), UriError> {
    let split = label
        .find(':')
        .map(|at| (at, 1))
        .or_else(|| label.to_ascii_uppercase().find("%3A").map(|at| (at, 3)));
    let (issuer, account) = match split {
        Some((at, len)) => (Some(&label[..at]), &label[at + len..]),
        None => (None, label),
    };
    let decode = |text: &str| percent::decode(text).ok_or(UriError::BadEncoding("the label"));
    let issuer = issuer.map(decode).transpose()?.filter(|i| !i.is_empty());
    let account = decode(account)?.trim_start_matches(' ').to_owned();
    if account.is_empty() {
        return Err(UriError::MissingAccount);
    }
    Ok((issuer, account))
}

fn number(name: &'static str, text: &str) -> Result<u64, UriError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UriError::NotANumber {
            name,
            value: text.to_owned(),
        });
    }
    text.parse().map_err(|_| UriError::NotANumber {
        name,
        value: text.to_owned(),
    })
}

/// Decoded query parameters, each name at most once.
struct Parameters(Vec<(String, String)>);

impl Parameters {
    fn parse(query: &str) -> Result<Parameters, UriError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = percent::decode(name).ok_or(UriError::BadEncoding("a parameter name"))?;
            let value = percent::decode(value).ok_or(UriError::BadEncoding("a parameter value"))?;
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(UriError::DuplicateParameter(name));
            }
            pairs.push((name, value));
        }
        Ok(Parameters(pairs))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}
