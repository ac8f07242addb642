//! The State of the two-step mode (RFC 2865 §5.24): handed out with an
//! Access-Challenge once the password was right, good for one Access-Request
//! from the same gateway for the same user, until it expires by the domain
//! clock. Kept in the database (`TwoStepStore`), only as a hash, so that
//! behind a load balancer any node can take the second step.

use ichido_domain::Timestamp;
use ichido_domain::two_step::{PendingStep, TwoStepStore};
use ichido_store::Db;
use sha2::{Digest, Sha256};

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

    /// What the pending step found for a State (if any) means for this request.
    fn judge(found: Option<&PendingStep>, client: &str, username: &str, now: Timestamp) -> Taken {
        match found {
            None => Taken::Unknown,
            Some(p) if p.expires_at <= now => Taken::Expired,
            Some(p) if p.client != client || p.username != username => Taken::Mismatch,
            Some(_) => Taken::Valid,
        }
    }
}

pub struct Sessions {
    store: Db,
    lifetime_secs: i64,
}

impl Sessions {
    pub fn new(store: Db, lifetime_secs: i64) -> Self {
        Sessions {
            store,
            lifetime_secs,
        }
    }

    /// A fresh State for `username` at gateway `client`.
    pub async fn open(
        &self,
        client: &str,
        username: &str,
        now: Timestamp,
    ) -> Result<[u8; STATE_LEN], ichido_domain::Error> {
        let mut state = [0u8; STATE_LEN];
        state.copy_from_slice(&ichido_crypto::random::bytes(STATE_LEN));
        let step = PendingStep {
            key_hash: key_hash(&state),
            client: client.to_owned(),
            username: username.to_owned(),
            expires_at: now.plus_secs(self.lifetime_secs),
        };
        self.store.open_step(&step, now).await?;
        Ok(state)
    }

    /// Spends the State, whatever the outcome: each is good for one try.
    pub async fn take(
        &self,
        state: &[u8],
        client: &str,
        username: &str,
        now: Timestamp,
    ) -> Result<Taken, ichido_domain::Error> {
        if state.len() != STATE_LEN {
            return Ok(Taken::Unknown);
        }
        let found = self.store.take_step(&key_hash(state)).await?;
        Ok(Taken::judge(found.as_ref(), client, username, now))
    }
}

/// What the database keeps of a State: a reader of it cannot answer a
/// challenge with it. 128 random bits need no key or stretching.
fn key_hash(state: &[u8]) -> String {
    hex::encode(Sha256::digest(state))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timestamp = Timestamp(1_700_000_000_000);

    fn pending(client: &str, username: &str) -> PendingStep {
        PendingStep {
            key_hash: key_hash(&[7; STATE_LEN]),
            client: client.into(),
            username: username.into(),
            expires_at: T.plus_secs(120),
        }
    }

    #[test]
    fn state_is_good_for_its_client_and_user_until_it_expires() {
        let p = pending("vpn", "alice");
        let judge = |c, u, at| Taken::judge(Some(&p), c, u, at);
        assert_eq!(judge("vpn", "alice", T.plus_secs(119)), Taken::Valid);
        assert_eq!(judge("vpn", "alice", T.plus_secs(120)), Taken::Expired);
        assert_eq!(judge("vpn", "bob", T), Taken::Mismatch);
        assert_eq!(judge("rdp", "alice", T), Taken::Mismatch);
        assert_eq!(Taken::judge(None, "vpn", "alice", T), Taken::Unknown);
    }

    #[test]
    fn only_a_hash_of_the_state_is_kept() {
        // SHA-256 of sixteen 0x07 octets, computed independently
        // (`printf '\x07%.0s' {1..16} | sha256sum`).
        assert_eq!(
            key_hash(&[7; STATE_LEN]),
            "d761d406af2a4a5a15f67c924378ed88d1f85c13f1a37fc7366f59789b3bcd65"
        );
    }
}
