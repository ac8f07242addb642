//! Usernames are checked where they enter — REST bodies and paths, RADIUS
//! User-Name — by the one rule (`Username::parse`: 1–128 letters, digits and
//! `._@+-`, NFKC), so a name no user can have never reaches the audit log,
//! and one person's name has one spelling.

mod common;
mod radius_support;

use std::time::Duration;

use common::{Backend, TestServer, totp};
use ichido_radius::{Code, Packet};
use ichido_server::config::RadiusMode;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn all_audited_names(s: &TestServer) -> Vec<String> {
    let (st, b) = s.get("/v1/audit?limit=1000").await;
    assert_eq!(st, StatusCode::OK, "{b}");
    b["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["username"].as_str().map(str::to_owned))
        .collect()
}

fn assert_invalid_username(st: StatusCode, b: &Value) {
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "invalid_username", "{b}");
}

async fn a_10_kb_username_gets_422_and_no_audit_row_holds_it(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let huge = "a".repeat(10 * 1024);
    for (path, key, body) in [
        (
            "/v1/validate",
            &validator,
            json!({"username": huge, "code": "123456"}),
        ),
        ("/v1/challenges", &validator, json!({"username": huge})),
        ("/v1/users", &s.admin, json!({"username": huge})),
    ] {
        let (st, b) = s.call("POST", path, Some(key), Some(body)).await;
        assert_invalid_username(st, &b);
    }
    // In a path as well (a shorter one: a 10 kB URL is the HTTP layer's to refuse).
    let long = "b".repeat(129);
    let (st, b) = s.get(&format!("/v1/users/{long}/tokens")).await;
    assert_invalid_username(st, &b);
    let names = all_audited_names(&s).await;
    assert!(names.iter().all(|n| n.chars().count() <= 128), "{names:?}");
    s.stop().await;
}

async fn a_username_with_a_newline_gets_422(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    s.create_user("alice").await;
    let forged = "alice\n2026-01-01 admin login success";
    let (st, b) = s.post("/v1/users", json!({"username": forged})).await;
    assert_invalid_username(st, &b);
    let (st, b) = s
        .call(
            "POST",
            "/v1/validate",
            Some(&validator),
            Some(json!({"username": forged, "code": "123456"})),
        )
        .await;
    assert_invalid_username(st, &b);
    let (st, b) = s.get("/v1/users/alice%0Aadmin").await;
    assert_invalid_username(st, &b);
    let names = all_audited_names(&s).await;
    assert!(names.iter().all(|n| !n.contains('\n')), "{names:?}");
    s.stop().await;
}

async fn the_same_name_in_nfc_and_nfd_is_one_user(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let nfc = "jos\u{e9}";
    let nfd = "jose\u{301}";
    let (_, secret) = s.user_with_totp(nfc).await;
    let (st, b) = s.post("/v1/users", json!({"username": nfd})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{b}");
    // The decomposed spelling reaches the same user, in paths and bodies.
    let (st, b) = s.get(&format!("/v1/users/{nfd}")).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["username"], nfc);
    s.clock.advance_secs(30);
    let ok = s
        .validate(&validator, nfd, &totp(&secret, s.now_secs()))
        .await;
    assert_eq!(ok["result"], "accept", "{ok}");
    // Full-width letters, as an IME types them, are the ASCII name (NFKC).
    s.create_user("bob").await;
    let (st, b) = s.get("/v1/users/\u{ff42}\u{ff4f}\u{ff42}").await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["username"], "bob");
    s.stop().await;
}

on_both_backends!(
    a_10_kb_username_gets_422_and_no_audit_row_holds_it,
    a_username_with_a_newline_gets_422,
    the_same_name_in_nfc_and_nfd_is_one_user,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn radius_refuses_a_name_no_user_can_have_and_audits_it_escaped() {
    use radius_support::*;
    let h = Harness::start(vec![client("vpn", RadiusMode::Otp)]).await;
    let sock = socket().await;
    let long = "c".repeat(200);
    for (id, name) in [(1u8, "alice\nadmin"), (2, long.as_str())] {
        let request = access_request(id, name, "123456", SECRET, &[]);
        let reply = exchange(&sock, h.radius, &request, Duration::from_secs(5))
            .await
            .expect("an answer");
        let reply = Packet::decode(&reply).unwrap();
        assert_eq!(reply.code, Code::AccessReject, "{name:?}");
    }
    let refusals: Vec<_> = h
        .audit("radius.request")
        .await
        .into_iter()
        .filter(|r| r.event.reason.as_deref() == Some("invalid_user_name"))
        .map(|r| r.event.username.unwrap_or_default())
        .collect();
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert!(refusals.contains(&"alice?admin".to_owned()), "{refusals:?}");
    assert!(
        refusals.iter().all(|n| n.chars().count() <= 128),
        "{refusals:?}"
    );
    h.stop().await;
}
