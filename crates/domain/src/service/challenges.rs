//! Challenge–response: `create_challenge` sends a code by email or SMS, or
//! asks an OCRA question (optionally about a transaction to sign); the answer
//! is good once, only for its challenge, before it expires and within a few
//! attempts. A wrong answer counts toward the same user lockout as any code.
//!
//! Without a challenge id, `validate` also accepts the code of any open
//! email or SMS challenge of the user (a gateway that only forwards a code
//! still works); OCRA answers always need their challenge id, since the
//! question is part of what was signed.

use ichido_crypto::SecretString;
use ichido_otp::Secret;
use ichido_otp::ocra::{self, DataInput, Suite};

use super::subject::Subject;
use super::{Ichido, Outcome};
use crate::audit::{Context, Event};
use crate::challenge::{
    Challenge, Consume, NewChallenge, ResendLimit, Transaction, mask_email, mask_phone,
    transaction_question,
};
use crate::clock::Timestamp;
use crate::error::Error;
use crate::ids::Serial;
use crate::notify::{DeliveryError, Email, Message, Outgoing, Sms, render, render_html};
use crate::store::{Failure, Store};
use crate::token::{Token, TokenKind, TokenState};
use crate::user::User;

#[derive(Clone, Debug, Default)]
pub struct ChallengeRequest {
    pub username: String,
    pub password: Option<SecretString>,
    /// Only this token; otherwise every active email, SMS and OCRA token.
    pub serial: Option<String>,
    /// A transfer to sign: only OCRA tokens are asked.
    pub transaction: Option<Transaction>,
    /// The question to ask an OCRA token, when the caller chose it (RFC 6287
    /// §7.1 lets either side make the challenge); otherwise a random one.
    pub question: Option<String>,
}

/// Where a code went, the address masked.
#[derive(Clone, Debug)]
pub struct Channel {
    pub kind: TokenKind,
    pub serial: Serial,
    pub to: String,
}

/// The question an OCRA token must answer.
#[derive(Clone, Debug)]
pub struct OcraQuestion {
    pub serial: Serial,
    pub suite: String,
    pub question: String,
}

#[derive(Clone, Debug)]
pub struct Issued {
    pub challenge_id: String,
    pub expires_at: Timestamp,
    pub channels: Vec<Channel>,
    pub ocra: Vec<OcraQuestion>,
}

#[derive(Debug, thiserror::Error)]
pub enum ChallengeError {
    /// Asked again too soon; the next challenge is allowed at `retry_at`.
    #[error("too many challenges; the next is allowed later")]
    Throttled { retry_at: Timestamp },
    /// An enrolment's first code could not be sent; nothing was stored but
    /// the audit event.
    #[error("the code could not be sent: {0}")]
    Delivery(DeliveryError),
    #[error(transparent)]
    Other(#[from] Error),
}

impl From<crate::error::StoreError> for ChallengeError {
    fn from(e: crate::error::StoreError) -> Self {
        ChallengeError::Other(e.into())
    }
}

/// A code or question made for one token, before it is stored.
struct Prepared {
    row: NewChallenge,
    token: Token,
    code: Option<String>,
}

impl<S: Store> Ichido<S> {
    /// `POST /v1/challenges`. What the caller learns: without the user's
    /// password (where policy requires it) nothing but a 422, the same for
    /// every username; with a wrong password, for an unknown or locked user
    /// or one without such tokens, an empty answer with a made-up id; with
    /// the right password, where the codes go (masked) or a throttle's 429.
    /// The codes leave through the outbox after the answer.
    pub async fn create_challenge(
        &self,
        ctx: &Context,
        req: ChallengeRequest,
    ) -> Result<Issued, ChallengeError> {
        if let Some(tx) = &req.transaction {
            tx.check()?;
            if req.question.is_some() {
                return Err(Error::invalid(
                    "invalid_question",
                    "a transaction's question is derived from it; give one or the other",
                )
                .into());
            }
        }
        let policy = self.challenge_policy().clone();
        if policy.require_password && req.password.is_none() {
            return Err(Error::invalid(
                "password_required",
                "a code is sent only with the user's password",
            )
            .into());
        }
        let now = self.clock.now();
        let subject = self
            .subject(
                &req.username,
                req.password.as_ref().map(SecretString::expose),
                now,
            )
            .await?;
        self.issue_challenge(ctx, &subject, &req, now).await
    }

