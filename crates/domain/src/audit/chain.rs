//! The links of the audit chain, and the tag of its head.
//!
//! Each stored event carries `hash = HMAC-SHA-256(k, "link" ‖ prev_hash ‖
//! canonical(seq, event))`; the first event chains from 32 zero bytes. `k` is
//! derived from the keyring's hash key, which lives in the key file or the
//! environment and never in the database: whoever can write the database can
//! delete or edit rows, but cannot make the hashes agree again. The hash key
//! is never changed by `ichido keys rotate`, so old events keep verifying.
//!
//! Sequence numbers are contiguous from 1, so a deleted row shows as a gap.
//! The head row (last sequence number and hash, kept apart from the log)
//! carries `tag = HMAC(k, "head" ‖ seq ‖ hash)`: cutting off the last events
//! and lowering the head to an earlier one needs that earlier head's tag, and
//! no row keeps it. Only an old copy of the head row could supply it, which a
//! checkpoint kept outside the database catches (`checkpoint`).

use ichido_crypto::{KeyedHasher, Keyring, ct_eq};
use sha2::{Digest, Sha256};

use super::{Event, Record};

/// The keyring purpose the chain's key is derived for.
const PURPOSE: &str = "audit-chain";

/// Domain separation between the three things the key authenticates.
const LINK: &[u8] = b"ichido audit link\0";
const HEAD: &[u8] = b"ichido audit head\0";
const CHECKPOINT: &[u8] = b"ichido audit checkpoint\0";

pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// The key of the chain: an HMAC subkey of the keyring's hash key. Its
/// `Debug` shows the purpose only.
#[derive(Clone, Debug)]
pub struct ChainKey(KeyedHasher);

impl ChainKey {
    pub fn from_keyring(keyring: &Keyring) -> ChainKey {
        ChainKey(keyring.hasher(PURPOSE))
    }

    fn mac(&self, label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let mut data = label.to_vec();
        for p in parts {
            data.extend_from_slice(p);
        }
        self.0.hash(&data)
    }

    /// The tag of a head at `seq` whose last event hashes to `hash` (hex).
    pub fn head_tag(&self, seq: i64, hash: &str) -> String {
        hex::encode(self.mac(HEAD, &[&seq.to_be_bytes(), hash.as_bytes()]))
    }

    /// Whether `tag` is the head tag of `(seq, hash)`, in constant time.
    pub fn head_tag_matches(&self, seq: i64, hash: &str, tag: &str) -> bool {
        ct_eq(self.head_tag(seq, hash).as_bytes(), tag.as_bytes())
    }

    /// The signature of a checkpoint of `(seq, hash)` taken at `at_ms`.
    pub(crate) fn checkpoint_tag(&self, seq: i64, hash: &str, at_ms: i64) -> String {
        hex::encode(self.mac(
            CHECKPOINT,
            &[&seq.to_be_bytes(), &at_ms.to_be_bytes(), hash.as_bytes()],
        ))
    }
}

/// The canonical bytes of event `seq`: a JSON array, so no two different
/// events share a preimage.
fn canonical(seq: i64, e: &Event) -> Vec<u8> {
    serde_json::json!([
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
    ])
    .to_string()
    .into_bytes()
}

/// The link of event `seq` after `prev`.
pub fn chain_hash(key: &ChainKey, prev: &[u8; 32], seq: i64, e: &Event) -> [u8; 32] {
    key.mac(LINK, &[prev, &canonical(seq, e)])
}

/// The link as logs written before the chain was keyed computed it:
/// `SHA-256(prev ‖ canonical)`. Only for checking such a log once, before it
/// is re-keyed; anyone can compute it, so it proves nothing on its own.
pub fn unkeyed_chain_hash(prev: &[u8; 32], seq: i64, e: &Event) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical(seq, e));
    h.finalize().into()
}

/// The chain's end as the store keeps it, apart from the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    /// Hex of the last event's hash (of 32 zero bytes when the log is empty).
    pub hash: String,
    /// `ChainKey::head_tag` of `seq` and `hash`; `None` only if someone
    /// removed it.
    pub tag: Option<String>,
}

