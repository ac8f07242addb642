//! The static password on its own, for gateways that ask for it before the
//! code (RADIUS Access-Challenge), and the one-field form `password‖code`
//! that PAP-only gateways send. Both count failures toward the same lockout
//! as `validate`.

use ichido_crypto::password;

use super::Ichido;
use super::Outcome;
use crate::audit::{Context, Event};
use crate::error::Error;
use crate::store::{Failure, Store};

/// Digit lengths a code may have (RFC 4226 §5.3: 6 to 8 in practice).
const CODE_LENGTHS: [usize; 3] = [6, 7, 8];

impl<S: Store> Ichido<S> {
    /// Step one of a two-step sign-in: is this the user's static password?
    /// A wrong password counts toward lockout exactly as a wrong code does; a
    /// right one resets nothing, so knowing the password does not buy more
    /// guesses at the code. Unknown users, users without a password and
    /// locked users cost the same Argon2 evaluation and get the same `false`.
    pub async fn check_password(
        &self,
        ctx: &Context,
        username: &str,
        pw: &str,
    ) -> Result<bool, Error> {
        let now = self.clock.now();
        let event = |result: &str, reason: &str| {
            Event::new(ctx, now, "radius.password", result)
                .user(username)
                .reason(reason)
        };

        let Some(user) = self.store.user_by_name(username).await? else {
            password::dummy_verify(pw, self.settings.password_cost);
            self.store
                .append_audit(&event("reject", "unknown_user"))
                .await?;
            return Ok(false);
        };
        if user.is_locked(now) {
            password::dummy_verify(pw, self.settings.password_cost);
            self.store.append_audit(&event("reject", "locked")).await?;
            return Ok(false);
        }
        let ok = match user.password_hash.as_deref() {
            Some(hash) => password::verify(pw, hash),
            None => password::dummy_verify(pw, self.settings.password_cost),
        };
        if ok {
            self.store.append_audit(&event("accept", "ok")).await?;
            return Ok(true);
        }
        let failure = Failure {
            user_id: user.id,
            max_failures: self.policy.max_failures,
            lock_until: now.plus_secs(self.policy.lockout_seconds),
            now,
        };
        self.store
            .record_failure(&failure, &event("reject", "wrong_password"))
            .await?;
        Ok(false)
    }

    /// Validates a field holding the static password followed by the code,
    /// as PAP carries them in one User-Password. The code is the trailing
    /// 6, 7 or 8 digits, whichever lengths the user's active tokens have; when
    /// they have several, the split whose prefix is the password is used (at
    /// most one can be). One attempt counts as one failure, whatever the split.
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
        let user = self.store.user_by_name(username).await?;
        let mut lengths = Vec::new();
        if let Some(user) = &user {
            for t in self.store.active_tokens(user.id).await? {
                let n = usize::from(t.params.digits.get());
                if CODE_LENGTHS.contains(&n) && !lengths.contains(&n) {
                    lengths.push(n);
                }
            }
        }
        let candidates: Vec<(&str, &str)> = lengths.iter().filter_map(|&n| split(n)).collect();
        let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
        let chosen = match (candidates.as_slice(), hash) {
            ([only], _) => Some(*only),
            (several @ [_, _, ..], Some(hash)) => several
                .iter()
                .copied()
                .find(|(pw, _)| password::verify(pw, hash)),
            _ => None,
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