    /// The challenge itself, once the prologue has found the subject: also
    /// the second step of a sign-in (`signin`), which sends the code of a
    /// user without an authenticator app the same way.
    pub(super) async fn issue_challenge(
        &self,
        ctx: &Context,
        subject: &Subject,
        req: &ChallengeRequest,
        now: Timestamp,
    ) -> Result<Issued, ChallengeError> {
        let policy = self.challenge_policy().clone();
        let id = ichido_crypto::random::token(16);
        let mut issued = Issued {
            challenge_id: id.clone(),
            expires_at: now.plus_secs(policy.lifetime_seconds),
            channels: Vec::new(),
            ocra: Vec::new(),
        };
        let event = |result: &str, reason: &str| {
            Event::new(ctx, now, "challenge.create", result)
                .user(&req.username)
                .reason(reason)
        };
        let tokens = self.challenge_tokens(subject, req, now).await?;
        let Some(user) = subject.ready().filter(|_| !tokens.is_empty()) else {
            let refused = event("reject", "no_challenge_token");
            match subject.ready() {
                // The right password: nothing to count against the user.
                Some(_) => self.store.append_audit(&refused).await?,
                None => {
                    self.refuse(subject, refused, "no_challenge_token", Vec::new(), now)
                        .await?
                }
            }
            return Ok(issued);
        };

        let mut prepared = Vec::new();
        for t in tokens {
            prepared.push(self.prepare(&id, user, t, now, req)?);
        }
        let sent_to: Vec<i64> = prepared
            .iter()
            .filter(|p| p.code.is_some())
            .map(|p| p.token.id)
            .collect();
        let limit = (!sent_to.is_empty()).then(|| ResendLimit {
            user_id: user.id,
            tokens: sent_to,
            policy: policy.clone(),
            now,
        });
        let rows: Vec<NewChallenge> = prepared.iter().map(|p| p.row.clone()).collect();
        let events: Vec<Event> = prepared
            .iter()
            .map(|p| event("success", p.token.params.kind.as_str()).serial(p.token.serial.as_str()))
            .collect();
        let refused = event("reject", "throttled");
        if let Some(retry_at) = self
            .store
            .create_challenges(&rows, &events, limit.as_ref(), &refused)
            .await?
        {
            return Err(ChallengeError::Throttled { retry_at });
        }
        for p in prepared {
            let t = p.token;
            match (&p.code, &p.row.question) {
                (Some(code), _) => {
                    let on_failure = Event::new(ctx, now, "challenge.send", "failure")
                        .user(user.username.as_str())
                        .serial(t.serial.as_str());
                    self.outbox().post(Outgoing {
                        message: self.code_message(user, &t, code),
                        on_failure,
                    });
                    issued.channels.push(Channel {
                        kind: t.params.kind,
                        to: mask(t.params.kind, t.address.as_deref().unwrap_or_default()),
                        serial: t.serial,
                    });
                }
                (None, Some(q)) => issued.ocra.push(OcraQuestion {
                    suite: t.ocra_suite.clone().unwrap_or_default(),
                    serial: t.serial,
                    question: q.clone(),
                }),
                (None, None) => {}
            }
        }
        Ok(issued)
    }

    /// The tokens a challenge goes to. A named token is read whoever the
    /// subject is (the same read for all), and may also be one still
    /// pending: its activation code.
    async fn challenge_tokens(
        &self,
        subject: &Subject,
        req: &ChallengeRequest,
        now: Timestamp,
    ) -> Result<Vec<Token>, Error> {
        let wanted = |t: &Token| {
            let kind_ok = match &req.transaction {
                Some(_) => t.params.kind == TokenKind::Ocra,
                None => !t.params.kind.is_oath(),
            };
            kind_ok && t.user_id == Some(subject.id())
        };
        Ok(match &req.serial {
            Some(serial) => self
                .store
                .token_by_serial(serial)
                .await?
                .filter(|t| {
                    wanted(t)
                        && (t.state == TokenState::Active && t.valid_at(now)
                            || t.state == TokenState::Pending
                                && t.pending_until.is_none_or(|u| u > now))
                })
                .into_iter()
                .collect(),
            None => subject
                .tokens
                .iter()
                .filter(|t| wanted(t))
                .cloned()
                .collect(),
        })
    }

