//! Self-service reset for a user who lost every factor: a single-use link
//! mailed to the registered address, good for a short while, that together
//! with the password (and, where policy says, a helpdesk approval) lets the
//! user enroll a new token. The link alone never yields a working factor: the
//! new token is pending until a code from it is proved.

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
}

impl Default for ResetPolicy {
    fn default() -> Self {
        ResetPolicy {
            lifetime_seconds: 900,
            require_approval: false,
            base_url: "http://127.0.0.1:8080".into(),
        }
    }
}

impl ResetPolicy {
    pub fn check(&self) -> std::result::Result<(), String> {
        if !(60..=86_400).contains(&self.lifetime_seconds) {
            return Err("reset.lifetime_seconds must be 60-86400".into());
        }
        if !self.base_url.starts_with("http://") && !self.base_url.starts_with("https://") {
            return Err("reset.base_url must be an http(s) URL".into());
        }
        Ok(())
    }
}

/// The mail carrying the link. `{link}`, `{minutes}`, `{issuer}` and
/// `{username}` are replaced.
pub const RESET_SUBJECT: &str = "{issuer}: reset your sign-in";
pub const RESET_TEXT: &str = "Hello {username},\n\nsomeone asked to reset the second factor of \
    your {issuer} account. To enroll a new authenticator, open\n\n{link}\n\nand enter your \
    password. The link works once, for {minutes} minutes.\n\nIf you did not ask for this, \
    ignore this message and tell your administrator.\n";
pub const RESET_HTML: &str = "<p>Hello {username},</p><p>someone asked to reset the second \
    factor of your {issuer} account. To enroll a new authenticator, open</p>\
    <p><a href=\"{link}\">{link}</a></p><p>and enter your password. The link works once, for \
    {minutes} minutes.</p><p>If you did not ask for this, ignore this message and tell your \
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
    pub expires_at: Timestamp,
    pub approved_at: Option<Timestamp>,
    pub used_at: Option<Timestamp>,
}

impl Reset {
    /// Unused and unexpired at `now`.
    pub fn is_open(&self, now: Timestamp) -> bool {
        self.used_at.is_none() && self.expires_at > now
    }
}

/// Everything a followed link changes, in one transaction.
#[derive(Clone, Debug)]
pub struct CompleteReset {
    pub token_hash: String,
    pub user_id: i64,
    pub require_approval: bool,
    /// The pending token that replaces all the user's tokens.
    pub token: NewToken,
    /// The new backup codes' hashes; the old set is void.
    pub backup_hashes: Vec<String>,
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
    /// Uses the link, only if unused, unexpired, the user's and (when
    /// required) approved; then revokes every token of the user, stores the
    /// new pending one and replaces the backup codes. `None` when the link
    /// was not usable: nothing changed.
    fn complete_reset(
        &self,
        c: &CompleteReset,
        evs: &[Event],
    ) -> impl Future<Output = Result<Option<Token>>> + Send;
}
