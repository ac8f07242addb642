//! Challenges: a code the server sent (email, SMS) or a question it asked
//! (OCRA), good once, only for itself, only before it expires, and only for a
//! few attempts.

use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::error::Error;

/// How challenges are made and how often a user may ask for one.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChallengePolicy {
    /// Digits of an email or SMS code.
    pub digits: u8,
    pub lifetime_seconds: i64,
    /// Wrong answers after which a challenge is dead.
    pub max_attempts: i64,
    /// At least this long between two challenges of one user.
    pub resend_min_seconds: i64,
    /// At most this many challenges of one user per window.
    pub resend_max_per_window: i64,
    pub resend_window_seconds: i64,
    /// Whether a code is sent only to a caller who gives the user's
    /// password (the first factor). Off, anyone who knows a username can
    /// make codes go out, and learns where to.
    pub require_password: bool,
}

impl Default for ChallengePolicy {
    fn default() -> Self {
        ChallengePolicy {
            digits: 6,
            lifetime_seconds: 300,
            max_attempts: 3,
            resend_min_seconds: 30,
            resend_max_per_window: 5,
            resend_window_seconds: 900,
            require_password: true,
        }
    }
}

impl ChallengePolicy {
    pub fn check(&self) -> Result<(), String> {
        if !(6..=8).contains(&self.digits) {
            return Err("challenge.digits must be 6-8".into());
        }
        if !(30..=86_400).contains(&self.lifetime_seconds) {
            return Err("challenge.lifetime_seconds must be 30-86400".into());
        }
        if !(1..=100).contains(&self.max_attempts) {
            return Err("challenge.max_attempts must be 1-100".into());
        }
        if self.resend_min_seconds < 0
            || self.resend_max_per_window < 1
            || self.resend_window_seconds < 1
        {
            return Err("challenge.resend_* must be >= 0, >= 1 and >= 1".into());
        }
        Ok(())
    }
}

/// A challenge row to store. One challenge (one id) has one row per token it
/// was sent to, each with its own code.
#[derive(Clone, Debug)]
pub struct NewChallenge {
    pub id: String,
    pub user_id: i64,
    pub token_id: i64,
    /// Keyed hash of `id:code` for a sent code; `None` for an OCRA question.
    pub code_hash: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub max_attempts: i64,
    /// Canonical JSON of the transaction being signed, if any.
    pub transaction: Option<String>,
    /// The OCRA question asked.
    pub question: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Challenge {
    pub id: String,
    pub user_id: i64,
    pub token_id: i64,
    pub code_hash: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub attempts: i64,
    pub max_attempts: i64,
    pub used_at: Option<Timestamp>,
    pub transaction: Option<String>,
    pub question: Option<String>,
}

impl Challenge {
    /// Unused, unexpired and not out of attempts.
    pub fn is_open(&self, now: Timestamp) -> bool {
        self.used_at.is_none() && self.expires_at > now && self.attempts < self.max_attempts
    }
}

/// A right answer: the store marks the challenge used only if it is still
/// open, the token still usable and the user not locked, all in one statement.
#[derive(Clone, Debug)]
pub struct Consume {
    pub challenge_id: String,
    pub user_id: i64,
    pub token_id: i64,
    /// For a counter-based OCRA suite: the counter now used up.
    pub counter: Option<i64>,
    /// True when the answer activates a pending token.
    pub activate: bool,
    pub now: Timestamp,
}

/// How many challenges a user asked for lately.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResendStats {
    pub in_window: i64,
    pub oldest_in_window: Option<Timestamp>,
    /// The newest challenge to one of the tokens asked about (not any of
    /// the user's: the first code to a new token is not a resend).
    pub last: Option<Timestamp>,
}

/// The resend throttle of one user, checked by the store in the same
/// transaction that stores the new challenge or link, so that concurrent
/// requests cannot all pass it.
#[derive(Clone, Debug)]
pub struct ResendLimit {
    pub user_id: i64,
    /// The tokens this send goes to: `resend_min_seconds` apply to them.
    pub tokens: Vec<i64>,
    pub policy: ChallengePolicy,
    pub now: Timestamp,
}

impl ResendLimit {
    /// Where the window counted by `resend_max_per_window` starts.
    pub fn since(&self) -> Timestamp {
        self.now.plus_secs(-self.policy.resend_window_seconds)
    }

    /// When the next send is allowed, if not now.
    pub fn retry_at(&self, stats: &ResendStats) -> Option<Timestamp> {
        let p = &self.policy;
        let too_soon = stats
            .last
            .map(|l| l.plus_secs(p.resend_min_seconds))
            .filter(|&at| at > self.now);
        let too_many = (stats.in_window >= p.resend_max_per_window)
            .then(|| {
                stats
                    .oldest_in_window
                    .map(|o| o.plus_secs(p.resend_window_seconds))
            })
            .flatten();
        too_soon.into_iter().chain(too_many).max()
    }
}

