//! Audit events and the hash chain that makes editing or deleting one detectable.
//!
//! Each stored event carries `hash = SHA-256(prev_hash ‖ canonical(event, seq))`;
//! the first event chains from 32 zero bytes. Sequence numbers are contiguous
//! from 1, so a deleted row shows as a gap even if the hashes were recomputed
//! after it — and recomputing needs write access to every later row.

use crate::clock::Timestamp;
use sha2::{Digest, Sha256};

/// Who did it, from where: filled at the edge (HTTP, RADIUS, CLI).
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// `apikey:<name>`, `user:<username>`, `radius:<nas>`, `cli` or `system`.
    pub actor: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Context {
    pub fn system() -> Self {
        Context {
            actor: "system".into(),
            ..Default::default()
        }
    }
    pub fn cli() -> Self {
        Context {
            actor: "cli".into(),
            ..Default::default()
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    pub at: Timestamp,
    pub actor: String,
    /// Dotted verb, e.g. `validate`, `token.enroll`, `user.unlock`.
    pub action: String,
    pub username: Option<String>,
    pub serial: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// `success` / `failure` for changes, `accept` / `reject` for validations.
    pub result: String,
    /// Why, in a word: `ok`, `wrong_code`, `replay`, `locked`, `unknown_user` …
    pub reason: Option<String>,
}

impl Event {
    pub fn new(ctx: &Context, at: Timestamp, action: &str, result: &str) -> Self {
        Event {
            at,
            actor: ctx.actor.clone(),
            action: action.to_owned(),
            username: None,
            serial: None,
            client_ip: ctx.client_ip.clone(),
            user_agent: ctx.user_agent.clone(),
            result: result.to_owned(),
            reason: None,
        }
    }
    pub fn user(mut self, username: &str) -> Self {
        self.username = Some(username.to_owned());
        self
    }
    pub fn serial(mut self, serial: &str) -> Self {
        self.serial = Some(serial.to_owned());
        self
    }
    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_owned());
        self
    }
}

/// An event as stored: its place in the chain and the links.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    pub seq: i64,
    #[serde(flatten)]
    pub event: Event,
    pub prev_hash: String,
    pub hash: String,
}

pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// The link of event `seq` after `prev`. The encoding is a JSON array, so no
/// two different events share a preimage.
pub fn chain_hash(prev: &[u8; 32], seq: i64, e: &Event) -> [u8; 32] {
    let canonical = serde_json::json!([
        seq,
        e.at.0,
        e.actor,
        e.action,
        e.username,
        e.serial,
        e.client_ip,
        e.user_agent,
        e.result,
        e.reason
    ]);
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical.to_string().as_bytes());
    h.finalize().into()
}

/// Where a chain stops being trustworthy.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("event {seq}: expected sequence number {expected} (a row was deleted or inserted)")]
    Gap { seq: i64, expected: i64 },
    #[error("event {seq}: does not link to the previous event")]
    BrokenLink { seq: i64 },
    #[error("event {seq}: content does not match its hash (edited)")]
    Edited { seq: i64 },
    #[error(
        "the log ends at event {last} but the chain head says {head} (rows were removed at the end)"
    )]
    Truncated { last: i64, head: i64 },
}

/// Checks records in order, one at a time, so a log of any size verifies in
/// constant memory.
#[derive(Debug)]
pub struct ChainVerifier {
    prev: [u8; 32],
    next_seq: i64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            prev: GENESIS_HASH,
            next_seq: 1,
        }
    }
}

impl ChainVerifier {
    pub fn check(&mut self, r: &Record) -> Result<(), ChainError> {
        if r.seq != self.next_seq {
            return Err(ChainError::Gap {
                seq: r.seq,
                expected: self.next_seq,
            });
        }
        if r.prev_hash != hex::encode(self.prev) {
            return Err(ChainError::BrokenLink { seq: r.seq });
        }
        let h = chain_hash(&self.prev, r.seq, &r.event);
        if r.hash != hex::encode(h) {
            return Err(ChainError::Edited { seq: r.seq });
        }
        self.prev = h;
        self.next_seq += 1;
        Ok(())
    }
    /// Compares the end of the log with the head the store keeps apart.
    pub fn finish(&self, head_seq: i64) -> Result<i64, ChainError> {
        let last = self.next_seq - 1;
        if last != head_seq {
            return Err(ChainError::Truncated {
                last,
                head: head_seq,
            });
        }
        Ok(last)
    }
}

/// Filter for reading the log.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub username: Option<String>,
    pub action: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Return events with `seq` below this (newest first paging).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(prev: &[u8; 32], seq: i64, action: &str) -> (Record, [u8; 32]) {
        let event = Event::new(&Context::system(), Timestamp(seq * 1000), action, "success");
        let h = chain_hash(prev, seq, &event);
        (
            Record {
                seq,
                event,
                prev_hash: hex::encode(prev),
                hash: hex::encode(h),
            },
            h,
        )
    }

    fn chain(n: i64) -> Vec<Record> {
        let mut prev = GENESIS_HASH;
        (1..=n)
            .map(|seq| {
                let (r, h) = record(&prev, seq, "user.create");
                prev = h;
                r
            })
            .collect()
    }

    fn verify(rs: &[Record], head: i64) -> Result<i64, ChainError> {
        let mut v = ChainVerifier::default();
        for r in rs {
            v.check(r)?;
        }
        v.finish(head)
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify(&chain(5), 5), Ok(5));
    }

    #[test]
    fn edited_event_is_detected() {
        let mut rs = chain(5);
        rs[2].event.result = "failure".into();
        assert_eq!(verify(&rs, 5), Err(ChainError::Edited { seq: 3 }));
    }

    #[test]
    fn deleted_event_is_detected() {
        let mut rs = chain(5);
        rs.remove(1);
        assert_eq!(
            verify(&rs, 5),
            Err(ChainError::Gap {
                seq: 3,
                expected: 2
            })
        );
    }

    #[test]
    fn deleted_tail_is_detected_by_the_head() {
        let rs = chain(5);
        assert_eq!(
            verify(&rs[..4], 5),
            Err(ChainError::Truncated { last: 4, head: 5 })
        );
    }

    #[test]
    fn relinked_event_is_detected() {
        let mut rs = chain(3);
        rs[1].prev_hash = hex::encode([1u8; 32]);
        assert_eq!(verify(&rs, 3), Err(ChainError::BrokenLink { seq: 2 }));
    }
}
