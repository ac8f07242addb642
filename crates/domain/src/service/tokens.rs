use ichido_crypto::{SecretBytes, SecretString};
use ichido_otp::{Algorithm, Code, Digits, KeyUri, Secret, UriKind, Window};

use super::Ichido;
use crate::audit::{Context, Event};
use crate::error::{Error, StoreError};
use crate::ids::Serial;
use crate::store::{Acceptance, Store};
use crate::token::{NewToken, OathParams, Token, TokenKind, TokenState, Validity};

#[derive(Clone, Debug, Default)]
pub struct EnrollRequest {
    pub kind: String,
    pub label: Option<String>,
    pub issuer: Option<String>,
    pub algorithm: Option<String>,
    pub digits: Option<u8>,
    pub period: Option<u64>,
    /// OCRA tokens: the suite, e.g. `OCRA-1:HOTP-SHA1-6:QN08`.
    pub ocra_suite: Option<String>,
    /// Email and SMS tokens: where codes go (default: the user's email or phone).
    pub address: Option<String>,
    /// A known seed to import (hardware tokens), hex or base32.
    pub secret_hex: Option<SecretString>,
    pub secret: Option<SecretString>,
    /// When the token may be used; open at both ends by default.
    pub validity: Validity,
}

/// A new pending token and the only copy of its seed that ever leaves the server.
pub struct Enrolled {
    pub token: Token,
    pub secret: String,
    pub uri: String,
}

fn check_text(field: &'static str, code: &'static str, v: &Option<String>) -> Result<(), Error> {
    match v {
        Some(s) if s.is_empty() || s.chars().count() > 128 || s.chars().any(char::is_control) => {
            Err(Error::invalid(
                code,
                format!("{field} must be 1-128 printable characters"),
            ))
        }
        _ => Ok(()),
    }
}

impl<S: Store> Ichido<S> {
    pub async fn token(&self, serial: &str) -> Result<Token, Error> {
        Serial::parse(serial)?;
        self.store
            .token_by_serial(serial)
            .await?
            .ok_or(Error::NotFound("token"))
    }

    pub async fn tokens_of(&self, username: &str) -> Result<Vec<Token>, Error> {
        let user = self.user(username).await?;
        Ok(self.store.tokens_of_user(user.id).await?)
    }

    pub(crate) fn open_secret(&self, t: &Token) -> Result<Secret, Error> {
        let sealed =
            ichido_crypto::Sealed::from_text(&t.sealed_secret).map_err(|_| Error::Unseal)?;
        let bytes: SecretBytes = self
            .keyring
            .open(&sealed, &Token::secret_aad(&t.serial))
            .map_err(|_| Error::Unseal)?;
        Ok(Secret::new(bytes.as_bytes().to_vec()))
    }

