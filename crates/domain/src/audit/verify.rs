//! The whole check of the log, as `ichido audit verify` runs it: every link,
//! the head (sequence number, hash and tag), and any checkpoints.
//!
//! On a live server events keep arriving while the log is read. The head is
//! read first and the scan stops at its sequence number: the head is written
//! in the same transaction as the rows it covers, so every event up to it is
//! there, and newer events belong to a later check.

use super::chain::{ChainError, ChainKey, ChainVerifier, Head};
use super::checkpoint::Checkpoint;
use crate::error::StoreError;
use crate::store::Store;

/// Events read per round trip.
const PAGE: i64 = 5000;

/// What an intact log looked like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Events checked: all of them up to the head.
    pub events: i64,
    /// The head they end at.
    pub head: Head,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Chain(#[from] ChainError),
}

/// Checks the log against `key` and `checkpoints` (in any order).
pub async fn verify_log<S: Store>(
    store: &S,
    key: &ChainKey,
    checkpoints: &[Checkpoint],
) -> Result<Verified, VerifyError> {
    let mut checkpoints: Vec<&Checkpoint> = checkpoints.iter().collect();
    checkpoints.sort_by_key(|c| c.seq);
    if let Some(c) = checkpoints.iter().find(|c| !c.is_signed_by(key)) {
        return Err(ChainError::CheckpointForged { seq: c.seq }.into());
    }
    let head = store.audit_tip().await?;
    let mut verifier = ChainVerifier::new(key.clone());
    let mut pending = checkpoints.iter().peekable();
    let mut after = 0;
    // The first event found past the head, if any.
    let mut beyond = None;
    'scan: while after <= head.seq {
        let page = store.audit_scan(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in &page {
            if r.seq > head.seq {
                beyond = Some(r.seq);
                break 'scan;
            }
            verifier.check(r)?;
            while let Some(c) = pending.next_if(|c| c.seq <= r.seq) {
                if c.seq == r.seq && c.hash != r.hash {
                    return Err(ChainError::CheckpointMismatch { seq: c.seq }.into());
                }
            }
        }
    }
    // A checkpoint past the head saw events that are gone now.
    if let Some(c) = pending.find(|c| c.seq > 0) {
        return Err(ChainError::CutBelowCheckpoint {
            last: verifier.last_seq(),
            checkpoint: c.seq,
        }
        .into());
    }
    let events = verifier.finish(&head)?;
    // Events past the head are new ones on a live server, and then the head
    // has moved on to cover them by now; a head that stays below them was
    // put back to an older one.
    if let Some(seq) = beyond {
        let now = store.audit_tip().await?;
        if now.seq < seq {
            return Err(ChainError::BeyondHead { seq, head: now.seq }.into());
        }
    }
    Ok(Verified { events, head })
}
