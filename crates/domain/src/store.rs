//! The storage port. Every method that changes state takes the audit event
//! that describes the change and appends it in the same transaction, so the
//! log never misses a change and never records one that did not happen.

use std::future::Future;

use crate::audit::{Event, Query, Record};
use crate::challenge::{Challenge, Consume, NewChallenge, ResendLimit, ResendStats};
use crate::clock::Timestamp;
use crate::error::StoreError;
use crate::token::{NewToken, Token, TokenState};
use crate::user::{ApiKey, NewUser, Role, User, UserPatch};

pub type Result<T> = std::result::Result<T, StoreError>;

/// A code that verified: the store advances the token past `counter` only if
/// nothing at or beyond it was accepted before (the once-ever rule).
#[derive(Clone, Debug)]
pub struct Acceptance {
    pub token_id: i64,
    pub user_id: i64,
    pub counter: i64,
    pub drift: i64,
    pub now: Timestamp,
}

/// A failed attempt, counted on the user and on each of their active tokens
/// (the ones a validation tries).
#[derive(Clone, Debug)]
pub struct Failure {
    pub user_id: i64,
    pub max_failures: i64,
    /// Where the lock ends if this failure reaches `max_failures`.
    pub lock_until: Timestamp,
    pub now: Timestamp,
    /// Challenges the failed answer was tried against: each loses an
    /// attempt in the same transaction.
    pub challenges: Vec<String>,
    /// A refused sign-in: its row of the user's history, in the same
    /// transaction.
    pub signin: Option<crate::signin::SigninRecord>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureOutcome {
    /// True when this very failure locked the user.
    pub locked_now: bool,
    pub failed_count: i64,
}

/// A row whose sealed seed is re-sealed under a new master key.
#[derive(Clone, Debug)]
pub struct SealedRow {
    pub token_id: i64,
    pub serial: String,
    pub sealed_secret: String,
}

/// Recovery (backup codes, lost tokens, import, reports), self-service
/// reset and sign-in (pending sign-ins, remembered devices, history) are
/// ports of their own in `recovery`, `reset` and `signin`; every store
/// implements all four.
pub trait Store:
    crate::recovery::RecoveryStore
    + crate::reset::ResetStore
    + crate::signin::SigninStore
    + Clone
    + Send
    + Sync
    + 'static
{
    // Users
    fn create_user(
        &self,
        user: &NewUser,
        now: Timestamp,
        ev: &Event,
    ) -> impl Future<Output = Result<User>> + Send;
    fn user_by_name(&self, username: &str) -> impl Future<Output = Result<Option<User>>> + Send;
    fn user_by_id(&self, id: i64) -> impl Future<Output = Result<Option<User>>> + Send;
    /// Users whose name contains `query`, ordered by name, after `after`.
    fn list_users(
        &self,
        query: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<User>>> + Send;
    fn update_user(
        &self,
        id: i64,
        patch: &UserPatch,
        now: Timestamp,
        ev: &Event,
    ) -> impl Future<Output = Result<User>> + Send;
    /// Removes the user; their tokens are revoked, unassigned and their seeds erased.
    fn delete_user(
        &self,
        id: i64,
        now: Timestamp,
        ev: &Event,
    ) -> impl Future<Output = Result<()>> + Send;
    fn unlock_user(
        &self,
        id: i64,
        now: Timestamp,
        ev: &Event,
    ) -> impl Future<Output = Result<()>> + Send;

    // Tokens
    fn create_token(
        &self,
        token: &NewToken,
        now: Timestamp,
        ev: &Event,
    ) -> impl Future<Output = Result<Token>> + Send;
    fn token_by_serial(&self, serial: &str) -> impl Future<Output = Result<Option<Token>>> + Send;
    fn tokens_of_user(&self, user_id: i64) -> impl Future<Output = Result<Vec<Token>>> + Send;
    /// The tokens a validation tries: active and assigned to the user.
    fn active_tokens(&self, user_id: i64) -> impl Future<Output = Result<Vec<Token>>> + Send;
    /// Pending → active, only if still pending and not expired at `acc.now`;
    /// records the code that proved it as used.
    fn activate_token(
        &self,
        acc: &Acceptance,
        ev: &Event,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Moves the token to `to` only from one of `from`.
    fn set_token_state(
        &self,
        token_id: i64,
        from: &[TokenState],
        to: TokenState,
        now: Timestamp,
        ev: &Event,
    ) -> impl Future<Output = Result<bool>> + Send;
    fn set_token_label(
        &self,
        token_id: i64,
        label: Option<&str>,
        ev: &Event,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Replaces both ends of the token's validity period.
    fn set_token_validity(
        &self,
        token_id: i64,
        validity: crate::token::Validity,
        ev: &Event,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Sets counter and drift after a resync; like `accept`, only forward.
    fn resync_token(
        &self,
        acc: &Acceptance,
        ev: &Event,
    ) -> impl Future<Output = Result<bool>> + Send;

    // Validation: the hot path
    /// Accepts a verified code once, ever: true if this call advanced the
    /// token, false if it was already used (or the token is no longer active).
    /// Resets the user's and the token's failure counters on success.
    fn accept(&self, acc: &Acceptance, ev: &Event) -> impl Future<Output = Result<bool>> + Send;
    fn record_failure(
        &self,
        f: &Failure,
        ev: &Event,
    ) -> impl Future<Output = Result<FailureOutcome>> + Send;

    // Master key rotation
    fn sealed_secrets(&self) -> impl Future<Output = Result<Vec<SealedRow>>> + Send;
    /// Replaces one sealed seed, only if it still holds `old`.
    fn reseal(
        &self,
        token_id: i64,
        old: &str,
        new: &str,
    ) -> impl Future<Output = Result<bool>> + Send;

    // API keys
    fn create_api_key(
        &self,
        name: &str,
        role: Role,
        key_hash: &str,
        now: Timestamp,
        ev: &Event,
    ) -> impl Future<Output = Result<ApiKey>> + Send;
    fn api_key_by_hash(
        &self,
        key_hash: &str,
    ) -> impl Future<Output = Result<Option<ApiKey>>> + Send;
    fn count_api_keys(&self) -> impl Future<Output = Result<i64>> + Send;
    /// Every key, revoked ones too, oldest first; never a hash.
    fn list_api_keys(&self) -> impl Future<Output = Result<Vec<ApiKey>>> + Send;
    /// Revokes a key not yet revoked; false when there is none.
    fn revoke_api_key(
        &self,
        id: i64,
        now: Timestamp,
        ev: &Event,
    ) -> impl Future<Output = Result<bool>> + Send;

    // Audit
    /// Appends an event that goes with no other change (e.g. a rejected code).
    fn append_audit(&self, ev: &Event) -> impl Future<Output = Result<()>> + Send;
    /// Newest first.
    fn audit_events(&self, q: &Query) -> impl Future<Output = Result<Vec<Record>>> + Send;
    /// Oldest first, from `after_seq` (exclusive): for verification and export.
    fn audit_scan(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Record>>> + Send;
    /// The sequence number and hash of the last event, kept apart from the log.
    fn audit_head(&self) -> impl Future<Output = Result<(i64, String)>> + Send;
    /// The head with its tag, read at once (see `audit::chain`).
    fn audit_tip(&self) -> impl Future<Output = Result<crate::audit::Head>> + Send;

    // Challenges (email, SMS, OCRA)
    /// Stores the rows of one or more challenges with their events, unless
    /// `limit` refuses them (checked in the same transaction, so concurrent
    /// requests cannot all pass): then only `refused` is appended and the
    /// answer is when the next send is allowed.
    fn create_challenges(
        &self,
        rows: &[NewChallenge],
        evs: &[Event],
        limit: Option<&ResendLimit>,
        refused: &Event,
    ) -> impl Future<Output = Result<Option<Timestamp>>> + Send;
    /// The rows of one challenge, whatever their state.
    fn challenge(&self, id: &str) -> impl Future<Output = Result<Vec<Challenge>>> + Send;
    /// The user's challenges still open at `now`, newest first.
    fn open_challenges(
        &self,
        user_id: i64,
        now: Timestamp,
    ) -> impl Future<Output = Result<Vec<Challenge>>> + Send;
    /// Marks the challenge used, only if it is still open, its token usable
    /// and the user not locked; then resets the failure counters (and
    /// activates a pending token when asked) and appends the events.
    fn consume_challenge(
        &self,
        c: &Consume,
        evs: &[Event],
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Counts a wrong answer against these challenges.
    fn challenge_attempt(&self, ids: &[String]) -> impl Future<Output = Result<()>> + Send;
    /// Sent codes of the user created at or after `since`; `last` only
    /// among those sent to `tokens`.
    fn resend_stats(
        &self,
        user_id: i64,
        tokens: &[i64],
        since: Timestamp,
    ) -> impl Future<Output = Result<ResendStats>> + Send;

    /// How far the audit log has been turned into notices.
    fn notice_cursor(&self) -> impl Future<Output = Result<i64>> + Send;
    /// Moves the notice cursor from `from` to `to`; false if another node did.
    fn advance_notice_cursor(
        &self,
        from: i64,
        to: i64,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Whether the database answers (readiness).
    fn ping(&self) -> impl Future<Output = Result<()>> + Send;
}
