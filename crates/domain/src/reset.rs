//! Self-service reset for a user who lost every factor: a procedure, not a
//! bypass. A single-use link mailed to the registered address, with the
//! password, opens a request; the holder then proves something besides the
//! password (a code of a remaining token, a backup code, a code sent to
//! another registered channel) or a helpdesk approves, or else a waiting
//! period runs, announced on every registered channel and cancellable from
//! any of them. Only then can a new token be enrolled, and it stays pending
//! until a code from it is proved: the reset itself never hands out a
//! working factor.

use std::future::Future;

use crate::audit::Event;
use crate::challenge::ResendLimit;
use crate::clock::Timestamp;
use crate::error::StoreError;
use crate::token::{NewToken, Token};

pub type Result<T> = std::result::Result<T, StoreError>;

/// How reset links are made.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResetPolicy {
    /// How long a link works.
    pub lifetime_seconds: i64,
    /// A helpdesk approves each request before its link works.
    pub require_approval: bool,
    /// Where the self-service portal lives; the link is `{base_url}/reset/{token}`.
    pub base_url: String,
    /// Without a second factor or an approval, how long the holder waits
    /// (notified on every registered channel, able to cancel) before a new
    /// token can be enrolled.
    pub wait_seconds: i64,
}

impl Default for ResetPolicy {
    fn default() -> Self {
        ResetPolicy {
            lifetime_seconds: 900,
            require_approval: false,
            base_url: "http://127.0.0.1:8080".into(),
            wait_seconds: 86_400,
        }
    }
}

impl ResetPolicy {
    pub fn check(&self) -> std::result::Result<(), String> {
        if !(60..=86_400).contains(&self.lifetime_seconds) {
            return Err("reset.lifetime_seconds must be 60-86400".into());
        }
        if !(60..=30 * 86_400).contains(&self.wait_seconds) {
            return Err("reset.wait_seconds must be 60-2592000".into());
        }
        if !self.base_url.starts_with("http://") && !self.base_url.starts_with("https://") {
            return Err("reset.base_url must be an http(s) URL".into());
        }
        Ok(())
    }
}

/// The mail carrying the link. `{link}`, `{lifetime}` (in words), `{minutes}`,
/// `{issuer}` and `{username}` are replaced.
pub const RESET_SUBJECT: &str = "{issuer}: reset your sign-in";
pub const RESET_TEXT: &str = "Hello {username},\n\nsomeone asked to reset the second factor of \
    your {issuer} account. To enroll a new authenticator, open\n\n{link}\n\nand enter your \
    password. The link works once, for {lifetime}. You will then prove a second \
    factor (a code of a token you still have, a backup code, or a code sent to your phone), or \
    wait until a waiting period ends.\n\nIf you did not ask for this, ignore this message and \
    tell your administrator.\n";
pub const RESET_HTML: &str = "<p>Hello {username},</p><p>someone asked to reset the second \
    factor of your {issuer} account. To enroll a new authenticator, open</p>\
    <p><a href=\"{link}\">{link}</a></p><p>and enter your password. The link works once, for \
    {lifetime}. You will then prove a second factor (a code of a token you still have, a \
    backup code, or a code sent to your phone), or wait until a waiting period ends.</p>\
    <p>If you did not ask for this, ignore this message and tell your \
    administrator.</p>";

/// A reset request to store: the link's token only as a keyed hash.
#[derive(Clone, Debug)]
pub struct NewReset {
    pub id: String,
    pub user_id: i64,
    pub token_hash: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct Reset {
    pub id: String,
    pub user_id: i64,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub approved_at: Option<Timestamp>,
    /// When the holder proved a second factor.
    pub verified_at: Option<Timestamp>,
    /// Without one: when the waiting period ends.
    pub waiting_until: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    /// When the new token was enrolled (the link is used), and its serial.
    pub used_at: Option<Timestamp>,
    pub serial: Option<String>,
}

/// Where a reset stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The holder must prove a second factor (or wait, or be approved).
    NeedsProof,
    /// A helpdesk must approve first (`require_approval`).
    NeedsApproval,
    /// The waiting period runs until then.
    Waiting(Timestamp),
    /// A new token may be enrolled now.
    Ready,
    /// The new token is enrolled; it waits for a code to be activated.
    Enrolled,
    /// Cancelled or expired: nothing more can happen.
    Closed,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::NeedsProof => "needs_second_factor",
            Stage::NeedsApproval => "needs_approval",
            Stage::Waiting(_) => "waiting",
            Stage::Ready => "ready",
            Stage::Enrolled => "enrolled",
            Stage::Closed => "closed",
        }
    }
}

impl Reset {
    /// Not used, cancelled or expired at `now`.
    pub fn is_open(&self, now: Timestamp) -> bool {
        self.used_at.is_none() && self.cancelled_at.is_none() && self.expires_at > now
    }

