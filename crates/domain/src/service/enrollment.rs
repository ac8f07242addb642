//! Enrollment of the tokens that are not authenticator-app seeds: email and
//! SMS tokens (bound to an address, activated by the code sent to it), OCRA
//! tokens (a suite and a seed), and hardware tokens whose seed the
//! administrator already has.
//!
//! An email or SMS token keeps the address it was enrolled with instead of
//! reading the user's email or phone at send time: proving the first code
//! proves that address, and a later change of the profile (by a helpdesk or
//! an attacker with a session) cannot silently redirect codes elsewhere.

use ichido_otp::ocra::Suite;
use ichido_otp::{Algorithm, Digits, Secret};

use super::Ichido;
use super::challenges::ChallengeError;
use super::tokens::{EnrollRequest, Enrolled};
use crate::audit::{Context, Event};
use crate::challenge::NewChallenge;
use crate::error::{Error, StoreError};
use crate::ids::Serial;
use crate::store::Store;
use crate::token::{NewToken, OathParams, Token, TokenKind, TokenState};

impl<S: Store> Ichido<S> {
    /// An email or SMS token: the first code is sent before anything is
    /// stored, so a failed send leaves nothing behind but its audit event.
    pub async fn enroll_out_of_band(
        &self,
        ctx: &Context,
        username: &str,
        req: EnrollRequest,
    ) -> Result<Enrolled, ChallengeError> {
        let kind = match TokenKind::parse(&req.kind) {
            Some(k @ (TokenKind::Email | TokenKind::Sms)) => k,
            _ => {
                return Err(
                    Error::invalid("invalid_type", "type must be \"email\" or \"sms\"").into(),
                );
            }
        };
        if req.secret.is_some() || req.secret_hex.is_some() || req.ocra_suite.is_some() {
            return Err(Error::invalid(
                "invalid_field",
                "email and sms tokens have no seed and no suite",
            )
            .into());
        }
        let user = self.user(username).await?;
        let address = match (kind, req.address.clone()) {
            (_, Some(a)) => a,
            (TokenKind::Email, None) => user.email.clone().unwrap_or_default(),
            (_, None) => user.phone.clone().unwrap_or_default(),
        };
        check_address(kind, &address)?;
        let now = self.clock.now();
        let event = |result: &str, reason: &str| {
            Event::new(ctx, now, "token.enroll", result)
                .user(username)
                .reason(reason)
        };
        self.check_resend(&user, &[], now, &event).await?;

        let policy = self.challenge_policy().clone();
        let serial = Serial::generate(kind.as_str());
        let new = NewToken {
            serial: serial.clone(),
            user_id: Some(user.id),
            params: OathParams {
                kind,
                algorithm: Algorithm::Sha1,
                digits: Digits::new(policy.digits).unwrap_or_default(),
                period: 30,
            },
            state: TokenState::Pending,
            label: req.label.clone(),
            issuer: Some(
                req.issuer
                    .clone()
                    .unwrap_or_else(|| self.settings.default_issuer.clone()),
            ),
            sealed_secret: String::new(),
            pending_until: Some(now.plus_secs(self.policy.pending_seconds)),
            ocra_suite: None,
            address: Some(address),
        };
        let unsaved = unsaved_token(&new, now);
        let id = ichido_crypto::random::token(16);
        let code = ichido_crypto::random::digits(usize::from(policy.digits));
        if let Err(e) = self.send_code(&user, &unsaved, &code).await {
            tracing::warn!(%serial, error = %e, "an enrollment code could not be sent");
            let ev = Event::new(ctx, now, "challenge.send", "failure")
                .user(username)
                .serial(serial.as_str())
                .reason(e.code);
            self.store.append_audit(&ev).await?;
            return Err(ChallengeError::Delivery(e));
        }
        let ev = event("success", kind.as_str()).serial(serial.as_str());
        let token = self.store.create_token(&new, now, &ev).await?;
        let code_hash = self.code_hash(&id, &code);
        let row = NewChallenge {
            id,
            user_id: user.id,
            token_id: token.id,
            code_hash: Some(code_hash),
            created_at: now,
            expires_at: now.plus_secs(policy.lifetime_seconds),
            max_attempts: policy.max_attempts,
            transaction: None,
            question: None,
        };
        let ev = Event::new(ctx, now, "challenge.create", "success")
            .user(username)
            .serial(serial.as_str())
            .reason(kind.as_str());
        let refused = event("reject", "throttled");
        self.store
            .create_challenges(&[row], &[ev], None, &refused)
            .await?;
        Ok(Enrolled {
            token,
            secret: String::new(),
            uri: String::new(),
        })
    }