    /// One per `resend_min_seconds` to the same tokens,
    /// `resend_max_per_window` per window. For enrolment, an administrator's
    /// act, read then checked: the request-facing paths check it inside the
    /// write instead (see `Store::create_challenges`).
    pub(super) async fn check_resend(
        &self,
        user: &User,
        tokens: &[i64],
        now: Timestamp,
        event: &impl Fn(&str, &str) -> Event,
    ) -> Result<(), ChallengeError> {
        let limit = ResendLimit {
            user_id: user.id,
            tokens: tokens.to_vec(),
            policy: self.challenge_policy().clone(),
            now,
        };
        let stats = self
            .store
            .resend_stats(user.id, tokens, limit.since())
            .await?;
        if let Some(retry_at) = limit.retry_at(&stats) {
            self.store
                .append_audit(&event("reject", "throttled"))
                .await?;
            return Err(ChallengeError::Throttled { retry_at });
        }
        Ok(())
    }

    fn prepare(
        &self,
        id: &str,
        user: &User,
        token: Token,
        now: Timestamp,
        req: &ChallengeRequest,
    ) -> Result<Prepared, Error> {
        let tx = &req.transaction;
        let p = self.challenge_policy();
        let mut row = NewChallenge {
            id: id.to_owned(),
            user_id: user.id,
            token_id: token.id,
            code_hash: None,
            created_at: now,
            expires_at: now.plus_secs(p.lifetime_seconds),
            max_attempts: p.max_attempts,
            transaction: tx.as_ref().map(Transaction::canonical),
            question: None,
        };
        let mut code = None;
        if token.params.kind == TokenKind::Ocra {
            let suite = token_suite(&token)?;
            row.question = Some(match (tx, &req.question) {
                (Some(tx), _) => transaction_question(&suite, id, tx),
                (None, Some(q)) => {
                    suite
                        .check_challenge(q)
                        .map_err(|e| Error::invalid("invalid_question", e.to_string()))?;
                    q.clone()
                }
                (None, None) => random_question(&suite),
            });
        } else {
            let c = ichido_crypto::random::digits(usize::from(p.digits));
            row.code_hash = Some(self.code_hash(id, &c));
            code = Some(c);
        }
        Ok(Prepared { row, token, code })
    }

    pub(super) fn code_hash(&self, challenge_id: &str, code: &str) -> String {
        self.keyring
            .hasher("challenge-code")
            .hash_hex(format!("{challenge_id}:{code}").as_bytes())
    }

    /// The email or SMS that carries `code` to `token`'s address.
    pub(super) fn code_message(&self, user: &User, token: &Token, code: &str) -> Message {
        let p = self.challenge_policy();
        let t = self.templates();
        let minutes = (p.lifetime_seconds / 60).max(1).to_string();
        let lifetime = crate::notify::lifetime_text(p.lifetime_seconds);
        let issuer = token
            .issuer
            .clone()
            .unwrap_or_else(|| self.settings.default_issuer.clone());
        let values = [
            ("code", code),
            ("minutes", minutes.as_str()),
            ("lifetime", lifetime.as_str()),
            ("issuer", issuer.as_str()),
            ("username", user.username.as_str()),
        ];
        let to = token.address.clone().unwrap_or_default();
        match token.params.kind {
            TokenKind::Email => Message::Email(Email {
                to,
                subject: render(&t.code_subject, &values),
                text: render(&t.code_text, &values),
                html: render_html(&t.code_html, &values),
            }),
            _ => Message::Sms(Sms {
                to,
                message: render(&t.code_sms, &values),
            }),
        }
    }

    /// Sends a code now, waiting for the relay: only for enrolment, where
    /// the administrator is told at once that an address does not work.
    pub(super) async fn send_code(
        &self,
        user: &User,
        token: &Token,
        code: &str,
    ) -> Result<(), DeliveryError> {
        match self.code_message(user, token, code) {
            Message::Email(email) => self.delivery().send_email(&email).await,
            Message::Sms(sms) => self.delivery().send_sms(&sms).await,
        }
    }

    pub(super) fn failure(&self, user: &User, now: Timestamp) -> Failure {
        Failure {
            user_id: user.id,
            max_failures: self.policy.max_failures,
            lock_until: now.plus_secs(self.policy.lockout_seconds),
            now,
            challenges: Vec::new(),
            signin: None,
        }
    }

