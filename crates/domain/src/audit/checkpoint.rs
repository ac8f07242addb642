//! A signed head kept outside the database.
//!
//! The head's tag stops someone without the key from lowering the head, but
//! not someone who kept an old copy of the head row (a backup, a snapshot):
//! they can cut the log back to that point and put the old head back. A
//! checkpoint written to a file or a log line, where the database's writers
//! cannot reach it, remembers that the log once reached `seq` with `hash`;
//! `ichido audit verify --checkpoint` then refuses a log that ends before it
//! or differs at it. It is signed with the chain's key, so a checkpoint file
//! cannot be forged to match a rewritten log either.

use super::chain::{ChainKey, Head};
use crate::clock::Timestamp;

/// One line of a checkpoint file (JSON).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub seq: i64,
    /// Hex of the hash of event `seq`.
    pub hash: String,
    /// When it was taken, milliseconds since the Unix epoch.
    pub at: Timestamp,
    /// HMAC under the chain's key of the three fields above.
    pub tag: String,
}

impl Checkpoint {
    /// Signs `head` as seen at `at`. The caller has verified it first.
    pub fn sign(key: &ChainKey, head: &Head, at: Timestamp) -> Checkpoint {
        Checkpoint {
            seq: head.seq,
            hash: head.hash.clone(),
            at,
            tag: key.checkpoint_tag(head.seq, &head.hash, at.0),
        }
    }

    pub fn is_signed_by(&self, key: &ChainKey) -> bool {
        ichido_crypto::ct_eq(
            key.checkpoint_tag(self.seq, &self.hash, self.at.0)
                .as_bytes(),
            self.tag.as_bytes(),
        )
    }

    /// The line written to a checkpoint file, without its newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a checkpoint always serializes")
    }

    /// Every checkpoint of a file: the JSON lines `ichido audit checkpoint`
    /// writes, or the server's human log, whose other lines are skipped
    /// (`… audit checkpoint {"seq":…}`).
    pub fn parse_lines(text: &str) -> Result<Vec<Checkpoint>, String> {
        text.lines()
            .enumerate()
            .filter_map(|(n, line)| {
                let line = line.trim();
                let object = if line.starts_with('{') {
                    line
                } else {
                    let at = line.find(LOGGED)?;
                    &line[at + LOGGED.len() - 1..]
                };
                Some(
                    serde_json::from_str(object)
                        .map_err(|e| format!("line {}: not a checkpoint ({e})", n + 1)),
                )
            })
            .collect()
    }
}

/// What precedes a checkpoint in the server's log.
pub const LOGGED: &str = "audit checkpoint {";

#[cfg(test)]
mod tests {
    use super::*;
    use ichido_crypto::Keyring;

    fn head() -> Head {
        Head {
            seq: 12,
            hash: "ab".repeat(32),
            tag: None,
        }
    }

    #[test]
    fn checkpoint_round_trips_and_verifies_only_under_its_key() {
        let ring = Keyring::generate();
        let key = ChainKey::from_keyring(&ring);
        let cp = Checkpoint::sign(&key, &head(), Timestamp(1_700_000_000_000));
        let parsed =
            Checkpoint::parse_lines(&format!("{}\n\n{}\n", cp.to_line(), cp.to_line())).unwrap();
        assert_eq!(parsed, vec![cp.clone(), cp.clone()]);
        assert!(cp.is_signed_by(&key));
        assert!(!cp.is_signed_by(&ChainKey::from_keyring(&Keyring::generate())));
        for forged in [
            Checkpoint {
                seq: 11,
                ..cp.clone()
            },
            Checkpoint {
                hash: "cd".repeat(32),
                ..cp.clone()
            },
            Checkpoint {
                at: Timestamp(0),
                ..cp.clone()
            },
        ] {
            assert!(!forged.is_signed_by(&key), "{forged:?}");
        }
    }

    #[test]
    fn a_checkpoint_is_read_from_a_log_line() {
        let key = ChainKey::from_keyring(&Keyring::generate());
        let cp = Checkpoint::sign(&key, &head(), Timestamp(5));
        let log = format!(
            "2026-01-01T00:00:00Z  INFO ichido_server::app: audit checkpoint {}\n",
            cp.to_line()
        );
        assert_eq!(Checkpoint::parse_lines(&log).unwrap(), vec![cp]);
    }

    #[test]
    fn a_line_that_is_not_a_checkpoint_is_named() {
        let err = Checkpoint::parse_lines("{\"seq\":1}\n").unwrap_err();
        assert!(err.starts_with("line 1:"), "{err}");
    }
}