    /// Where the request stands at `now`. With `require_approval`, an
    /// approval is needed whatever else was proved; without it, an approval
    /// stands in for the second factor.
    pub fn stage(&self, now: Timestamp, require_approval: bool) -> Stage {
        if self.cancelled_at.is_some() {
            return Stage::Closed;
        }
        if self.used_at.is_some() {
            return Stage::Enrolled;
        }
        if self.expires_at <= now {
            return Stage::Closed;
        }
        if require_approval && self.approved_at.is_none() {
            return Stage::NeedsApproval;
        }
        if self.verified_at.is_some() || self.approved_at.is_some() {
            return Stage::Ready;
        }
        match self.waiting_until {
            Some(until) if until <= now => Stage::Ready,
            Some(until) => Stage::Waiting(until),
            None => Stage::NeedsProof,
        }
    }
}

/// Everything a followed link changes, in one transaction.
#[derive(Clone, Debug)]
pub struct CompleteReset {
    pub token_hash: String,
    pub user_id: i64,
    pub require_approval: bool,
    /// The pending token that replaces all the user's tokens. The backup
    /// codes, the emergency code and every open challenge of the user are
    /// void; no new codes are made.
    pub token: NewToken,
    pub now: Timestamp,
}

pub trait ResetStore: Send + Sync {
    /// Stores a request with its events, unless `limit` refuses it (checked
    /// in the same transaction against the user's other requests): then
    /// only `refused` is appended, and the answer is when to retry.
    fn create_reset(
        &self,
        r: &NewReset,
        evs: &[Event],
        limit: &ResendLimit,
        refused: &Event,
    ) -> impl Future<Output = Result<Option<Timestamp>>> + Send;
    fn reset_by_id(&self, id: &str) -> impl Future<Output = Result<Option<Reset>>> + Send;
    fn reset_by_hash(&self, token_hash: &str)
    -> impl Future<Output = Result<Option<Reset>>> + Send;
    /// Approves an open, not yet approved request; false otherwise.
    fn approve_reset(
        &self,
        id: &str,
        now: Timestamp,
        ev: &Event,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// The holder proved a second factor (or a helpdesk's approval stands
    /// in for it): the request may enroll until `expires_at`. False when the
    /// request is no longer open.
    fn prove_reset(
        &self,
        id: &str,
        now: Timestamp,
        expires_at: Timestamp,
        ev: &Event,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Starts the waiting period of an open request that has none yet; the
    /// request then stays open until `expires_at`. False otherwise.
    fn start_reset_wait(
        &self,
        id: &str,
        until: Timestamp,
        expires_at: Timestamp,
        ev: &Event,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Cancels every request of the user made at or before `made_by` that
    /// has not enrolled yet; how many.
    fn cancel_resets(
        &self,
        user_id: i64,
        made_by: Timestamp,
        now: Timestamp,
        ev: &Event,
    ) -> impl Future<Output = Result<u64>> + Send;
    /// Uses the link, only if open, the user's, past its proof or waiting
    /// period and (when required) approved; then revokes every token of the
    /// user, stores the new pending one, voids the backup and emergency
    /// codes and the open challenges. `None` when the link was not usable:
    /// nothing changed.
    fn complete_reset(
        &self,
        c: &CompleteReset,
        evs: &[Event],
    ) -> impl Future<Output = Result<Option<Token>>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_at(secs: i64) -> Reset {
        Reset {
            id: "r".into(),
            user_id: 1,
            created_at: Timestamp::from_secs(0),
            expires_at: Timestamp::from_secs(secs),
            approved_at: None,
            verified_at: None,
            waiting_until: None,
            cancelled_at: None,
            used_at: None,
            serial: None,
        }
    }

    #[test]
    fn a_reset_is_ready_only_after_a_proof_an_approval_or_the_wait() {
        let now = Timestamp::from_secs(100);
        let r = open_at(1_000);
        assert_eq!(r.stage(now, false), Stage::NeedsProof);
        let waiting = Reset {
            waiting_until: Some(Timestamp::from_secs(500)),
            ..r.clone()
        };
        assert_eq!(
            waiting.stage(now, false),
            Stage::Waiting(Timestamp::from_secs(500))
        );
        assert_eq!(
            waiting.stage(Timestamp::from_secs(500), false),
            Stage::Ready
        );
        let proved = Reset {
            verified_at: Some(now),
            ..r.clone()
        };
        assert_eq!(proved.stage(now, false), Stage::Ready);
        // With `require_approval`, nothing replaces the approval.
        assert_eq!(proved.stage(now, true), Stage::NeedsApproval);
        let approved = Reset {
            approved_at: Some(now),
            ..r.clone()
        };
        assert_eq!(approved.stage(now, true), Stage::Ready);
        let cancelled = Reset {
            cancelled_at: Some(now),
            ..proved.clone()
        };
        assert_eq!(cancelled.stage(now, false), Stage::Closed);
        assert_eq!(
            proved.stage(Timestamp::from_secs(1_000), false),
            Stage::Closed
        );
    }
}