/// Where a chain stops being trustworthy.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("event {seq} was deleted (the next event found is {next})")]
    Deleted { seq: i64, next: i64 },
    #[error("event {seq} was inserted or duplicated (expected event {expected})")]
    Inserted { seq: i64, expected: i64 },
    #[error("event {seq} was edited: it does not link to the previous event")]
    BrokenLink { seq: i64 },
    #[error("event {seq} was edited: its content does not match its hash")]
    Edited { seq: i64 },
    #[error("the log was cut after event {last}: the chain head says {head}")]
    Truncated { last: i64, head: i64 },
    #[error("the chain head (event {seq}) does not match the log or is not signed by this keyring")]
    HeadMismatch { seq: i64 },
    #[error("event {seq} lies past the chain head (event {head}): the head was put back")]
    BeyondHead { seq: i64, head: i64 },
    #[error("the log was cut after event {last}: a checkpoint saw event {checkpoint}")]
    CutBelowCheckpoint { last: i64, checkpoint: i64 },
    #[error("event {seq} differs from the checkpoint taken at it (the log was rewritten)")]
    CheckpointMismatch { seq: i64 },
    #[error("the checkpoint at event {seq} is not signed by this keyring")]
    CheckpointForged { seq: i64 },
}

/// Checks records in order, one at a time, so a log of any size verifies in
/// constant memory.
#[derive(Debug)]
pub struct ChainVerifier {
    key: ChainKey,
    prev: [u8; 32],
    next_seq: i64,
}

impl ChainVerifier {
    pub fn new(key: ChainKey) -> Self {
        ChainVerifier {
            key,
            prev: GENESIS_HASH,
            next_seq: 1,
        }
    }

    pub fn check(&mut self, r: &Record) -> Result<(), ChainError> {
        if r.seq > self.next_seq {
            return Err(ChainError::Deleted {
                seq: self.next_seq,
                next: r.seq,
            });
        }
        if r.seq < self.next_seq {
            return Err(ChainError::Inserted {
                seq: r.seq,
                expected: self.next_seq,
            });
        }
        if r.prev_hash != hex::encode(self.prev) {
            return Err(ChainError::BrokenLink { seq: r.seq });
        }
        let h = chain_hash(&self.key, &self.prev, r.seq, &r.event);
        if !ct_eq(r.hash.as_bytes(), hex::encode(h).as_bytes()) {
            return Err(ChainError::Edited { seq: r.seq });
        }
        self.prev = h;
        self.next_seq += 1;
        Ok(())
    }

    /// The last event checked (0 before the first).
    pub fn last_seq(&self) -> i64 {
        self.next_seq - 1
    }

    /// Hex of the last event's hash.
    pub fn last_hash(&self) -> String {
        hex::encode(self.prev)
    }

