//! The answer to "is this code good for this user?" — accepted at most once,
//! ever, and the same answer for every kind of no.

use ichido_otp::{Code, Verified};

use super::Ichido;
use crate::audit::{Context, Event};
use crate::error::Error;
use crate::ids::Serial;
use crate::store::{Acceptance, Store};
use crate::token::{Token, TokenKind};

/// What the caller learns. A reject never says why; the audit log does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Accept { serial: Serial },
    Reject,
}

impl<S: Store> Ichido<S> {
    /// Every kind of no — unknown user, locked, wrong password, wrong or
    /// replayed code — takes the same path to the end: the subject's reads
    /// and password evaluation, a recovery-code attempt when the code has
    /// that shape, the code checked against whatever tokens there are, the
    /// open challenges read, and one write that records the failure.
    pub async fn validate(
        &self,
        ctx: &Context,
        username: &str,
        code: &str,
        pw: Option<&str>,
    ) -> Result<Outcome, Error> {
        let now = self.clock.now();
        let event = |result: &str| Event::new(ctx, now, "validate", result).user(username);
        let subject = self.subject(username, pw, now).await?;

        if let Some(accepted) = self.accept_recovery_code(ctx, &subject, code, now).await? {
            return Ok(accepted);
        }
        let mut replayed = false;
        for t in subject.tokens.iter().filter(|t| t.params.kind.is_oath()) {
            let Ok(c) = Code::parse(code, t.params.digits) else {
                continue;
            };
            let Some(secret) = self.usable_secret(t) else {
                continue;
            };
            match self.verify_fresh(t, &secret, &c, now.unix_secs()) {
                Some(v) => {
                    let acc = Acceptance {
                        token_id: t.id,
                        user_id: subject.id(),
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
        let open = match self.accept_open_challenge(ctx, &subject, code, now).await? {
            Ok(accepted) => return Ok(accepted),
            Err(open) => open,
        };
        // A right password with a wrong code is worth telling the user about:
        // someone may know their password.
        let reason = match (replayed, pw.is_some(), subject.tokens.is_empty()) {
            (true, _, _) => "replay",
            (false, _, true) if open.is_empty() => "no_active_token",
            (false, true, _) => "wrong_code_after_password",
            (false, false, _) => "wrong_code",
        };
        self.refuse(&subject, event("reject"), reason, open, now)
            .await?;
        Ok(Outcome::Reject)
    }

    /// The seed of `t`, or `None` (logged) when it cannot be opened: a token
    /// sealed under a key this node cannot read, or a damaged row, must not
    /// stop the user's other tokens from working.
    pub(super) fn usable_secret(&self, t: &Token) -> Option<ichido_otp::Secret> {
        match self.open_secret(t) {
            Ok(secret) => Some(secret),
            Err(e) => {
                tracing::error!(serial = %t.serial, error = %e, "a token's seed could not be opened; it is skipped");
                None
            }
        }
    }

    /// A match strictly after the last accepted counter or step.
    pub(super) fn verify_fresh(
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