/// A transfer to sign with an OCRA token (RFC 6287 §7.4, signature).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transaction {
    /// Decimal with a point, e.g. `"1250.00"`.
    pub amount: String,
    /// ISO 4217, e.g. `"EUR"`.
    pub currency: String,
    /// Who receives it: an IBAN, an account or a name.
    pub payee: String,
}

impl Transaction {
    pub fn check(&self) -> Result<(), Error> {
        let a = &self.amount;
        let (int, frac) = a.split_once('.').unwrap_or((a, ""));
        let ok = !int.is_empty()
            && int.len() <= 15
            && frac.len() <= 4
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
            && a.contains('.') != frac.is_empty();
        if !ok {
            return Err(Error::invalid(
                "invalid_amount",
                "amount must be a decimal such as \"1250.00\"",
            ));
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Error::invalid(
                "invalid_currency",
                "currency must be an ISO 4217 code such as \"EUR\"",
            ));
        }
        let p = &self.payee;
        if p.trim().is_empty() || p.chars().count() > 140 || p.chars().any(char::is_control) {
            return Err(Error::invalid(
                "invalid_payee",
                "payee must be 1-140 printable characters",
            ));
        }
        Ok(())
    }

    /// One text for one transfer: fixed key order, no spaces.
    pub fn canonical(&self) -> String {
        serde_json::json!([self.amount, self.currency, self.payee]).to_string()
    }

    /// What the audit log records as signed.
    pub fn summary(&self) -> String {
        format!(
            "amount={} currency={} payee={}",
            self.amount, self.currency, self.payee
        )
    }
}

/// The OCRA question for a transaction (RFC 6287 §7.4, "the challenge carries
/// a hash of the data to sign"): SHA-256 over the challenge id and the
/// canonical transaction, written in the suite's challenge format and full
/// length. A different amount, currency or payee gives a different question,
/// so a response signs exactly one transfer, and the id makes it single-use.
pub fn transaction_question(
    suite: &ichido_otp::ocra::Suite,
    challenge_id: &str,
    tx: &Transaction,
) -> String {
    use ichido_otp::ocra::ChallengeFormat;
    let mut h = Sha256::new();
    h.update(b"ichido:ocra:transaction\0");
    h.update(challenge_id.as_bytes());
    h.update(b"\0");
    h.update(tx.canonical().as_bytes());
    let digest = h.finalize();
    let len = suite.challenge_len();
    match suite.challenge_format() {
        ChallengeFormat::Numeric => {
            // Each byte below 250 gives one unbiased digit; stretch if needed.
            let mut out = String::with_capacity(len);
            let mut block = digest.to_vec();
            while out.len() < len {
                for &b in block.iter().filter(|&&b| b < 250) {
                    if out.len() == len {
                        break;
                    }
                    out.push(char::from(b'0' + b % 10));
                }
                block = Sha256::digest(&block).to_vec();
            }
            out
        }
        ChallengeFormat::Hex | ChallengeFormat::Alphanumeric => {
            let mut hex = hex::encode_upper(digest);
            while hex.len() < len {
                let more = hex::encode_upper(Sha256::digest(hex.as_bytes()));
                hex.push_str(&more);
            }
            hex.truncate(len);
            hex
        }
    }
}

/// `a***@example.com`: the first character of the local part and the domain.
pub fn mask_email(addr: &str) -> String {
    match addr.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// `***-1234`: the last four digits.
pub fn mask_phone(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("***-{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_masked() {
        assert_eq!(mask_email("alice@example.com"), "a***@example.com");
        assert_eq!(mask_phone("+1 (555) 010-1234"), "***-1234");
    }

    #[test]
    fn a_changed_amount_changes_the_question() {
        let suite: ichido_otp::ocra::Suite = "OCRA-1:HOTP-SHA256-8:QN08".parse().unwrap();
        let tx = Transaction {
            amount: "100.00".into(),
            currency: "EUR".into(),
            payee: "DE89370400440532013000".into(),
        };
        let q = transaction_question(&suite, "c1", &tx);
        assert_eq!(q.len(), 8);
        assert!(q.bytes().all(|b| b.is_ascii_digit()));
        let other = Transaction {
            amount: "100.01".into(),
            ..tx.clone()
        };
        assert_ne!(q, transaction_question(&suite, "c1", &other));
        assert_ne!(q, transaction_question(&suite, "c2", &tx));
    }

    #[test]
    fn bad_amounts_are_refused() {
        for a in ["", "1.", ".5", "1,00", "-1", "1e3"] {
            let tx = Transaction {
                amount: a.into(),
                currency: "EUR".into(),
                payee: "x".into(),
            };
            assert!(tx.check().is_err(), "{a}");
        }
    }
}
