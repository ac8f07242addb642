//! Self-service reset: a mailed link, the password, maybe a helpdesk
//! approval, then a new pending token, new backup codes and every old token
//! revoked, all in one transaction.

use ichido_crypto::password;
use ichido_otp::{Algorithm, Digits, Secret};

use super::Ichido;
use super::recovery::random_code;
use super::tokens::key_uri;
use crate::audit::{Context, Event};
use crate::challenge::ResendLimit;
use crate::clock::Timestamp;
use crate::error::{Error, StoreError};
use crate::notify::{Email, Message, Outgoing, render, render_html};
use crate::recovery::{CodeKind, group_code};
use crate::reset::{CompleteReset, NewReset, RESET_HTML, RESET_SUBJECT, RESET_TEXT};
use crate::store::Store;
use crate::token::{OathParams, TokenKind};

/// What every reset request is answered with, whoever asked: a request id
/// (made up when nothing was sent) and how long a link would work.
#[derive(Clone, Debug)]
pub struct ResetRequested {
    pub request_id: String,
    pub expires_at: Timestamp,
}

/// What a followed link gives: a pending TOTP token, its seed shown once,
/// and the new backup codes.
pub struct ResetDone {
    pub username: String,
    pub enrolled: super::Enrolled,
    pub backup_codes: Vec<String>,
}

/// Bits of a link's token: 256, unguessable even with the hash table.
const LINK_BYTES: usize = 32;

impl<S: Store> Ichido<S> {
    fn link_hash(&self, token: &str) -> String {
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
        let values = [
            ("link", link.as_str()),
            ("minutes", minutes.as_str()),
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

    /// `POST /v1/reset/{token}/enroll`: with the right password, uses the
    /// link once. A wrong password counts toward lockout and leaves the link
    /// as it was.
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
        let now = self.clock.now();
        let hash = self.link_hash(token);
        let reset = self
            .store
            .reset_by_hash(&hash)
            .await?
            .filter(|r| r.is_open(now));
        let user = match &reset {
            Some(r) => self.store.user_by_id(r.user_id).await?,
            None => None,
        };
        let (Some(reset), Some(user)) = (reset, user) else {
            password::dummy_verify(pw, self.settings.password_cost);
            let ev = Event::new(ctx, now, "reset.complete", "reject").reason("invalid_link");
            self.store.append_audit(&ev).await?;
            return Err(invalid_link());
        };
        let username = user.username.to_string();
        let event = |result: &str, reason: &str| {
            Event::new(ctx, now, "reset.complete", result)
                .user(&username)
                .reason(reason)
        };
        let reject = |reason: &'static str| event("reject", reason);
        if user.is_locked(now) {
            password::dummy_verify(pw, self.settings.password_cost);
            self.store.append_audit(&reject("locked")).await?;
            return Err(wrong_password());
        }
        let ok = match user.password_hash.as_deref() {
            Some(h) => password::verify(pw, h),
            None => password::dummy_verify(pw, self.settings.password_cost),
        };
        if !ok {
            let reason = if user.password_hash.is_some() {
                "wrong_password"
            } else {
                "no_password"
            };
            self.store
                .record_failure(&self.failure(&user, now), &reject(reason))
                .await?;
            return Err(wrong_password());
        }
        let require_approval = self.reset.require_approval;
        if require_approval && reset.approved_at.is_none() {
            self.store.append_audit(&reject("not_approved")).await?;
            return Err(Error::conflict(
                "approval_required",
                "a helpdesk must approve this reset first",
            ));
        }

        let params = OathParams {
            kind: TokenKind::Totp,
            algorithm: Algorithm::Sha1,
            digits: Digits::new(6).unwrap_or_default(),
            period: 30,
        };
        let issuer = self.settings.default_issuer.clone();
        let secret = Secret::generate(params.algorithm);
        let codes: Vec<String> = (0..CodeKind::Backup.count())
            .map(|_| random_code(CodeKind::Backup.chars()))
            .collect();
        let backup_hashes: Vec<String> = codes
            .iter()
            .map(|c| self.recovery_hash(CodeKind::Backup, user.id, c))
            .collect();
        // A serial collision is astronomically rare but cheap to survive.
        for _ in 0..3 {
            let new = self.pending_token(user.id, params, None, &issuer, &secret, now);
            let evs = [
                event("success", "ok"),
                Event::new(ctx, now, "token.enroll", "success")
                    .user(&username)
                    .serial(new.serial.as_str())
                    .reason("reset"),
                Event::new(ctx, now, "backup.create", "success")
                    .user(&username)
                    .reason("reset"),
            ];
            let c = CompleteReset {
                token_hash: hash.clone(),
                user_id: user.id,
                require_approval,
                token: new,
                backup_hashes: backup_hashes.clone(),
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
                        backup_codes: codes.iter().map(|c| group_code(c)).collect(),
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
}

fn invalid_link() -> Error {
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
