//! The State of the two-step mode (RFC 2865 §5.24): handed out with an
//! Access-Challenge once the password was right, good for one Access-Request
//! from the same gateway for the same user, until it expires by the domain
//! clock. Kept in memory: a restart only means signing in again.

use std::collections::HashMap;
use std::sync::Mutex;

use ichido_domain::Timestamp;

/// Octets of a State value: 128 random bits.
pub const STATE_LEN: usize = 16;

/// How a State presented in an Access-Request turned out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taken {
    /// Issued to this gateway for this user, not expired; now spent.
    Valid,
    /// Never issued, or already spent.
    Unknown,
    Expired,
    /// Issued to another gateway or another user; spent all the same.
    Mismatch,
}

impl Taken {
    /// The word the audit log records.
    pub fn reason(self) -> &'static str {
        match self {
            Taken::Valid => "ok",
            Taken::Unknown => "unknown_state",
            Taken::Expired => "expired_state",
            Taken::Mismatch => "state_mismatch",
        }
    }
}

struct Pending {
    client: String,
    username: String,
    expires: Timestamp,
}

pub struct Sessions {
    pending: Mutex<HashMap<[u8; STATE_LEN], Pending>>,
    lifetime_secs: i64,
    capacity: usize,
}

impl Sessions {
    pub fn new(lifetime_secs: i64, capacity: usize) -> Self {
        Sessions {
            pending: Mutex::new(HashMap::new()),
            lifetime_secs,
            capacity,
        }
    }

    /// A fresh State for `username` at gateway `client`; `None` when
    /// `capacity` States are pending and none has expired.
    pub fn open(&self, client: &str, username: &str, now: Timestamp) -> Option<[u8; STATE_LEN]> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.len() >= self.capacity {
            pending.retain(|_, p| p.expires > now);
            if pending.len() >= self.capacity {
                return None;
            }
        }
        let mut state = [0u8; STATE_LEN];
        state.copy_from_slice(&ichido_crypto::random::bytes(STATE_LEN));
        pending.insert(
            state,
            Pending {
                client: client.to_owned(),
                username: username.to_owned(),
                expires: now.plus_secs(self.lifetime_secs),
            },
        );
        Some(state)
    }

    /// Spends the State, whatever the outcome: each is good for one try.
    pub fn take(&self, state: &[u8], client: &str, username: &str, now: Timestamp) -> Taken {
        let Ok(key) = <[u8; STATE_LEN]>::try_from(state) else {
            return Taken::Unknown;
        };
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        match pending.remove(&key) {
            None => Taken::Unknown,
            Some(p) if p.expires <= now => Taken::Expired,
            Some(p) if p.client != client || p.username != username => Taken::Mismatch,
            Some(_) => Taken::Valid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timestamp = Timestamp(1_700_000_000_000);

    #[test]
    fn state_is_good_once_for_its_client_and_user() {
        let s = Sessions::new(120, 10);
        let state = s.open("vpn", "alice", T).unwrap();
        assert_eq!(
            s.take(&state, "vpn", "alice", T.plus_secs(119)),
            Taken::Valid
        );
        assert_eq!(
            s.take(&state, "vpn", "alice", T.plus_secs(119)),
            Taken::Unknown
        );
    }

    #[test]
    fn state_expires_by_the_clock() {
        let s = Sessions::new(120, 10);
        let state = s.open("vpn", "alice", T).unwrap();
        assert_eq!(
            s.take(&state, "vpn", "alice", T.plus_secs(120)),
            Taken::Expired
        );
    }

    #[test]
    fn state_of_another_user_or_gateway_is_spent_and_refused() {
        let s = Sessions::new(120, 10);
        let state = s.open("vpn", "alice", T).unwrap();
        assert_eq!(s.take(&state, "vpn", "bob", T), Taken::Mismatch);
        assert_eq!(s.take(&state, "vpn", "alice", T), Taken::Unknown);
        let state = s.open("vpn", "alice", T).unwrap();
        assert_eq!(s.take(&state, "rdp", "alice", T), Taken::Mismatch);
        assert_eq!(s.take(b"short", "vpn", "alice", T), Taken::Unknown);
    }

    #[test]
    fn capacity_is_freed_by_expiry_only() {
        let s = Sessions::new(120, 2);
        assert!(s.open("vpn", "a", T).is_some());
        assert!(s.open("vpn", "b", T).is_some());
        assert!(s.open("vpn", "c", T).is_none());
        assert!(s.open("vpn", "c", T.plus_secs(121)).is_some());
    }
}