    /// Step one of enrollment: a pending token and its seed, shown once.
    pub async fn enroll(
        &self,
        ctx: &Context,
        username: &str,
        req: EnrollRequest,
    ) -> Result<Enrolled, Error> {
        req.validity.check()?;
        let kind = TokenKind::parse(&req.kind).ok_or_else(|| {
            Error::invalid(
                "invalid_type",
                "type must be \"totp\", \"hotp\", \"ocra\", \"email\" or \"sms\"",
            )
        })?;
        if kind.is_out_of_band() {
            return Err(Error::invalid(
                "invalid_type",
                "email and sms tokens are enrolled by sending a first code",
            ));
        }
        if kind == TokenKind::Ocra || req.secret.is_some() || req.secret_hex.is_some() {
            return self.enroll_seeded(ctx, username, kind, req).await;
        }
        if req.ocra_suite.is_some() || req.address.is_some() {
            return Err(Error::invalid(
                "invalid_field",
                "ocra_suite and address belong to ocra, email and sms tokens",
            ));
        }
        let algorithm = match &req.algorithm {
            Some(a) => a
                .parse::<Algorithm>()
                .map_err(|e| Error::invalid("invalid_algorithm", e.to_string()))?,
            None => Algorithm::Sha1,
        };
        let digits = Digits::new(req.digits.unwrap_or(6))
            .map_err(|e| Error::invalid("invalid_digits", e.to_string()))?;
        let params = OathParams {
            kind,
            algorithm,
            digits,
            period: req.period.unwrap_or(30),
        };
        params.validate()?;
        check_text("label", "invalid_label", &req.label)?;
        check_text("issuer", "invalid_issuer", &req.issuer)?;
        let user = self.user(username).await?;

        let secret = Secret::generate(algorithm);
        let issuer = req
            .issuer
            .clone()
            .unwrap_or_else(|| self.settings.default_issuer.clone());
        let uri = key_uri(&params, &issuer, username, secret.clone(), 0);
        let now = self.clock.now();
        // A serial collision is astronomically rare but cheap to survive.
        for _ in 0..3 {
            let mut new =
                self.pending_token(user.id, params, req.label.clone(), &issuer, &secret, now);
            new.valid_from = req.validity.from;
            new.valid_until = req.validity.until;
            let serial = new.serial.clone();
            let ev = Event::new(ctx, now, "token.enroll", "success")
                .user(username)
                .serial(serial.as_str());
            match self.store.create_token(&new, now, &ev).await {
                Ok(token) => {
                    return Ok(Enrolled {
                        token,
                        secret: secret.to_base32(),
                        uri: uri.to_string(),
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

    /// A pending OATH token of the user under a fresh serial, its seed
    /// sealed to that serial.
    pub(super) fn pending_token(
        &self,
        user_id: i64,
        params: OathParams,
        label: Option<String>,
        issuer: &str,
        secret: &Secret,
        now: crate::clock::Timestamp,
    ) -> NewToken {
        let serial = Serial::generate(params.kind.as_str());
        let sealed = self
            .keyring
            .seal(secret.as_bytes(), &Token::secret_aad(&serial));
        NewToken {
            serial,
            user_id: Some(user_id),
            params,
            state: TokenState::Pending,
            label,
            issuer: Some(issuer.to_owned()),
            sealed_secret: sealed.to_text(),
            pending_until: Some(now.plus_secs(self.policy.pending_seconds)),
            ocra_suite: None,
            address: None,
            valid_from: None,
            valid_until: None,
        }
    }

    /// The Key URI of a token still pending, for its QR code. Once the token
    /// is active its seed never leaves the server again.
    pub async fn pending_uri(&self, serial: &str) -> Result<String, Error> {
        let t = self.token(serial).await?;
        if !t.params.kind.is_oath() {
            return Err(Error::conflict(
                "no_key_uri",
                "only hotp and totp tokens have a Key URI",
            ));
        }
        if t.state != TokenState::Pending || t.pending_until.is_some_and(|u| u <= self.clock.now())
        {
            return Err(Error::conflict(
                "token_not_pending",
                "the seed is only shown while the token is pending",
            ));
        }
        let account = match t.user_id {
            Some(id) => self
                .store
                .user_by_id(id)
                .await?
                .map(|u| u.username.to_string())
                .unwrap_or_default(),
            None => String::new(),
        };
        let issuer = t
            .issuer
            .clone()
            .unwrap_or_else(|| self.settings.default_issuer.clone());
        let secret = self.open_secret(&t)?;
        Ok(key_uri(&t.params, &issuer, &account, secret, 0).to_string())
    }

    /// Step two of enrollment: the token works only once a code from it verified.
    pub async fn activate(&self, ctx: &Context, serial: &str, code: &str) -> Result<Token, Error> {
        let t = self.token(serial).await?;
        let now = self.clock.now();
        let username = self.owner_name(&t).await?;
        let fail = |reason: &str| {
            Event::new(ctx, now, "token.activate", "failure")
                .user(&username)
                .serial(serial)
                .reason(reason)
        };
        if t.state != TokenState::Pending {
            self.store.append_audit(&fail("not_pending")).await?;
            return Err(Error::conflict(
                "token_not_pending",
                "only a pending token can be activated",
            ));
        }
        if t.pending_until.is_some_and(|u| u <= now) {
            self.store.append_audit(&fail("expired")).await?;
            return Err(Error::conflict(
                "enrollment_expired",
                "the enrollment expired; enroll the token again",
            ));
        }
        if !t.params.kind.is_oath() {
            return self.activate_by_challenge(ctx, &t, &username, code).await;
        }
        let secret = self.open_secret(&t)?;
        let matched = Code::parse(code, t.params.digits)
            .ok()
            .and_then(|c| match t.params.kind {
                TokenKind::Totp => t.params.totp().verify(
                    &secret,
                    &c,
                    now.unix_secs(),
                    self.policy.totp_window(),
                    0,
                    None,
                ),
                TokenKind::Hotp => {
                    t.params
                        .hotp()
                        .verify(&secret, &c, 0, self.policy.hotp_look_ahead)
                }
                _ => None,
            });
        let Some(v) = matched else {
            self.store.append_audit(&fail("wrong_code")).await?;
            return Err(Error::invalid(
                "invalid_code",
                "the code does not match this token",
            ));
        };
        let acc = Acceptance {
            token_id: t.id,
            user_id: t.user_id.unwrap_or_default(),
            counter: v.counter as i64,
            drift: if t.params.kind == TokenKind::Totp {
                v.drift
            } else {
                0
            },
            now,
        };
        let ev = Event::new(ctx, now, "token.activate", "success")
            .user(&username)
            .serial(serial);
        if !self.store.activate_token(&acc, &ev).await? {
            return Err(Error::conflict(
                "token_not_pending",
                "the token was activated or changed meanwhile",
            ));
        }
        self.token(serial).await
    }

    /// The username a token is assigned to, if any.
    pub async fn token_owner(&self, t: &Token) -> Result<Option<String>, Error> {
        Ok(match t.user_id {
            Some(id) => self
                .store
                .user_by_id(id)
                .await?
                .map(|u| u.username.to_string()),
            None => None,
        })
    }

    pub(crate) async fn owner_name(&self, t: &Token) -> Result<String, Error> {
        Ok(match t.user_id {
            Some(id) => self
                .store
                .user_by_id(id)
                .await?
                .map(|u| u.username.to_string())
                .unwrap_or_default(),
            None => String::new(),
        })
    }

    async fn transition(
        &self,
        ctx: &Context,
        serial: &str,
        from: &[TokenState],
        to: TokenState,
        action: &str,
    ) -> Result<Token, Error> {
        let t = self.token(serial).await?;
        let username = self.owner_name(&t).await?;
        let now = self.clock.now();
        let ev = Event::new(ctx, now, action, "success")
            .user(&username)
            .serial(serial);
        if !self.store.set_token_state(t.id, from, to, now, &ev).await? {
            return Err(Error::conflict(
                "invalid_state",
                format!("a {} token cannot become {}", t.state.as_str(), to.as_str()),
            ));
        }
        self.token(serial).await
    }

    pub async fn disable_token(&self, ctx: &Context, serial: &str) -> Result<Token, Error> {
        self.transition(
            ctx,
            serial,
            &[TokenState::Active],
            TokenState::Disabled,
            "token.disable",
        )
        .await
    }

    pub async fn enable_token(&self, ctx: &Context, serial: &str) -> Result<Token, Error> {
        self.transition(
            ctx,
            serial,
            &[TokenState::Disabled],
            TokenState::Active,
            "token.enable",
        )
        .await
    }

    /// Permanent: a revoked token never validates again and its seed is erased.
    pub async fn revoke_token(&self, ctx: &Context, serial: &str) -> Result<Token, Error> {
        let from = [
            TokenState::Pending,
            TokenState::Active,
            TokenState::Disabled,
        ];
        self.transition(ctx, serial, &from, TokenState::Revoked, "token.revoke")
            .await
    }

    pub async fn set_label(
        &self,
        ctx: &Context,
        serial: &str,
        label: Option<String>,
    ) -> Result<Token, Error> {
        check_text("label", "invalid_label", &label)?;
        let t = self.token(serial).await?;
        let username = self.owner_name(&t).await?;
        let ev = Event::new(ctx, self.clock.now(), "token.update", "success")
            .user(&username)
            .serial(serial);
        self.store
            .set_token_label(t.id, label.as_deref(), &ev)
            .await?;
        self.token(serial).await
    }

    /// Sets when the token may be used; outside that period no code from it
    /// matches.
    pub async fn set_validity(
        &self,
        ctx: &Context,
        serial: &str,
        validity: Validity,
    ) -> Result<Token, Error> {
        validity.check()?;
        let t = self.token(serial).await?;
        let username = self.owner_name(&t).await?;
        let ev = Event::new(ctx, self.clock.now(), "token.update.validity", "success")
            .user(&username)
            .serial(serial);
        self.store.set_token_validity(t.id, validity, &ev).await?;
        self.token(serial).await
    }

    /// Re-learns a token's position from two consecutive codes found anywhere
    /// in the resync window, far beyond the normal one.
    pub async fn resync(
        &self,
        ctx: &Context,
        serial: &str,
        code1: &str,
        code2: &str,
    ) -> Result<Token, Error> {
        let t = self.token(serial).await?;
        let username = self.owner_name(&t).await?;
        let now = self.clock.now();
        if !t.params.kind.is_oath() {
            return Err(Error::conflict(
                "invalid_type",
                "only hotp and totp tokens can be resynchronised",
            ));
        }
        if !matches!(t.state, TokenState::Active | TokenState::Disabled) {
            return Err(Error::conflict(
                "invalid_state",
                "only an active or disabled token can be resynchronised",
            ));
        }
        let (c1, c2) = match (
            Code::parse(code1, t.params.digits),
            Code::parse(code2, t.params.digits),
        ) {
            (Ok(a), Ok(b)) => (a, b),
            _ => {
                return Err(Error::invalid(
                    "invalid_code",
                    "codes must have the token's number of digits",
                ));
            }
        };
        let secret = self.open_secret(&t)?;
        let last = t.last_counter.map(|c| c as u64);
        let w = self.policy.resync_window;
        let found = match t.params.kind {
            TokenKind::Hotp => {
                let start = last.map_or(0, |l| l + 1);
                t.params
                    .hotp()
                    .verify(&secret, &c1, start, w)
                    .and_then(|v| {
                        t.params
                            .hotp()
                            .verify(&secret, &c2, v.counter + 1, 0)
                            .map(|v2| (v2.counter, 0))
                    })
            }
            TokenKind::Totp => {
                let totp = t.params.totp();
                let window = Window {
                    behind: w,
                    ahead: w,
                };
                totp.verify(&secret, &c1, now.unix_secs(), window, 0, last)
                    .and_then(|v| {
                        let next = v.counter + 1;
                        (totp.generate_at_step(&secret, next) == c2)
                            .then(|| (next, next as i64 - totp.step(now.unix_secs()) as i64))
                    })
            }
            _ => None,
        };
        let Some((counter, drift)) = found else {
            let ev = Event::new(ctx, now, "token.resync", "failure")
                .user(&username)
                .serial(serial)
                .reason("no_match");
            self.store.append_audit(&ev).await?;
            return Err(Error::invalid(
                "resync_failed",
                "no two consecutive codes found in the resync window",
            ));
        };
        let acc = Acceptance {
            token_id: t.id,
            user_id: t.user_id.unwrap_or_default(),
            counter: counter as i64,
            drift,
            now,
        };
        let ev = Event::new(ctx, now, "token.resync", "success")
            .user(&username)
            .serial(serial);
        if !self.store.resync_token(&acc, &ev).await? {
            return Err(Error::conflict(
                "code_used",
                "these codes were already used",
            ));
        }
        self.token(serial).await
    }
}

pub(super) fn key_uri(
    p: &OathParams,
    issuer: &str,
    account: &str,
    secret: Secret,
    counter: u64,
) -> KeyUri {
    KeyUri {
        kind: match p.kind {
            TokenKind::Totp => UriKind::Totp { period: p.period },
            _ => UriKind::Hotp { counter },
        },
        issuer: Some(issuer.to_owned()),
        account: account.to_owned(),
        secret,
        algorithm: p.algorithm,
        digits: p.digits,
    }
}
