//! Challenge–response: `create_challenge` sends a code by email or SMS, or
//! asks an OCRA question (optionally about a transaction to sign); the answer
//! is good once, only for its challenge, before it expires and within a few
//! attempts. A wrong answer counts toward the same user lockout as any code.
//!
//! Without a challenge id, `validate` also accepts the code of any open
//! email or SMS challenge of the user (a gateway that only forwards a code
//! still works); OCRA answers always need their challenge id, since the
//! question is part of what was signed.

use ichido_crypto::password;
use ichido_otp::Secret;
use ichido_otp::ocra::{self, DataInput, Suite};

use super::{Ichido, Outcome};
use crate::audit::{Context, Event};
use crate::challenge::{
    Challenge, Consume, NewChallenge, Transaction, mask_email, mask_phone, transaction_question,
};
use crate::clock::Timestamp;
use crate::error::Error;
use crate::ids::Serial;
use crate::notify::{DeliveryError, Email, Sms, render, render_html};
use crate::store::{Failure, Store};
use crate::token::{Token, TokenKind, TokenState};
use crate::user::User;

#[derive(Clone, Debug, Default)]
pub struct ChallengeRequest {
    pub username: String,
    pub password: Option<String>,
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
    /// No message could be sent; nothing was stored but the audit event.
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
    /// `POST /v1/challenges`. An unknown user, a wrong password, a locked
    /// user and a user without such tokens all get an empty answer with a
    /// made-up id, so the answer says nothing about the account.
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
        let now = self.clock.now();
        let policy = self.challenge_policy().clone();
        let id = ichido_crypto::random::token(16);
        let expires_at = now.plus_secs(policy.lifetime_seconds);
        let empty = Issued {
            challenge_id: id.clone(),
            expires_at,
            channels: Vec::new(),
            ocra: Vec::new(),
        };
        let event = |result: &str, reason: &str| {
            Event::new(ctx, now, "challenge.create", result)
                .user(&req.username)
                .reason(reason)
        };

        let Some(user) = self.store.user_by_name(&req.username).await? else {
            if let Some(pw) = &req.password {
                password::dummy_verify(pw, self.settings.password_cost);
            }
            self.store
                .append_audit(&event("reject", "unknown_user"))
                .await?;
            return Ok(empty);
        };
        if user.is_locked(now) {
            self.store.append_audit(&event("reject", "locked")).await?;
            return Ok(empty);
        }
        if let Some(pw) = &req.password {
            let ok = user
                .password_hash
                .as_deref()
                .is_some_and(|h| password::verify(pw, h));
            if !ok {
                self.store
                    .record_failure(
                        &self.failure(&user, now),
                        &event("reject", "wrong_password"),
                    )
                    .await?;
                return Ok(empty);
            }
        }

        let tokens = self.challenge_tokens(&user, &req).await?;
        if tokens.is_empty() {
            self.store
                .append_audit(&event("reject", "no_challenge_token"))
                .await?;
            return Ok(empty);
        }
        if tokens.iter().any(|t| t.params.kind.is_out_of_band()) {
            self.check_resend(&user, now, &event).await?;
        }

