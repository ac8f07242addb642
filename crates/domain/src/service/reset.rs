//! Self-service reset as a procedure: a mailed link and the password, then a
//! second factor, a helpdesk approval or a waiting period with notices, and
//! only then a new pending token (every old token revoked, every recovery
//! code and open challenge void, in one transaction), activated by a code.

use ichido_otp::{Algorithm, Digits, Secret};

use super::Ichido;
use super::challenges::{ChallengeError, ChallengeRequest, Channel};
use super::subject::NO_USER;
use super::tokens::key_uri;
use super::validation::Outcome;
use crate::audit::{Context, Event};
use crate::challenge::ResendLimit;
use crate::clock::Timestamp;
use crate::error::{Error, StoreError};
use crate::notify::{Email, Message, Outgoing, render, render_html};
use crate::password::PasswordJob;
use crate::reset::{CompleteReset, NewReset, RESET_HTML, RESET_SUBJECT, RESET_TEXT, Reset, Stage};
use crate::store::Store;
use crate::token::{OathParams, Token, TokenKind};
use crate::user::User;

/// What every reset request is answered with, whoever asked: a request id
/// (made up when nothing was sent) and how long a link would work.
#[derive(Clone, Debug)]
pub struct ResetRequested {
    pub request_id: String,
    pub expires_at: Timestamp,
}

/// What a ready link gives: a pending TOTP token, its seed shown once. It
/// works only once a code from it is proved; no backup codes are made.
pub struct ResetDone {
    pub username: String,
    pub enrolled: super::Enrolled,
}

/// Where a followed link stands after a step.
#[derive(Clone, Debug)]
pub struct ResetStatus {
    pub username: String,
    pub stage: Stage,
    /// The enrolled token, once there is one.
    pub serial: Option<String>,
}

/// Bits of a link's token: 256, unguessable even with the hash table.
const LINK_BYTES: usize = 32;

impl<S: Store> Ichido<S> {
    pub(super) fn link_hash(&self, token: &str) -> String {
        self.keyring.hasher("reset-link").hash_hex(token.as_bytes())
    }

    /// `POST /v1/reset-requests`. The answer is the same whether the user
    /// exists, has an address, was throttled or the mail leaves, and so is
    /// the work: the common prologue's reads, then one write (the request,
    /// or the throttle's or the refusal's audit event). The mail leaves
    /// through the outbox after the answer.
    pub async fn request_reset(
        &self,
        ctx: &Context,
        username: &str,
    ) -> Result<ResetRequested, Error> {
        let now = self.clock.now();
        let policy = &self.reset;
        let answer = ResetRequested {
            request_id: ichido_crypto::random::token(16),
            expires_at: now.plus_secs(policy.lifetime_seconds),
        };
        let event = |result: &str, reason: &str| {
            Event::new(ctx, now, "reset.request", result)
                .user(username)
                .reason(reason)
        };
        let subject = self.subject(username, None, now).await?;
        let Some((user, address)) = subject.ready().and_then(|u| Some((u, u.email.clone()?)))
        else {
            let reason = subject.standing().reason().unwrap_or("no_email");
            self.store.append_audit(&event("reject", reason)).await?;
            return Ok(answer);
        };
        let token = ichido_crypto::random::token(LINK_BYTES);
        let row = NewReset {
            id: answer.request_id.clone(),
            user_id: user.id,
            token_hash: self.link_hash(&token),
            created_at: now,
            expires_at: answer.expires_at,
        };
        // The challenge throttle's numbers, counted over reset requests.
        let limit = ResendLimit {
            user_id: user.id,
            tokens: Vec::new(),
            policy: self.challenge_policy().clone(),
            now,
        };
        // Stored before it is sent, so the link works the moment it arrives.
        let stored = self
            .store
            .create_reset(
                &row,
                &[event("success", "queued")],
                &limit,
                &event("reject", "throttled"),
            )
            .await?;
        if stored.is_some() {
            return Ok(answer);
        }
        let link = format!("{}/reset/{token}", policy.base_url.trim_end_matches('/'));
        let minutes = (policy.lifetime_seconds / 60).max(1).to_string();
        let lifetime = crate::notify::lifetime_text(policy.lifetime_seconds);
        let values = [
            ("link", link.as_str()),
            ("minutes", minutes.as_str()),
            ("lifetime", lifetime.as_str()),
            ("issuer", self.settings.default_issuer.as_str()),
            ("username", user.username.as_str()),
        ];
        self.outbox().post(Outgoing {
            message: Message::Email(Email {
                to: address,
                subject: render(RESET_SUBJECT, &values),
                text: render(RESET_TEXT, &values),
                html: render_html(RESET_HTML, &values),
            }),
            on_failure: event("failure", "delivery"),
        });
        Ok(answer)
    }