    /// An OCRA token, or an HOTP/TOTP/OCRA token imported with a known seed.
    /// A generated seed is shown once and the token waits for a proven code;
    /// an imported one is active at once (the administrator vouches for it).
    pub(super) async fn enroll_seeded(
        &self,
        ctx: &Context,
        username: &str,
        kind: TokenKind,
        req: EnrollRequest,
    ) -> Result<Enrolled, Error> {
        let (algorithm, digits, suite) = match kind {
            TokenKind::Ocra => {
                let text = req.ocra_suite.as_deref().ok_or_else(|| {
                    Error::invalid("invalid_suite", "an ocra token needs an ocra_suite")
                })?;
                let suite: Suite = text.parse().map_err(|e: ichido_otp::ocra::SuiteError| {
                    Error::invalid("invalid_suite", e.to_string())
                })?;
                if suite.pin_hash().is_some() || suite.session_len().is_some() {
                    return Err(Error::invalid(
                        "invalid_suite",
                        "suites with a PIN (P) or session data (S) are not supported",
                    ));
                }
                let digits = suite
                    .truncation()
                    .and_then(|t| Digits::new(t).ok())
                    .ok_or_else(|| {
                        Error::invalid("invalid_suite", "the suite's truncation must be 6-8 digits")
                    })?;
                (suite.algorithm(), digits, Some(suite.as_str().to_owned()))
            }
            _ => {
                let algorithm = match &req.algorithm {
                    Some(a) => a
                        .parse::<Algorithm>()
                        .map_err(|e| Error::invalid("invalid_algorithm", e.to_string()))?,
                    None => Algorithm::Sha1,
                };
                let digits = Digits::new(req.digits.unwrap_or(6))
                    .map_err(|e| Error::invalid("invalid_digits", e.to_string()))?;
                (algorithm, digits, None)
            }
        };
        let params = OathParams {
            kind,
            algorithm,
            digits,
            period: req.period.unwrap_or(30),
        };
        params.validate()?;
        let imported = match (&req.secret_hex, &req.secret) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "invalid_secret",
                    "give secret_hex or secret, not both",
                ));
            }
            (Some(h), None) => Some(
                Secret::from_hex(h).map_err(|e| Error::invalid("invalid_secret", e.to_string()))?,
            ),
            (None, Some(b)) => Some(
                Secret::from_base32(b)
                    .map_err(|e| Error::invalid("invalid_secret", e.to_string()))?,
            ),
            (None, None) => None,
        };
        if imported
            .as_ref()
            .is_some_and(|s| s.len() < 10 || s.len() > 128)
        {
            return Err(Error::invalid(
                "invalid_secret",
                "a seed must be 10-128 bytes (RFC 4226 §4: at least 128 bits, 160 recommended)",
            ));
        }
        let user = self.user(username).await?;
        let now = self.clock.now();
        let generated = imported.is_none();
        let secret = imported.unwrap_or_else(|| Secret::generate(algorithm));
        let issuer = req
            .issuer
            .clone()
            .unwrap_or_else(|| self.settings.default_issuer.clone());
        for _ in 0..3 {
            let serial = Serial::generate(kind.as_str());
            let sealed = self
                .keyring
                .seal(secret.as_bytes(), &Token::secret_aad(&serial));
            let new = NewToken {
                serial: serial.clone(),
                user_id: Some(user.id),
                params,
                state: if generated {
                    TokenState::Pending
                } else {
                    TokenState::Active
                },
                label: req.label.clone(),
                issuer: Some(issuer.clone()),
                sealed_secret: sealed.to_text(),
                pending_until: generated.then(|| now.plus_secs(self.policy.pending_seconds)),
                ocra_suite: suite.clone(),
                address: None,
            };
            let action = if generated {
                "token.enroll"
            } else {
                "token.import"
            };
            let ev = Event::new(ctx, now, action, "success")
                .user(username)
                .serial(serial.as_str());
            match self.store.create_token(&new, now, &ev).await {
                Ok(token) => {
                    let uri = match (generated, kind) {
                        (true, TokenKind::Hotp | TokenKind::Totp) => {
                            super::tokens::key_uri(&params, &issuer, username, secret.clone(), 0)
                                .to_string()
                        }
                        _ => String::new(),
                    };
                    return Ok(Enrolled {
                        token,
                        secret: if generated {
                            secret.to_base32()
                        } else {
                            String::new()
                        },
                        uri,
                    });
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::conflict(
            "serial_collision",
            "could not allocate a unique serial; retry",
        ))
    }
}

fn check_address(kind: TokenKind, a: &str) -> Result<(), Error> {
    let ok = match kind {
        TokenKind::Email => {
            a.len() <= 254
                && a.split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.ends_with('.'))
                && !a
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || "<>,;".contains(c))
        }
        _ => {
            a.len() <= 32
                && a.chars().filter(char::is_ascii_digit).count() >= 5
                && a.chars()
                    .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "invalid_address",
            match kind {
                TokenKind::Email => "an email token needs an address such as name@example.com",
                _ => "an sms token needs a phone number (digits, + - ( ) . and spaces)",
            },
        ))
    }
}

/// The token as it will be stored, for wording the first message.
fn unsaved_token(t: &NewToken, now: crate::clock::Timestamp) -> Token {
    Token {
        id: 0,
        serial: t.serial.clone(),
        user_id: t.user_id,
        params: t.params,
        state: t.state,
        label: t.label.clone(),
        issuer: t.issuer.clone(),
        sealed_secret: String::new(),
        last_counter: None,
        drift: 0,
        failed_count: 0,
        created_at: now,
        activated_at: None,
        last_used_at: None,
        pending_until: t.pending_until,
        ocra_suite: None,
        address: t.address.clone(),
        valid_from: None,
        valid_until: None,
    }
}