        let mut prepared = Vec::new();
        for t in tokens {
            prepared.push(self.prepare(&id, &user, t, now, &req)?);
        }
        self.send_and_store(ctx, &user, prepared, now).await?;
        let rows = self.store.challenge(&id).await?;
        let mut issued = empty;
        for r in rows {
            let Some(t) = self.token_of(user.id, r.token_id).await? else {
                continue;
            };
            match (t.params.kind, &r.question) {
                (TokenKind::Ocra, Some(q)) => issued.ocra.push(OcraQuestion {
                    serial: t.serial.clone(),
                    suite: t.ocra_suite.clone().unwrap_or_default(),
                    question: q.clone(),
                }),
                (kind, _) => issued.channels.push(Channel {
                    kind,
                    serial: t.serial.clone(),
                    to: mask(kind, t.address.as_deref().unwrap_or_default()),
                }),
            }
        }
        Ok(issued)
    }

    /// The tokens a challenge goes to.
    async fn challenge_tokens(
        &self,
        user: &User,
        req: &ChallengeRequest,
    ) -> Result<Vec<Token>, Error> {
        let wanted = |t: &Token| {
            let kind_ok = match &req.transaction {
                Some(_) => t.params.kind == TokenKind::Ocra,
                None => !t.params.kind.is_oath(),
            };
            kind_ok && t.user_id == Some(user.id)
        };
        Ok(match &req.serial {
            // A named token may also be one still pending: its activation code.
            Some(serial) => self
                .store
                .token_by_serial(serial)
                .await?
                .filter(|t| {
                    wanted(t)
                        && (t.state == TokenState::Active
                            || t.state == TokenState::Pending
                                && t.pending_until.is_none_or(|u| u > self.clock.now()))
                })
                .into_iter()
                .collect(),
            None => self
                .store
                .active_tokens(user.id)
                .await?
                .into_iter()
                .filter(|t| wanted(t) && t.valid_at(self.clock.now()))
                .collect(),
        })
    }

    /// One per `resend_min_seconds`, `resend_max_per_window` per window.
    pub(super) async fn check_resend(
        &self,
        user: &User,
        now: Timestamp,
        event: &impl Fn(&str, &str) -> Event,
    ) -> Result<(), ChallengeError> {
        let p = self.challenge_policy();
        let stats = self
            .store
            .resend_stats(user.id, now.plus_secs(-p.resend_window_seconds))
            .await?;
        let too_soon = stats
            .last
            .map(|l| l.plus_secs(p.resend_min_seconds))
            .filter(|&at| at > now);
        let too_many = (stats.in_window >= p.resend_max_per_window)
            .then(|| {
                stats
                    .oldest_in_window
                    .map(|o| o.plus_secs(p.resend_window_seconds))
            })
            .flatten();
        if let Some(retry_at) = too_soon.into_iter().chain(too_many).max() {
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

    /// Sends each code; stores the challenges whose message left, with one
    /// `challenge.create` event each, and audits each failed send. When no
    /// message left at all, the caller gets the delivery error.
    async fn send_and_store(
        &self,
        ctx: &Context,
        user: &User,
        prepared: Vec<Prepared>,
        now: Timestamp,
    ) -> Result<(), ChallengeError> {
        let mut rows = Vec::new();
        let mut events = Vec::new();
        let mut failures = Vec::new();
        for p in prepared {
            let base = |result: &str, reason: &str| {
                Event::new(ctx, now, "challenge.create", result)
                    .user(user.username.as_str())
                    .serial(p.token.serial.as_str())
                    .reason(reason)
            };
            if let Some(code) = &p.code
                && let Err(e) = self.send_code(user, &p.token, code).await
            {
                tracing::warn!(serial = %p.token.serial, error = %e, "a challenge code could not be sent");
                let ev = Event::new(ctx, now, "challenge.send", "failure")
                    .user(user.username.as_str())
                    .serial(p.token.serial.as_str())
                    .reason(e.code);
                failures.push((ev, e));
                continue;
            }
            events.push(base("success", p.token.params.kind.as_str()));
            rows.push(p.row);
        }
        let (fail_events, errors): (Vec<Event>, Vec<DeliveryError>) = failures.into_iter().unzip();
        if rows.is_empty() {
            for ev in &fail_events {
                self.store.append_audit(ev).await?;
            }
            return Err(match errors.into_iter().next() {
                Some(e) => ChallengeError::Delivery(e),
                None => Error::invalid("no_challenge_token", "nothing to challenge").into(),
            });
        }
        events.extend(fail_events);
        self.store.create_challenges(&rows, &events).await?;
        Ok(())
    }

    pub(super) async fn send_code(
        &self,
        user: &User,
        token: &Token,
        code: &str,
    ) -> Result<(), DeliveryError> {
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
            TokenKind::Email => {
                let email = Email {
                    to,
                    subject: render(&t.code_subject, &values),
                    text: render(&t.code_text, &values),
                    html: render_html(&t.code_html, &values),
                };
                self.delivery().send_email(&email).await
            }
            _ => {
                let sms = Sms {
                    to,
                    message: render(&t.code_sms, &values),
                };
                self.delivery().send_sms(&sms).await
            }
        }
    }

    async fn token_of(&self, user_id: i64, token_id: i64) -> Result<Option<Token>, Error> {
        Ok(self
            .store
            .tokens_of_user(user_id)
            .await?
            .into_iter()
            .find(|t| t.id == token_id))
    }

    pub(super) fn failure(&self, user: &User, now: Timestamp) -> Failure {
        Failure {
            user_id: user.id,
            max_failures: self.policy.max_failures,
            lock_until: now.plus_secs(self.policy.lockout_seconds),
            now,
        }
    }

    /// `POST /v1/validate` with a `challenge_id`: only that challenge counts.
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
        let Some(user) = self.user_to_validate(&event("reject")).await? else {
            return Ok(Outcome::Reject);
        };
        let fail = |reason: &'static str| self.reject(&user, event("reject").reason(reason), now);
        if !super::validation::password_matches(&user, pw) {
            return fail("wrong_password").await;
        }
        let rows: Vec<Challenge> = self
            .store
            .challenge(challenge_id)
            .await?
            .into_iter()
            .filter(|r| r.user_id == user.id)
            .collect();
        let Some(first) = rows.first() else {
            return fail("challenge_unknown").await;
        };
        if first.used_at.is_some() {
            return fail("challenge_used").await;
        }
        if first.expires_at <= now {
            return fail("challenge_expired").await;
        }
        if first.attempts >= first.max_attempts {
            return fail("challenge_exhausted").await;
        }
        if let (Some(tx), Some(stored)) = (tx, &first.transaction)
            && tx.canonical() != *stored
        {
            self.store
                .challenge_attempt(&[challenge_id.to_owned()])
                .await?;
            return fail("transaction_mismatch").await;
        }
        for r in &rows {
            let Some(t) = self.token_of(user.id, r.token_id).await? else {
                continue;
            };
            let Some(counter) = self.answer_matches(r, &t, code, tx, now)? else {
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
                user_id: user.id,
                token_id: t.id,
                counter,
                activate: false,
                now,
            };
            if self.store.consume_challenge(&c, &evs).await? {
                return Ok(Outcome::Accept { serial: t.serial });
            }
            return fail("challenge_used").await;
        }
        self.store
            .challenge_attempt(&[challenge_id.to_owned()])
            .await?;
        fail("challenge_wrong_code").await
    }

    /// Without a challenge id: does the code answer one of the user's open
    /// email or SMS challenges? On no match every such challenge loses an
    /// attempt; the caller then records the one failure as usual.
    pub(super) async fn accept_open_challenge(
        &self,
        ctx: &Context,
        user: &User,
        code: &str,
        now: Timestamp,
    ) -> Result<Option<Outcome>, Error> {
        let open: Vec<Challenge> = self
            .store
            .open_challenges(user.id, now)
            .await?
            .into_iter()
            .filter(|c| c.code_hash.is_some())
            .collect();
        if open.is_empty() {
            return Ok(None);
        }
        for r in &open {
            let Some(t) = self.token_of(user.id, r.token_id).await? else {
                continue;
            };
            if t.state != TokenState::Active
                || self.answer_matches(r, &t, code, None, now)?.is_none()
            {
                continue;
            }
            let ev = Event::new(ctx, now, "validate", "accept")
                .user(user.username.as_str())
                .serial(t.serial.as_str())
                .reason("challenge");
            let c = Consume {
                challenge_id: r.id.clone(),
                user_id: user.id,
                token_id: t.id,
                counter: None,
                activate: false,
                now,
            };
            if self.store.consume_challenge(&c, &[ev]).await? {
                return Ok(Some(Outcome::Accept { serial: t.serial }));
            }
        }
        let mut ids: Vec<String> = open.into_iter().map(|c| c.id).collect();
        ids.dedup();
        self.store.challenge_attempt(&ids).await?;
        Ok(None)
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