    /// `POST /v1/validate` with a `challenge_id`: only that challenge
    /// counts. The same prologue and ending as `validate`; the challenge is
    /// read whoever the subject is, and kept only when it is theirs.
    pub async fn validate_challenge(
        &self,
        ctx: &Context,
        username: &str,
        challenge_id: &str,
        code: &str,
        pw: Option<&str>,
        tx: Option<&Transaction>,
    ) -> Result<Outcome, Error> {
        let now = self.clock.now();
        let event = |result: &str| Event::new(ctx, now, "validate", result).user(username);
        let subject = self.subject(username, pw, now).await?;
        let rows: Vec<Challenge> = self
            .store
            .challenge(challenge_id)
            .await?
            .into_iter()
            .filter(|r| r.user_id == subject.id())
            .collect();
        let refuse = |reason: &'static str, tried: bool| {
            let tried = if tried {
                vec![challenge_id.to_owned()]
            } else {
                Vec::new()
            };
            self.refuse(&subject, event("reject"), reason, tried, now)
        };
        let Some(first) = rows.first() else {
            refuse("challenge_unknown", false).await?;
            return Ok(Outcome::Reject);
        };
        let closed = if first.used_at.is_some() {
            Some("challenge_used")
        } else if first.expires_at <= now {
            Some("challenge_expired")
        } else if first.attempts >= first.max_attempts {
            Some("challenge_exhausted")
        } else {
            None
        };
        if let Some(reason) = closed {
            refuse(reason, false).await?;
            return Ok(Outcome::Reject);
        }
        if let (Some(tx), Some(stored)) = (tx, &first.transaction)
            && tx.canonical() != *stored
        {
            refuse("transaction_mismatch", true).await?;
            return Ok(Outcome::Reject);
        }
        for r in &rows {
            let Some(t) = subject.tokens.iter().find(|t| t.id == r.token_id) else {
                continue;
            };
            let Some(counter) = self.answer_matches(r, t, code, tx, now)? else {
                continue;
            };
            let mut evs = vec![
                event("accept")
                    .serial(t.serial.as_str())
                    .reason("challenge"),
            ];
            if let Some(signed) = r.transaction.as_deref() {
                evs.push(
                    Event::new(ctx, now, "ocra.sign", "success")
                        .user(username)
                        .serial(t.serial.as_str())
                        .reason(&signed_summary(signed)),
                );
            }
            let c = Consume {
                challenge_id: r.id.clone(),
                user_id: subject.id(),
                token_id: t.id,
                counter,
                activate: false,
                now,
            };
            if self.store.consume_challenge(&c, &evs).await? {
                return Ok(Outcome::Accept {
                    serial: t.serial.clone(),
                });
            }
            refuse("challenge_used", false).await?;
            return Ok(Outcome::Reject);
        }
        refuse("challenge_wrong_code", true).await?;
        Ok(Outcome::Reject)
    }

    /// Without a challenge id: does the code answer one of the subject's
    /// open email or SMS challenges? Read for every subject. On no match,
    /// the ids of those challenges, for the failure to count against.
    pub(super) async fn accept_open_challenge(
        &self,
        ctx: &Context,
        subject: &Subject,
        code: &str,
        now: Timestamp,
    ) -> Result<Result<Outcome, Vec<String>>, Error> {
        let open: Vec<Challenge> = self
            .store
            .open_challenges(subject.id(), now)
            .await?
            .into_iter()
            .filter(|c| c.code_hash.is_some())
            .collect();
        for r in &open {
            let Some(t) = subject.tokens.iter().find(|t| t.id == r.token_id) else {
                continue;
            };
            if self.answer_matches(r, t, code, None, now)?.is_none() {
                continue;
            }
            let username = subject.ready().map(|u| u.username.as_str());
            let ev = Event::new(ctx, now, "validate", "accept")
                .user(username.unwrap_or_default())
                .serial(t.serial.as_str())
                .reason("challenge");
            let c = Consume {
                challenge_id: r.id.clone(),
                user_id: subject.id(),
                token_id: t.id,
                counter: None,
                activate: false,
                now,
            };
            if self.store.consume_challenge(&c, &[ev]).await? {
                return Ok(Ok(Outcome::Accept {
                    serial: t.serial.clone(),
                }));
            }
        }
        let mut ids: Vec<String> = open.into_iter().map(|c| c.id).collect();
        ids.dedup();
        Ok(Err(ids))
    }

