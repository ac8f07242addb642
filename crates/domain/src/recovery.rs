//! Recovery: backup codes, the emergency unlock code, lost and replaced
//! tokens, imported hardware tokens and the reports on stale tokens. The
//! storage side is a port of its own, which every `Store` also implements.

use std::future::Future;

use crate::audit::Event;
use crate::clock::Timestamp;
use crate::error::StoreError;
use crate::token::{NewToken, Token};
use crate::user::User;

pub type Result<T> = std::result::Result<T, StoreError>;

/// The two kinds of one-use recovery code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeKind {
    /// One of a set of ten, 12 characters (60 bits) each.
    Backup,
    /// One per user, 24 characters (120 bits), for when nothing else works.
    Emergency,
}

impl CodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeKind::Backup => "backup",
            CodeKind::Emergency => "emergency",
        }
    }
    /// Characters of the code without its dashes.
    pub fn chars(self) -> usize {
        match self {
            CodeKind::Backup => 12,
            CodeKind::Emergency => 24,
        }
    }
    pub fn count(self) -> usize {
        match self {
            CodeKind::Backup => 10,
            CodeKind::Emergency => 1,
        }
    }
    /// The keyed-hash purpose of this kind's codes.
    pub fn purpose(self) -> &'static str {
        match self {
            CodeKind::Backup => "backup-code",
            CodeKind::Emergency => "emergency-code",
        }
    }
}

/// Thirty-two characters, none easily mistaken for another (no 0/O, 1/I):
/// each carries exactly 5 bits.
pub const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A recovery code as typed, reduced to its characters: upper case, dashes
/// and spaces dropped. `None` when it cannot be a code of either kind.
pub fn normalize_code(typed: &str) -> Option<(CodeKind, String)> {
    let s: String = typed
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if !s.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
        return None;
    }
    [CodeKind::Backup, CodeKind::Emergency]
        .into_iter()
        .find(|k| k.chars() == s.len())
        .map(|k| (k, s))
}

/// Groups of four joined by dashes: `ABCD-EFGH-JKLM`.
pub fn group_code(s: &str) -> String {
    s.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// A lost token's state change and, when asked, its temporary replacement.
#[derive(Clone, Debug)]
pub struct LostToken {
    pub token_id: i64,
    pub replacement: Option<NewToken>,
    pub valid_until: Option<Timestamp>,
    pub now: Timestamp,
}

pub trait RecoveryStore: Send + Sync {
    /// Voids every code of `kind` the user had and stores the new hashes.
    fn replace_codes(
        &self,
        user_id: i64,
        kind: CodeKind,
        hashes: &[String],
        now: Timestamp,
        ev: &Event,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Uses the code once: true if this call marked it used. Resets the
    /// user's failure count; refused while the user is locked.
    fn consume_code(
        &self,
        user_id: i64,
        kind: CodeKind,
        hash: &str,
        now: Timestamp,
        ev: &Event,
    ) -> impl Future<Output = Result<bool>> + Send;
    fn remaining_codes(
        &self,
        user_id: i64,
        kind: CodeKind,
    ) -> impl Future<Output = Result<i64>> + Send;

    /// Marks the token lost (seed erased) and stores its temporary
    /// replacement, valid until `valid_until`, in the same transaction.
    /// `None` when the token was already revoked or lost.
    fn mark_lost(
        &self,
        lost: &LostToken,
        evs: &[Event],
    ) -> impl Future<Output = Result<Option<Option<Token>>>> + Send;
    /// A pending token whose activation revokes `replaces`.
    fn create_replacement(
        &self,
        token: &NewToken,
        replaces: i64,
        now: Timestamp,
        ev: &Event,
    ) -> impl Future<Output = Result<Token>> + Send;

    /// Stores every token or none; a duplicate serial fails the whole set.
    /// Each comes with the last counter to count as used (HOTP).
    fn import_tokens(
        &self,
        tokens: &[(NewToken, Option<i64>)],
        now: Timestamp,
        evs: &[Event],
    ) -> impl Future<Output = Result<()>> + Send;
    /// Gives an unassigned token to a user; false if it is assigned already.
    fn assign_token(
        &self,
        token_id: i64,
        user_id: i64,
        ev: &Event,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Active tokens not used since `before` (never used: since activation).
    fn stale_tokens(&self, before: Timestamp) -> impl Future<Output = Result<Vec<Token>>> + Send;
    /// Users without any active token.
    fn users_without_token(&self) -> impl Future<Output = Result<Vec<User>>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_normalized_and_grouped() {
        assert_eq!(
            normalize_code("abcd-efgh-jklm"),
            Some((CodeKind::Backup, "ABCDEFGHJKLM".into()))
        );
        assert_eq!(normalize_code("123456"), None);
        assert_eq!(normalize_code("ABCD-EFGH-JKL0"), None);
        assert_eq!(
            normalize_code(&"A".repeat(24)).map(|c| c.0),
            Some(CodeKind::Emergency)
        );
        assert_eq!(group_code("ABCDEFGHJKLM"), "ABCD-EFGH-JKLM");
    }
}
