//! Tokens and their life cycle: `pending` → `active` ⇄ `disabled`, then
//! `revoked` or `lost`, which are final.

use crate::clock::Timestamp;
use crate::error::Error;
use crate::ids::Serial;
use ichido_otp::{Algorithm, Digits, Hotp, Totp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Totp,
    Hotp,
    /// OCRA challenge-response (RFC 6287): answers a question the server asks.
    Ocra,
    /// A code sent by email to the address the token was enrolled with.
    Email,
    /// A code sent by SMS to the number the token was enrolled with.
    Sms,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Totp => "totp",
            TokenKind::Hotp => "hotp",
            TokenKind::Ocra => "ocra",
            TokenKind::Email => "email",
            TokenKind::Sms => "sms",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "totp" => Some(TokenKind::Totp),
            "hotp" => Some(TokenKind::Hotp),
            "ocra" => Some(TokenKind::Ocra),
            "email" => Some(TokenKind::Email),
            "sms" => Some(TokenKind::Sms),
            _ => None,
        }
    }
    /// HOTP and TOTP: codes computed by the holder from a seed, checked on their own.
    pub fn is_oath(self) -> bool {
        matches!(self, TokenKind::Totp | TokenKind::Hotp)
    }
    /// Email and SMS: the server makes the code and sends it.
    pub fn is_out_of_band(self) -> bool {
        matches!(self, TokenKind::Email | TokenKind::Sms)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenState {
    Pending,
    Active,
    Disabled,
    Revoked,
    Lost,
}

impl TokenState {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Pending => "pending",
            TokenState::Active => "active",
            TokenState::Disabled => "disabled",
            TokenState::Revoked => "revoked",
            TokenState::Lost => "lost",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(TokenState::Pending),
            "active" => Some(TokenState::Active),
            "disabled" => Some(TokenState::Disabled),
            "revoked" => Some(TokenState::Revoked),
            "lost" => Some(TokenState::Lost),
            _ => None,
        }
    }
    /// Revoked and lost tokens never come back.
    pub fn is_final(self) -> bool {
        matches!(self, TokenState::Revoked | TokenState::Lost)
    }
}

/// OATH parameters of a software or hardware token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OathParams {
    pub kind: TokenKind,
    pub algorithm: Algorithm,
    pub digits: Digits,
    /// TOTP time step in seconds; unused for HOTP.
    pub period: u64,
}

impl OathParams {
    pub fn validate(&self) -> Result<(), Error> {
        if self.kind == TokenKind::Totp && !(1..=3600).contains(&self.period) {
            return Err(Error::invalid(
                "invalid_period",
                "period must be 1-3600 seconds",
            ));
        }
        Ok(())
    }
    pub fn totp(&self) -> Totp {
        Totp {
            algorithm: self.algorithm,
            digits: self.digits,
            period: self.period,
            t0: 0,
        }
    }
    pub fn hotp(&self) -> Hotp {
        Hotp {
            algorithm: self.algorithm,
            digits: self.digits,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Token {
    pub id: i64,
    pub serial: Serial,
    pub user_id: Option<i64>,
    pub params: OathParams,
    pub state: TokenState,
    pub label: Option<String>,
    pub issuer: Option<String>,
    /// The seed, sealed under the master key with the serial as associated data.
    pub sealed_secret: String,
    /// The highest HOTP counter or TOTP step ever accepted; nothing at or below
    /// it is accepted again.
    pub last_counter: Option<i64>,
    /// TOTP steps the token's clock runs ahead (+) or behind (−), learned from
    /// accepted codes.
    pub drift: i64,
    pub failed_count: i64,
    pub created_at: Timestamp,
    pub activated_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    /// A pending token not activated by then can no longer be.
    pub pending_until: Option<Timestamp>,
    /// The OCRA suite (RFC 6287 §6), e.g. `OCRA-1:HOTP-SHA1-6:QN08`; OCRA tokens only.
    pub ocra_suite: Option<String>,
    /// Where an email or SMS token's codes go, fixed at enrollment.
    pub address: Option<String>,
    /// Outside `[valid_from, valid_until)` the token never matches.
    pub valid_from: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
}

impl Token {
    /// Whether `now` lies within the token's validity period.
    pub fn valid_at(&self, now: Timestamp) -> bool {
        self.valid_from.is_none_or(|f| f <= now) && self.valid_until.is_none_or(|u| now < u)
    }
    /// Associated data binding a sealed seed to its token row.
    pub fn secret_aad(serial: &Serial) -> Vec<u8> {
        format!("ichido:token:secret:{serial}").into_bytes()
    }
}

/// When a token may be used (RFC 6030 §5 `StartDate`/`ExpiryDate`): from
/// `from` on and before `until`; an absent end is open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Validity {
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

impl Validity {
    /// An empty period would make a token that can never be used: refused.
    pub fn check(&self) -> Result<(), Error> {
        match (self.from, self.until) {
            (Some(from), Some(until)) if from >= until => Err(Error::invalid(
                "invalid_validity",
                "valid_from must be before valid_until",
            )),
            _ => Ok(()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct NewToken {
    pub serial: Serial,
    pub user_id: Option<i64>,
    pub params: OathParams,
    pub state: TokenState,
    pub label: Option<String>,
    pub issuer: Option<String>,
    pub sealed_secret: String,
    pub pending_until: Option<Timestamp>,
    pub ocra_suite: Option<String>,
    pub address: Option<String>,
    /// Outside `[valid_from, valid_until)` the token never matches.
    pub valid_from: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
}
