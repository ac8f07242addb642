//! Retransmissions (RFC 5080 §2.2.2): a gateway that heard nothing sends the
//! same request again, with the same Identifier and Request Authenticator.
//! It must get the same answer, and the attempt must not count twice, so
//! answers are kept for a short while, keyed by source, Identifier and
//! Request Authenticator. A retransmission that arrives while the first copy
//! is still being decided is dropped: the gateway will try again.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Source address and port, Identifier, Request Authenticator.
pub type Key = (SocketAddr, u8, [u8; 16]);

/// What the cache knows about a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// First time: the caller decides, then calls `answer` or `forget`.
    New,
    /// A copy is being decided right now.
    InFlight,
    /// Already answered: send these octets again.
    Answered(Arc<[u8]>),
    /// An earlier copy could not be decided (see `committed`); this one is
    /// now in flight, and the caller first looks at what was committed.
    Failed,
}

enum Entry {
    InFlight { seq: u64 },
    Answered { seq: u64, reply: Arc<[u8]> },
    Failed { seq: u64 },
}

impl Entry {
    fn seq(&self) -> u64 {
        match self {
            Entry::InFlight { seq } | Entry::Answered { seq, .. } | Entry::Failed { seq } => *seq,
        }
    }
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    /// Insertion order, for expiry; stale rows (seq no longer current) are skipped.
    order: VecDeque<(Key, u64, Instant)>,
    next_seq: u64,
}

pub struct ReplyCache {
    inner: Mutex<Inner>,
    ttl: Duration,
    capacity: usize,
}

impl ReplyCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        ReplyCache {
            inner: Mutex::new(Inner::default()),
            ttl,
            capacity,
        }
    }

    /// Looks the request up; a new one is marked in flight.
    pub fn check_in(&self, key: Key, now: Instant) -> Seen {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.expire(now, self.ttl, self.capacity);
        match inner.entries.get_mut(&key) {
            Some(Entry::InFlight { .. }) => return Seen::InFlight,
            Some(Entry::Answered { reply, .. }) => return Seen::Answered(reply.clone()),
            Some(entry @ Entry::Failed { .. }) => {
                let seq = entry.seq();
                *entry = Entry::InFlight { seq };
                return Seen::Failed;
            }
            None => {}
        }
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.entries.insert(key, Entry::InFlight { seq });
        inner.order.push_back((key, seq, now));
        Seen::New
    }

    /// Keeps the answer for retransmissions of the request.
    pub fn answer(&self, key: Key, reply: Arc<[u8]>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = inner.entries.get_mut(&key) {
            let seq = entry.seq();
            *entry = Entry::Answered { seq, reply };
        }
    }

    /// The decision failed: it may or may not have been committed, and a
    /// retransmission (until the entry expires) says so with `Seen::Failed`.
    pub fn fail(&self, key: Key) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = inner.entries.get_mut(&key) {
            let seq = entry.seq();
            *entry = Entry::Failed { seq };
        }
    }

    /// The request got no answer and changed nothing (dropped before it was
    /// decided): a retransmission is decided afresh.
    pub fn forget(&self, key: Key) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.entries.remove(&key);
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    /// Drops entries older than `ttl`, and the oldest ones beyond `capacity`.
    fn expire(&mut self, now: Instant, ttl: Duration, capacity: usize) {
        while let Some(&(key, seq, at)) = self.order.front() {
            let current = self.entries.get(&key).is_some_and(|e| e.seq() == seq);
            if current && now.saturating_duration_since(at) < ttl && self.entries.len() < capacity {
                break;
            }
            self.order.pop_front();
            if current {
                self.entries.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u8) -> Key {
        (SocketAddr::from(([192, 0, 2, 1], 40000)), id, [id; 16])
    }

    #[test]
    fn retransmission_gets_the_same_octets() {
        let cache = ReplyCache::new(Duration::from_secs(30), 100);
        let t = Instant::now();
        assert_eq!(cache.check_in(key(1), t), Seen::New);
        assert_eq!(cache.check_in(key(1), t), Seen::InFlight);
        cache.answer(key(1), Arc::from(&b"reply"[..]));
        assert_eq!(
            cache.check_in(key(1), t),
            Seen::Answered(Arc::from(&b"reply"[..]))
        );
        assert_eq!(cache.check_in(key(2), t), Seen::New);
    }

    #[test]
    fn answers_expire() {
        let cache = ReplyCache::new(Duration::from_secs(30), 100);
        let t = Instant::now();
        assert_eq!(cache.check_in(key(1), t), Seen::New);
        cache.answer(key(1), Arc::from(&b"reply"[..]));
        let later = t + Duration::from_secs(31);
        assert_eq!(cache.check_in(key(1), later), Seen::New);
    }

    #[test]
    fn forgotten_request_is_decided_afresh() {
        let cache = ReplyCache::new(Duration::from_secs(30), 100);
        let t = Instant::now();
        assert_eq!(cache.check_in(key(1), t), Seen::New);
        cache.forget(key(1));
        assert_eq!(cache.check_in(key(1), t), Seen::New);
        cache.answer(key(1), Arc::from(&b"reply"[..]));
        assert!(matches!(cache.check_in(key(1), t), Seen::Answered(_)));
    }

    #[test]
    fn retransmission_of_a_failed_request_is_told_so_once() {
        let cache = ReplyCache::new(Duration::from_secs(30), 100);
        let t = Instant::now();
        assert_eq!(cache.check_in(key(1), t), Seen::New);
        cache.fail(key(1));
        assert_eq!(cache.check_in(key(1), t), Seen::Failed);
        assert_eq!(cache.check_in(key(1), t), Seen::InFlight);
        cache.answer(key(1), Arc::from(&b"reply"[..]));
        assert!(matches!(cache.check_in(key(1), t), Seen::Answered(_)));
        let later = t + Duration::from_secs(31);
        assert_eq!(cache.check_in(key(1), later), Seen::New);
    }

    #[test]
    fn capacity_evicts_the_oldest() {
        let cache = ReplyCache::new(Duration::from_secs(30), 3);
        let t = Instant::now();
        for id in 0..10 {
            assert_eq!(cache.check_in(key(id), t), Seen::New);
            cache.answer(key(id), Arc::from(&[id][..]));
        }
        assert!(cache.len() <= 3);
        assert!(matches!(cache.check_in(key(9), t), Seen::Answered(_)));
    }
}