    /// Compares the end of the log with the head the store keeps apart: its
    /// sequence number, its hash, and its tag.
    pub fn finish(&self, head: &Head) -> Result<i64, ChainError> {
        let last = self.last_seq();
        if last < head.seq {
            return Err(ChainError::Truncated {
                last,
                head: head.seq,
            });
        }
        let tagged = head
            .tag
            .as_deref()
            .is_some_and(|t| self.key.head_tag_matches(head.seq, &head.hash, t));
        if last != head.seq || head.hash != self.last_hash() || !tagged {
            return Err(ChainError::HeadMismatch { seq: head.seq });
        }
        Ok(last)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Context;
    use super::*;
    use crate::clock::Timestamp;

    fn key() -> ChainKey {
        ChainKey::from_keyring(&Keyring::generate())
    }

    fn record(key: &ChainKey, prev: &[u8; 32], seq: i64, action: &str) -> (Record, [u8; 32]) {
        let event = Event::new(&Context::system(), Timestamp(seq * 1000), action, "success");
        let h = chain_hash(key, prev, seq, &event);
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

    fn chain(key: &ChainKey, n: i64) -> Vec<Record> {
        let mut prev = GENESIS_HASH;
        (1..=n)
            .map(|seq| {
                let (r, h) = record(key, &prev, seq, "user.create");
                prev = h;
                r
            })
            .collect()
    }

    fn head_of(key: &ChainKey, rs: &[Record]) -> Head {
        let (seq, hash) = rs
            .last()
            .map_or((0, hex::encode(GENESIS_HASH)), |r| (r.seq, r.hash.clone()));
        Head {
            seq,
            tag: Some(key.head_tag(seq, &hash)),
            hash,
        }
    }

    fn verify(key: &ChainKey, rs: &[Record], head: &Head) -> Result<i64, ChainError> {
        let mut v = ChainVerifier::new(key.clone());
        for r in rs {
            v.check(r)?;
        }
        v.finish(head)
    }

    #[test]
    fn intact_chain_verifies() {
        let k = key();
        let rs = chain(&k, 5);
        assert_eq!(verify(&k, &rs, &head_of(&k, &rs)), Ok(5));
        assert_eq!(verify(&k, &[], &head_of(&k, &[])), Ok(0));
    }

    #[test]
    fn edited_event_is_detected() {
        let k = key();
        let mut rs = chain(&k, 5);
        let head = head_of(&k, &rs);
        rs[2].event.result = "failure".into();
        assert_eq!(verify(&k, &rs, &head), Err(ChainError::Edited { seq: 3 }));
    }

    #[test]
    fn deleted_event_is_detected() {
        let k = key();
        let mut rs = chain(&k, 5);
        let head = head_of(&k, &rs);
        rs.remove(1);
        assert_eq!(
            verify(&k, &rs, &head),
            Err(ChainError::Deleted { seq: 2, next: 3 })
        );
    }

    #[test]
    fn deleted_tail_is_detected_by_the_head() {
        let k = key();
        let rs = chain(&k, 5);
        assert_eq!(
            verify(&k, &rs[..4], &head_of(&k, &rs)),
            Err(ChainError::Truncated { last: 4, head: 5 })
        );
    }

    #[test]
    fn head_lowered_without_the_key_is_detected() {
        let k = key();
        let rs = chain(&k, 5);
        // The attacker copies event 4's hash into the head, but cannot tag it.
        let mut head = head_of(&k, &rs);
        head.seq = 4;
        head.hash = rs[3].hash.clone();
        assert_eq!(
            verify(&k, &rs[..4], &head),
            Err(ChainError::HeadMismatch { seq: 4 })
        );
        head.tag = None;
        assert_eq!(
            verify(&k, &rs[..4], &head),
            Err(ChainError::HeadMismatch { seq: 4 })
        );
    }

    #[test]
    fn relinked_event_is_detected() {
        let k = key();
        let mut rs = chain(&k, 3);
        let head = head_of(&k, &rs);
        rs[1].prev_hash = hex::encode([1u8; 32]);
        assert_eq!(
            verify(&k, &rs, &head),
            Err(ChainError::BrokenLink { seq: 2 })
        );
    }

    #[test]
    fn another_keyring_does_not_verify_the_chain() {
        let k = key();
        let rs = chain(&k, 2);
        let other = key();
        assert_eq!(
            verify(&other, &rs, &head_of(&other, &rs)),
            Err(ChainError::Edited { seq: 1 })
        );
    }

    #[test]
    fn link_is_hmac_of_label_prev_and_canonical_bytes() {
        // Recomputed from the keyed-hash construction, independently of
        // `chain_hash`: HMAC(subkey, label ‖ prev ‖ JSON array).
        let ring = Keyring::generate();
        let k = ChainKey::from_keyring(&ring);
        let e = Event::new(&Context::system(), Timestamp(7), "user.create", "success");
        let prev = [3u8; 32];
        let mut data = b"ichido audit link\0".to_vec();
        data.extend_from_slice(&prev);
        data.extend_from_slice(
            br#"[1,7,"system","user.create",null,null,null,null,"success",null]"#,
        );
        assert_eq!(
            chain_hash(&k, &prev, 1, &e),
            ring.hasher("audit-chain").hash(&data)
        );
        assert_ne!(
            chain_hash(&k, &prev, 1, &e),
            unkeyed_chain_hash(&prev, 1, &e)
        );
    }
}