    /// Activation of an email, SMS or OCRA token: the code answers the
    /// token's newest open challenge.
    pub(super) async fn activate_by_challenge(
        &self,
        ctx: &Context,
        t: &Token,
        username: &str,
        code: &str,
    ) -> Result<Token, Error> {
        let now = self.clock.now();
        let user_id = t.user_id.unwrap_or_default();
        let open: Vec<Challenge> = self
            .store
            .open_challenges(user_id, now)
            .await?
            .into_iter()
            .filter(|c| c.token_id == t.id)
            .collect();
        for r in &open {
            let Some(counter) = self.answer_matches(r, t, code, None, now)? else {
                continue;
            };
            let ev = Event::new(ctx, now, "token.activate", "success")
                .user(username)
                .serial(t.serial.as_str());
            let c = Consume {
                challenge_id: r.id.clone(),
                user_id,
                token_id: t.id,
                counter,
                activate: true,
                now,
            };
            if self.store.consume_challenge(&c, &[ev]).await? {
                return self.token(t.serial.as_str()).await;
            }
        }
        if !open.is_empty() {
            let ids: Vec<String> = open.into_iter().map(|c| c.id).collect();
            self.store.challenge_attempt(&ids).await?;
        }
        let ev = Event::new(ctx, now, "token.activate", "failure")
            .user(username)
            .serial(t.serial.as_str())
            .reason("wrong_code");
        self.store.append_audit(&ev).await?;
        Err(Error::invalid(
            "invalid_code",
            "the code does not answer an open challenge of this token",
        ))
    }

    /// `Some(counter)` when `code` answers challenge row `r` for token `t`
    /// (the counter is what an OCRA `C` suite used up).
    fn answer_matches(
        &self,
        r: &Challenge,
        t: &Token,
        code: &str,
        tx: Option<&Transaction>,
        now: Timestamp,
    ) -> Result<Option<Option<i64>>, Error> {
        if let Some(hash) = &r.code_hash {
            let mut expected = [0u8; 32];
            if hex::decode_to_slice(hash, &mut expected).is_err() {
                return Ok(None);
            }
            let ok = self
                .keyring
                .hasher("challenge-code")
                .verify(format!("{}:{code}", r.id).as_bytes(), &expected);
            return Ok(ok.then_some(None));
        }
        let (Some(question), TokenKind::Ocra) = (&r.question, t.params.kind) else {
            return Ok(None);
        };
        // With the transaction given again, the question is derived anew from
        // it: a changed amount asks a different question.
        let suite = token_suite(t)?;
        let question = match tx {
            Some(tx) => transaction_question(&suite, &r.id, tx),
            None => question.clone(),
        };
        let secret: Secret = self.open_secret(t)?;
        let mut input = DataInput::challenge(question);
        let mut window = ichido_otp::Window {
            behind: 0,
            ahead: 0,
        };
        if suite.has_counter() {
            input = input.with_counter(t.last_counter.map_or(0, |c| c as u64 + 1));
            window.ahead = self.policy.hotp_look_ahead;
        }
        if suite.time_step().is_some() {
            input = input.with_timestamp(now.unix_secs());
            window = self.policy.totp_window();
        }
        let found = ocra::verify_in_window(&suite, &secret, &input, code, window)
            .map_err(|e| Error::invalid("invalid_suite", e.to_string()))?;
        Ok(found.map(|v| suite.has_counter().then_some(v.counter as i64)))
    }
}

pub(super) fn token_suite(t: &Token) -> Result<Suite, Error> {
    t.ocra_suite
        .as_deref()
        .unwrap_or_default()
        .parse::<Suite>()
        .map_err(|e| Error::invalid("invalid_suite", e.to_string()))
}

/// A random question of the suite's full length and format (RFC 6287 §7.1).
fn random_question(suite: &Suite) -> String {
    use ichido_otp::ocra::ChallengeFormat;
    let len = suite.challenge_len();
    match suite.challenge_format() {
        ChallengeFormat::Numeric => ichido_crypto::random::digits(len),
        ChallengeFormat::Hex | ChallengeFormat::Alphanumeric => {
            let mut h = hex::encode_upper(ichido_crypto::random::bytes(len.div_ceil(2)));
            h.truncate(len);
            h
        }
    }
}

fn mask(kind: TokenKind, address: &str) -> String {
    match kind {
        TokenKind::Email => mask_email(address),
        _ => mask_phone(address),
    }
}

/// `amount=… currency=… payee=…` from the stored canonical transaction.
fn signed_summary(canonical: &str) -> String {
    match serde_json::from_str::<(String, String, String)>(canonical) {
        Ok((amount, currency, payee)) => Transaction {
            amount,
            currency,
            payee,
        }
        .summary(),
        Err(_) => canonical.to_owned(),
    }
}