    /// A helpdesk lets a request's link work (when policy requires it).
    pub async fn approve_reset(&self, ctx: &Context, id: &str) -> Result<(), Error> {
        let now = self.clock.now();
        let reset = self
            .store
            .reset_by_id(id)
            .await?
            .filter(|r| r.is_open(now))
            .ok_or(Error::NotFound("reset request"))?;
        let username = match self.store.user_by_id(reset.user_id).await? {
            Some(u) => u.username.to_string(),
            None => return Err(Error::NotFound("reset request")),
        };
        let ev = Event::new(ctx, now, "reset.approve", "success").user(&username);
        if !self.store.approve_reset(id, now, &ev).await? {
            return Err(Error::conflict(
                "not_approvable",
                "the request is used, expired or approved already",
            ));
        }
        Ok(())
    }

    /// The open request a link names and its user, once the password is
    /// right. Unknown links, locked users and users without a password cost
    /// the same hash and get the same answers; a wrong password counts
    /// toward lockout and leaves the link as it was.
    async fn open_link(
        &self,
        ctx: &Context,
        action: &str,
        token: &str,
        pw: &str,
    ) -> Result<(Reset, User), Error> {
        let now = self.clock.now();
        let reset = self
            .store
            .reset_by_hash(&self.link_hash(token))
            .await?
            .filter(|r| r.is_open(now));
        // The same reads and one Argon2id evaluation (on the password pool)
        // whatever the link and the account turn out to be.
        let user = self
            .store
            .user_by_id(reset.as_ref().map_or(NO_USER, |r| r.user_id))
            .await?;
        let usable = user.as_ref().filter(|u| !u.is_locked(now));
        let hash = usable.and_then(|u| u.password_hash.as_deref());
        let ok = self
            .passwords
            .verify(PasswordJob::new(pw, hash, self.settings.password_cost))
            .await;
        let (Some(reset), Some(user)) = (reset, user) else {
            let ev = Event::new(ctx, now, action, "reject").reason("invalid_link");
            self.store.append_audit(&ev).await?;
            return Err(invalid_link());
        };
        let reject = Event::new(ctx, now, action, "reject").user(user.username.as_str());
        if user.is_locked(now) {
            self.store.append_audit(&reject.reason("locked")).await?;
            return Err(wrong_password());
        }
        if !ok {
            let reason = if user.password_hash.is_some() {
                "wrong_password"
            } else {
                "no_password"
            };
            self.store
                .record_failure(&self.failure(&user, now), &reject.reason(reason))
                .await?;
            return Err(wrong_password());
        }
        Ok((reset, user))
    }

