//! The static password on its own, for gateways that ask for it before the
//! code (RADIUS Access-Challenge), and the one-field form `password‖code`
//! that PAP-only gateways send. Both count failures toward the same lockout
//! as `validate`.

use ichido_otp::Code;

use super::Ichido;
use super::Outcome;
use super::subject::NO_USER;
use crate::audit::{Context, Event};
use crate::error::Error;
use crate::store::Store;

/// Digit lengths a code may have (RFC 4226 §5.3: 6 to 8 in practice).
const CODE_LENGTHS: [usize; 3] = [6, 7, 8];

impl<S: Store> Ichido<S> {
    /// Step one of a two-step sign-in: is this the user's static password?
    /// A wrong password counts toward lockout exactly as a wrong code does; a
    /// right one resets nothing, so knowing the password does not buy more
    /// guesses at the code. Unknown users, users without a password and
    /// locked users cost the same reads and Argon2 evaluation (the common
    /// prologue) and get the same `false`.
    pub async fn check_password(
        &self,
        ctx: &Context,
        username: &str,
        pw: &str,
    ) -> Result<bool, Error> {
        let now = self.clock.now();
        let event = |result: &str| Event::new(ctx, now, "radius.password", result).user(username);
        let subject = self.subject(username, Some(pw), now).await?;
        if subject.ready().is_some() {
            self.store
                .append_audit(&event("accept").reason("ok"))
                .await?;
            return Ok(true);
        }
        self.refuse(&subject, event("reject"), "wrong_password", Vec::new(), now)
            .await?;
        Ok(false)
    }

    /// Validates a field holding the static password followed by the code,
    /// as PAP carries them in one User-Password. The code is the trailing
    /// 6, 7 or 8 digits, whichever lengths the user's active tokens have.
    /// When they have several, the split whose code verifies against a
    /// token of its length is taken (an HMAC each, no Argon2), else the
    /// first: the password is then evaluated once, as on every path. One
    /// attempt counts as one failure, whatever the split.
    pub async fn validate_password_then_code(
        &self,
        ctx: &Context,
        username: &str,
        field: &str,
    ) -> Result<Outcome, Error> {
        let split = |n: usize| {
            let at = field.len().checked_sub(n)?;
            let (pw, code) = (field.get(..at)?, field.get(at..)?);
            code.bytes()
                .all(|b| b.is_ascii_digit())
                .then_some((pw, code))
        };
        let now = self.clock.now();
        // The same two reads for every name: the tokens of an id that never
        // exists when there is no such user.
        let user = self.store.user_by_name(username).await?;
        let tokens = self
            .store
            .active_tokens(user.as_ref().map_or(NO_USER, |u| u.id))
            .await?;
        let mut lengths = Vec::new();
        for t in &tokens {
            let n = usize::from(t.params.digits.get());
            if CODE_LENGTHS.contains(&n) && !lengths.contains(&n) {
                lengths.push(n);
            }
        }
        let candidates: Vec<(&str, &str)> = lengths.iter().filter_map(|&n| split(n)).collect();
        let fits = |code: &str| {
            tokens.iter().any(|t| {
                let Ok(c) = Code::parse(code, t.params.digits) else {
                    return false;
                };
                self.usable_secret(t)
                    .is_some_and(|s| self.verify_fresh(t, &s, &c, now.unix_secs()).is_some())
            })
        };
        let chosen = match candidates.as_slice() {
            [only] => Some(*only),
            several => several.iter().copied().find(|(_, code)| fits(code)),
        };
        // No plausible split: still one attempt, checked (and counted) as such.
        let (pw, code) = chosen
            .or_else(|| candidates.first().copied())
            .or_else(|| split(6))
            .unwrap_or(("", field));
        self.validate(ctx, username, code, Some(pw)).await
    }

    /// Records a request refused before any credential was looked at: an
    /// unknown RADIUS client, a bad Message-Authenticator, an unknown or
    /// expired State. Nothing is counted against a user.
    pub async fn record_refusal(
        &self,
        ctx: &Context,
        action: &str,
        username: Option<&str>,
        reason: &str,
    ) -> Result<(), Error> {
        let mut ev = Event::new(ctx, self.clock.now(), action, "reject").reason(reason);
        if let Some(u) = username {
            ev = ev.user(u);
        }
        Ok(self.store.append_audit(&ev).await?)
    }
}
