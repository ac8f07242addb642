//! The pending second step of a two-step sign-in (RADIUS `State`, RFC 2865
//! §5.24): handed out once the first factor was right, good for one answer
//! from the same gateway for the same user until it expires. Kept in the
//! database, so any node sharing it can take the second step, whichever
//! node took the first.

use std::future::Future;

use crate::clock::Timestamp;
use crate::error::StoreError;

pub type Result<T> = std::result::Result<T, StoreError>;

/// A second step waiting for its answer. `key_hash` is a hash of the value
/// handed to the gateway, never the value itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingStep {
    pub key_hash: String,
    /// The gateway that was handed the value.
    pub client: String,
    pub username: String,
    pub expires_at: Timestamp,
}

pub trait TwoStepStore: Send + Sync {
    /// Keeps a new pending step; those expired at `now` are deleted.
    fn open_step(
        &self,
        step: &PendingStep,
        now: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Spends the step, whatever comes of it: the row as it was, once;
    /// `None` if it never existed or was taken before (here or on any node).
    fn take_step(&self, key_hash: &str)
    -> impl Future<Output = Result<Option<PendingStep>>> + Send;
}
