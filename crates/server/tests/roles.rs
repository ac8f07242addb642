//! What each API key role cannot do, one test per forbidden thing (the
//! README's role table). A helpdesk can never become a user: it never
//! receives a seed or a code, and cannot prove a code for a token.

mod common;

use common::{Backend, TestServer, totp};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A user with an email address, a phone and one active TOTP token.
async fn alice(s: &TestServer) -> (String, String) {
    let (st, b) = s
        .post(
            "/v1/users",
            json!({"username": "alice", "email": "alice@example.com", "phone": "+81 90 1234 5678"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let (serial, secret) = s.enroll("alice", json!({"type": "totp"})).await;
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/activate"),
            json!({"code": totp(&secret, s.now_secs())}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    (serial, secret)
}

fn forbidden(st: StatusCode, b: &Value) {
    assert_eq!(st, StatusCode::FORBIDDEN, "{b}");
    assert!(b["error"]["code"].is_string(), "{b}");
    assert!(
        b.get("secret").is_none() && b.get("otpauth_uri").is_none(),
        "{b}"
    );
}

async fn tokens_of_alice(s: &TestServer) -> Vec<(String, String)> {
    let (_, b) = s.get("/v1/users/alice/tokens").await;
    b["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["serial"].as_str().unwrap().to_owned(),
                t["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn helpdesk_cannot_receive_a_replacement_seed(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let helpdesk = s.api_key("helpdesk").await;
    let (serial, _) = alice(&s).await;
    let (st, b) = s
        .call(
            "POST",
            &format!("/v1/tokens/{serial}/lost"),
            Some(&helpdesk),
            Some(json!({"replacement": "totp"})),
        )
        .await;
    forbidden(st, &b);
    assert_eq!(b["error"]["code"], "seed_not_for_helpdesk");
    // Refused before anything changed: the token is still active, no new one.
    assert_eq!(tokens_of_alice(&s).await, vec![(serial, "active".into())]);
    s.stop().await;
}

async fn helpdesk_replacement_goes_to_the_users_channel_not_the_caller(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let helpdesk = s.api_key("helpdesk").await;
    let (serial, _) = alice(&s).await;
    let (st, b) = s
        .call(
            "POST",
            &format!("/v1/tokens/{serial}/lost"),
            Some(&helpdesk),
            Some(json!({"replacement": "sms"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let temp = &b["temporary"];
    assert_eq!(temp["type"], "sms", "{b}");
    assert_eq!(temp["sent_to"], "***-5678", "{b}");
    assert!(temp.get("secret").is_none(), "{b}");
    assert!(temp.get("otpauth_uri").is_none(), "{b}");
    assert!(!b.to_string().contains("1234 5678"), "{b}");

    s.stop().await;
}

async fn helpdesk_cannot_replace_a_token(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let helpdesk = s.api_key("helpdesk").await;
    let (serial, _) = alice(&s).await;
    let (st, b) = s
        .call(
            "POST",
            &format!("/v1/tokens/{serial}/replace"),
            Some(&helpdesk),
            None,
        )
        .await;
    forbidden(st, &b);
    assert_eq!(tokens_of_alice(&s).await, vec![(serial, "active".into())]);
    s.stop().await;
}

async fn helpdesk_cannot_activate_a_replacement(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let helpdesk = s.api_key("helpdesk").await;
    let (serial, _) = alice(&s).await;
    let (st, b) = s
        .post(&format!("/v1/tokens/{serial}/replace"), json!({}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let new = b["serial"].as_str().unwrap().to_owned();
    let secret = b["secret"].as_str().unwrap().to_owned();
    s.clock.advance_secs(30);
    let (st, b) = s
        .call(
            "POST",
            &format!("/v1/tokens/{new}/activate"),
            Some(&helpdesk),
            Some(json!({"code": totp(&secret, s.now_secs())})),
        )
        .await;
    forbidden(st, &b);
    let (_, t) = s.get(&format!("/v1/tokens/{new}")).await;
    assert_eq!(t["state"], "pending", "{t}");
    s.stop().await;
}

async fn helpdesk_cannot_create_backup_or_emergency_codes(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let helpdesk = s.api_key("helpdesk").await;
    alice(&s).await;
    for path in [
        "/v1/users/alice/backup-codes",
        "/v1/users/alice/emergency-code",
    ] {
        let (st, b) = s.call("POST", path, Some(&helpdesk), Some(json!({}))).await;
        forbidden(st, &b);
    }
    let (_, b) = s.get("/v1/users/alice/backup-codes").await;
    assert_eq!(b["remaining"], 0, "{b}");
    s.stop().await;
}

async fn helpdesk_cannot_enroll_or_see_a_qr_code(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let helpdesk = s.api_key("helpdesk").await;
    alice(&s).await;
    let (st, b) = s
        .call(
            "POST",
            "/v1/users/alice/tokens",
            Some(&helpdesk),
            Some(json!({"type": "totp"})),
        )
        .await;
    forbidden(st, &b);
    let (pending, _) = s.enroll("alice", json!({"type": "totp"})).await;
    for fmt in ["svg", "png"] {
        let (st, b) = s
            .call(
                "GET",
                &format!("/v1/tokens/{pending}/qr.{fmt}"),
                Some(&helpdesk),
                None,
            )
            .await;
        forbidden(st, &b);
    }
    s.stop().await;
}

async fn helpdesk_cannot_manage_api_keys(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let helpdesk = s.api_key("helpdesk").await;
    let (st, b) = s.call("GET", "/v1/api-keys", Some(&helpdesk), None).await;
    forbidden(st, &b);
    let (st, b) = s
        .call("DELETE", "/v1/api-keys/1", Some(&helpdesk), None)
        .await;
    forbidden(st, &b);
    s.stop().await;
}

async fn validator_cannot_list_users(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    alice(&s).await;
    let (st, b) = s.call("GET", "/v1/users", Some(&validator), None).await;
    forbidden(st, &b);
    s.stop().await;
}

async fn validator_cannot_read_tokens_or_audit(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let (serial, _) = alice(&s).await;
    for path in [
        format!("/v1/tokens/{serial}"),
        "/v1/users/alice/tokens".to_owned(),
        "/v1/audit".to_owned(),
    ] {
        let (st, b) = s.call("GET", &path, Some(&validator), None).await;
        forbidden(st, &b);
    }
    s.stop().await;
}

async fn validator_cannot_unlock_or_disable(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let (serial, _) = alice(&s).await;
    let (st, b) = s
        .call("POST", "/v1/users/alice/unlock", Some(&validator), None)
        .await;
    forbidden(st, &b);
    let (st, b) = s
        .call(
            "POST",
            &format!("/v1/tokens/{serial}/disable"),
            Some(&validator),
            None,
        )
        .await;
    forbidden(st, &b);
    assert_eq!(tokens_of_alice(&s).await, vec![(serial, "active".into())]);
    s.stop().await;
}

on_both_backends!(
    helpdesk_cannot_receive_a_replacement_seed,
    helpdesk_replacement_goes_to_the_users_channel_not_the_caller,
    helpdesk_cannot_replace_a_token,
    helpdesk_cannot_activate_a_replacement,
    helpdesk_cannot_create_backup_or_emergency_codes,
    helpdesk_cannot_enroll_or_see_a_qr_code,
    helpdesk_cannot_manage_api_keys,
    validator_cannot_list_users,
    validator_cannot_read_tokens_or_audit,
    validator_cannot_unlock_or_disable,
);
