//! The answer to "is this code good for this user?" — accepted at most once,
//! ever, and the same answer for every kind of no.

use ichido_crypto::password;
use ichido_otp::{Code, Verified};

use super::Ichido;
use crate::audit::{Context, Event};
use crate::clock::Timestamp;
use crate::error::Error;
use crate::ids::Serial;
use crate::store::{Acceptance, Store};
use crate::token::{Token, TokenKind};
use crate::user::User;

/// A password given with a code must be the user's; none given is no check.
pub(super) fn password_matches(user: &User, pw: Option<&str>) -> bool {
    pw.is_none_or(|pw| {
        user.password_hash
            .as_deref()
            .is_some_and(|h| password::verify(pw, h))
    })
}

/// What the caller learns. A reject never says why; the audit log does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Accept { serial: Serial },
    Reject,
}

impl<S: Store> Ichido<S> {
    pub async fn validate(
        &self,
        ctx: &Context,
        username: &str,
        code: &str,
        pw: Option<&str>,
    ) -> Result<Outcome, Error> {
        let now = self.clock.now();
        let event = |result: &str| Event::new(ctx, now, "validate", result).user(username);

        let Some(user) = self.user_to_validate(&event("reject")).await? else {
            return Ok(Outcome::Reject);
        };
        let mut tokens = self.store.active_tokens(user.id).await?;
        tokens.retain(|t| t.valid_at(now));
        let fail = |reason: &'static str| self.reject(&user, event("reject").reason(reason), now);
        if !password_matches(&user, pw) {
            return fail("wrong_password").await;
        }
        if let Some(accepted) = self.accept_recovery_code(ctx, &user, code, now).await? {
            return Ok(accepted);
        }
        if tokens.is_empty() {
            return fail("no_active_token").await;
        }

        let mut replayed = false;
        for t in tokens.iter().filter(|t| t.params.kind.is_oath()) {
            let Ok(c) = Code::parse(code, t.params.digits) else {
                continue;
            };
            let secret = self.open_secret(t)?;
            match self.verify_fresh(t, &secret, &c, now.unix_secs()) {
                Some(v) => {
                    let acc = Acceptance {
                        token_id: t.id,
                        user_id: user.id,
                        counter: v.counter as i64,
                        drift: if t.params.kind == TokenKind::Totp {
                            v.drift
                        } else {
                            0
                        },
                        now,
                    };
                    let ev = event("accept").serial(t.serial.as_str()).reason("ok");
                    if self.store.accept(&acc, &ev).await? {
                        return Ok(Outcome::Accept {
                            serial: t.serial.clone(),
                        });
                    }
                    // Another request accepted this very code first.
                    replayed = true;
                }
                None => replayed |= self.verify_any(t, &secret, &c, now.unix_secs()),
            }
        }
        if let Some(accepted) = self.accept_open_challenge(ctx, &user, code, now).await? {
            return Ok(accepted);
        }
        // A right password with a wrong code is worth telling the user about:
        // someone may know their password.
        let reason = match (replayed, pw.is_some()) {
            (true, _) => "replay",
            (false, true) => "wrong_code_after_password",
            (false, false) => "wrong_code",
        };
        fail(reason).await
    }

    /// The user a validation may be tried for. An unknown or locked user is
    /// audited here (on `reject`, an event for the user) and gets `None`.
    pub(super) async fn user_to_validate(&self, reject: &Event) -> Result<Option<User>, Error> {
        let username = reject.username.as_deref().unwrap_or_default();
        let reason = match self.store.user_by_name(username).await? {
            None => "unknown_user",
            Some(user) if user.is_locked(reject.at) => "locked",
            Some(user) => return Ok(Some(user)),
        };
        self.store
            .append_audit(&reject.clone().reason(reason))
            .await?;
        Ok(None)
    }

    /// Counts a failed attempt toward the user's lockout and answers reject.
    pub(super) async fn reject(
        &self,
        user: &User,
        event: Event,
        now: Timestamp,
    ) -> Result<Outcome, Error> {
        self.store
            .record_failure(&self.failure(user, now), &event)
            .await?;
        Ok(Outcome::Reject)
    }

    /// A match strictly after the last accepted counter or step.
    fn verify_fresh(
        &self,
        t: &Token,
        secret: &ichido_otp::Secret,
        c: &Code,
        unix: u64,
    ) -> Option<Verified> {
        let last = t.last_counter.map(|l| l as u64);
        match t.params.kind {
            TokenKind::Totp => {
                t.params
                    .totp()
                    .verify(secret, c, unix, self.policy.totp_window(), t.drift, last)
            }
            TokenKind::Hotp => t.params.hotp().verify(
                secret,
                c,
                last.map_or(0, |l| l + 1),
                self.policy.hotp_look_ahead,
            ),
            _ => None,
        }
    }

    /// Only on the failure path: would the code have matched had it not been
    /// used already? That tells a replay from a wrong code in the audit log.
    fn verify_any(&self, t: &Token, secret: &ichido_otp::Secret, c: &Code, unix: u64) -> bool {
        let Some(last) = t.last_counter.map(|l| l as u64) else {
            return false;
        };
        match t.params.kind {
            TokenKind::Totp => t
                .params
                .totp()
                .verify(secret, c, unix, self.policy.totp_window(), t.drift, None)
                .is_some(),
            TokenKind::Hotp => {
                let back = self.policy.hotp_look_ahead.min(last);
                t.params
                    .hotp()
                    .verify(secret, c, last - back, back)
                    .is_some()
            }
            _ => false,
        }
    }
}
