//! What a request whose decision failed may already have committed.
//!
//! A store error does not prove that nothing was written: on PostgreSQL a
//! COMMIT can succeed and its acknowledgement be lost. Such a request gets no
//! answer, so the gateway retransmits it; deciding the copy afresh would find
//! its code used and answer Access-Reject, counting a failure, for a code that
//! was accepted. So every event a request causes carries the request's
//! identity in its `user_agent` (`request=<hash>`), written in the same
//! transaction as the acceptance itself, and the retransmission of a failed
//! request is first looked up there.

use std::net::SocketAddr;

use ichido_domain::Error;
use ichido_domain::audit::{Query, Record};
use ichido_domain::service::Ichido;
use ichido_radius::Packet;
use ichido_store::Db;
use sha2::{Digest, Sha256};

/// How far back to look: far beyond any gateway's retransmission period.
const LOOK_BACK_SECS: i64 = 300;
/// The user's newest events to search; a retransmission follows its first
/// copy within seconds, so its events are among the last few.
const LOOK_BACK_EVENTS: i64 = 200;

/// The identity of a request and its retransmissions (RFC 5080 §2.2.2:
/// same source, Identifier and Request Authenticator), as a word for the
/// audit log. Hashed: the Request Authenticator is an input of the
/// password's hiding.
pub fn request_id(client: &str, source: SocketAddr, request: &Packet) -> String {
    let mut h = Sha256::new();
    h.update(client.as_bytes());
    h.update([0]);
    h.update(source.to_string().as_bytes());
    h.update([0, request.identifier]);
    h.update(request.authenticator);
    format!("request={}", hex::encode(&h.finalize()[..12]))
}

/// Whether an acceptance of `username` by the request `request_id` was committed.
pub async fn accepted(
    ichido: &Ichido<Db>,
    username: &str,
    request_id: &str,
) -> Result<bool, Error> {
    let now = ichido.clock().now();
    let q = Query {
        username: Some(username.to_owned()),
        since: Some(now.plus_secs(-LOOK_BACK_SECS)),
        limit: LOOK_BACK_EVENTS,
        ..Default::default()
    };
    let events = ichido.store_audit(&q).await?;
    Ok(events
        .iter()
        .any(|r| is_acceptance(r) && carries(r, request_id)))
}

/// An OTP, challenge answer or recovery code accepted.
fn is_acceptance(r: &Record) -> bool {
    let e = &r.event;
    match e.action.as_str() {
        "validate" => e.result == "accept",
        "backup.use" | "emergency.use" => e.result == "success",
        _ => false,
    }
}

fn carries(r: &Record, request_id: &str) -> bool {
    r.event
        .user_agent
        .as_deref()
        .is_some_and(|ua| ua.split(' ').any(|w| w == request_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ichido_radius::Code;

    #[test]
    fn retransmission_has_the_same_id_and_another_request_another() {
        let source: SocketAddr = "192.0.2.1:40000".parse().unwrap();
        let a = Packet::new_access_request(7, [1; 16]);
        let same = Packet::new_access_request(7, [1; 16]);
        let other_auth = Packet::new_access_request(7, [2; 16]);
        let other_id = Packet::new_access_request(8, [1; 16]);
        let id = request_id("vpn", source, &a);
        assert_eq!(id, request_id("vpn", source, &same));
        assert_ne!(id, request_id("vpn", source, &other_auth));
        assert_ne!(id, request_id("vpn", source, &other_id));
        assert_ne!(id, request_id("rdp", source, &a));
        let elsewhere: SocketAddr = "192.0.2.1:40001".parse().unwrap();
        assert_ne!(id, request_id("vpn", elsewhere, &a));
        assert_eq!(id.len(), "request=".len() + 24);
        assert_eq!(a.code, Code::AccessRequest);
    }
}
