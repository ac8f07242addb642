//! Audit events, and the keyed hash chain that makes editing, deleting or
//! cutting off one detectable.
//!
//! - [`chain`]: the links (HMAC under a keyring key), the head's tag, and the
//!   verifier that walks the log in order.
//! - [`checkpoint`]: a signed head kept outside the database.
//! - [`verify`]: the whole check, as `ichido audit verify` runs it.

pub mod chain;
pub mod checkpoint;
pub mod verify;

pub use chain::{
    ChainError, ChainKey, ChainVerifier, GENESIS_HASH, Head, chain_hash, unkeyed_chain_hash,
};
pub use checkpoint::Checkpoint;

use crate::clock::Timestamp;

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