    /// `POST /v1/reset/{token}/verify`: the password, and a second factor if
    /// the holder has one: a code of a token they still hold, a backup or
    /// emergency code, or a code sent by SMS (not by email: the link went
    /// there). Without one (and without an approval) the waiting period
    /// starts, with a notice to every registered channel.
    pub async fn verify_reset(
        &self,
        ctx: &Context,
        token: &str,
        pw: &str,
        code: Option<&str>,
    ) -> Result<ResetStatus, Error> {
        let (reset, user) = self.open_link(ctx, "reset.verify", token, pw).await?;
        let now = self.clock.now();
        let username = user.username.to_string();
        let policy = self.reset.clone();
        let event = |action: &str, result: &str, reason: &str| {
            Event::new(ctx, now, action, result)
                .user(&username)
                .reason(reason)
        };
        if let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) {
            let Outcome::Accept { serial } = self.validate(ctx, &username, code, None).await?
            else {
                // `validate` counted the failure and logged why.
                return Err(Error::invalid(
                    "invalid_code",
                    "the code is not right; it counts as a failed attempt",
                ));
            };
            let same_channel = self
                .store
                .token_by_serial(serial.as_str())
                .await?
                .is_some_and(|t| t.params.kind == TokenKind::Email);
            if same_channel {
                let ev = event("reset.verify", "reject", "same_channel");
                self.store.append_audit(&ev).await?;
                return Err(Error::invalid(
                    "same_channel",
                    "a code sent by email proves nothing more than the link; use another factor",
                ));
            }
            let ev = event("reset.verify", "success", "second_factor").serial(serial.as_str());
            let expires = now.plus_secs(policy.lifetime_seconds);
            if !self.store.prove_reset(&reset.id, now, expires, &ev).await? {
                return Err(invalid_link());
            }
        } else if reset.stage(now, policy.require_approval) == Stage::NeedsProof {
            let until = now.plus_secs(policy.wait_seconds);
            let expires = until.plus_secs(policy.lifetime_seconds);
            let ev = event("reset.wait", "success", "no_second_factor");
            if !self
                .store
                .start_reset_wait(&reset.id, until, expires, &ev)
                .await?
            {
                return Err(invalid_link());
            }
        }
        self.reset_status(&reset.id, username).await
    }

    /// `POST /v1/reset/{token}/send-code`: with the password, sends a code to
    /// each of the user's active SMS tokens, a channel other than the mailbox
    /// the link went to. The code is then the second factor of `verify`.
    pub async fn send_reset_code(
        &self,
        ctx: &Context,
        token: &str,
        pw: &str,
    ) -> Result<Vec<Channel>, ChallengeError> {
        let (_, user) = self.open_link(ctx, "reset.send_code", token, pw).await?;
        let mut sent = Vec::new();
        for t in self.store.active_tokens(user.id).await? {
            if t.params.kind != TokenKind::Sms || !t.valid_at(self.clock.now()) {
                continue;
            }
            let req = ChallengeRequest {
                username: user.username.to_string(),
                password: Some(pw.into()),
                serial: Some(t.serial.to_string()),
                ..ChallengeRequest::default()
            };
            sent.extend(self.create_challenge(ctx, req).await?.channels);
        }
        if sent.is_empty() {
            return Err(Error::invalid(
                "no_second_channel",
                "the account has no phone to send a code to; use another factor or wait",
            )
            .into());
        }
        Ok(sent)
    }

    async fn reset_status(&self, id: &str, username: String) -> Result<ResetStatus, Error> {
        let now = self.clock.now();
        let reset = self.store.reset_by_id(id).await?.ok_or_else(invalid_link)?;
        Ok(ResetStatus {
            username,
            stage: reset.stage(now, self.reset.require_approval),
            serial: reset.serial,
        })
    }

    /// `POST /v1/reset/{token}/enroll`: once the request is ready (a second
    /// factor proved, an approval, or the waiting period over), uses the link
    /// once: every token of the user is revoked, the backup and emergency
    /// codes and open challenges are void, and a new TOTP token is enrolled,
    /// pending until a code from it is proved. No code is handed out.
    pub async fn complete_reset(
        &self,
        ctx: &Context,
        token: &str,
        pw: &str,
        kind: Option<&str>,
    ) -> Result<ResetDone, Error> {
        if kind.is_some_and(|k| k != "totp") {
            return Err(Error::invalid(
                "invalid_type",
                "a reset enrolls a \"totp\" token",
            ));
        }
        let (reset, user) = self.open_link(ctx, "reset.complete", token, pw).await?;
        let now = self.clock.now();
        let username = user.username.to_string();
        let event = |result: &str, reason: &str| {
            Event::new(ctx, now, "reset.complete", result)
                .user(&username)
                .reason(reason)
        };
        let reject = |reason: &'static str| event("reject", reason);
        let require_approval = self.reset.require_approval;
        let refusal = match reset.stage(now, require_approval) {
            Stage::Ready => None,
            Stage::NeedsApproval => Some((
                "not_approved",
                Error::conflict(
                    "approval_required",
                    "a helpdesk must approve this reset first",
                ),
            )),
            Stage::NeedsProof => Some((
                "no_second_factor",
                Error::conflict(
                    "second_factor_required",
                    "prove a second factor first (POST /v1/reset/{token}/verify), or start \
                     the waiting period by verifying without one",
                ),
            )),
            Stage::Waiting(until) => Some((
                "waiting",
                Error::conflict(
                    "waiting_period",
                    format!(
                        "the waiting period runs until {} (Unix seconds); a new token can be \
                         enrolled after it",
                        until.unix_secs()
                    ),
                ),
            )),
            Stage::Enrolled | Stage::Closed => Some(("invalid_link", invalid_link())),
        };
        if let Some((reason, err)) = refusal {
            self.store.append_audit(&reject(reason)).await?;
            return Err(err);
        }

        let params = OathParams {
            kind: TokenKind::Totp,
            algorithm: Algorithm::Sha1,
            digits: Digits::new(6).unwrap_or_default(),
            period: 30,
        };
        let issuer = self.settings.default_issuer.clone();
        let secret = Secret::generate(params.algorithm);
        let hash = self.link_hash(token);
        // A serial collision is astronomically rare but cheap to survive.
        for _ in 0..3 {
            let new = self.pending_token(user.id, params, None, &issuer, &secret, now);
            let evs = [
                event("success", "ok"),
                Event::new(ctx, now, "token.enroll", "success")
                    .user(&username)
                    .serial(new.serial.as_str())
                    .reason("reset"),
            ];
            let c = CompleteReset {
                token_hash: hash.clone(),
                user_id: user.id,
                require_approval,
                token: new,
                now,
            };
            match self.store.complete_reset(&c, &evs).await {
                Ok(Some(token)) => {
                    let uri = key_uri(&params, &issuer, &username, secret.clone(), 0);
                    return Ok(ResetDone {
                        username: username.clone(),
                        enrolled: super::Enrolled {
                            token,
                            secret: secret.to_base32(),
                            uri: uri.to_string(),
                        },
                    });
                }
                Ok(None) => {
                    self.store.append_audit(&reject("invalid_link")).await?;
                    return Err(invalid_link());
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

    /// `POST /v1/reset/{token}/activate`: the token the reset enrolled
    /// becomes active with a code from it, as any enrollment does.
    pub async fn activate_after_reset(
        &self,
        ctx: &Context,
        token: &str,
        code: &str,
    ) -> Result<Token, Error> {
        let serial = self
            .store
            .reset_by_hash(&self.link_hash(token))
            .await?
            .filter(|r| r.cancelled_at.is_none())
            .and_then(|r| r.serial);
        let Some(serial) = serial else {
            let ev = Event::new(ctx, self.clock.now(), "reset.activate", "reject")
                .reason("invalid_link");
            self.store.append_audit(&ev).await?;
            return Err(invalid_link());
        };
        self.activate(ctx, &serial, code).await
    }

    /// Where a link stands, for the reset page, without the password. An
    /// unknown link and a closed one look alike.
    pub async fn reset_stage(&self, token: &str) -> Result<Stage, Error> {
        let reset = self.store.reset_by_hash(&self.link_hash(token)).await?;
        Ok(reset.map_or(Stage::Closed, |r| {
            r.stage(self.clock.now(), self.reset.require_approval)
        }))
    }
}

pub(super) fn invalid_link() -> Error {
    Error::invalid(
        "invalid_reset_link",
        "the reset link is unknown, expired or already used",
    )
}

fn wrong_password() -> Error {
    Error::invalid(
        "invalid_password",
        "the password is not right, or the account cannot be reset this way now",
    )
}
