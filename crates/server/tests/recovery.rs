//! Recovery end to end: backup and emergency codes, lost tokens with a
//! temporary replacement, a new phone, and the token reports.

mod common;

use common::{Backend, TestServer, totp};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn actions(s: &TestServer, username: &str) -> Vec<String> {
    let (st, b) = s
        .get(&format!("/v1/audit?username={username}&limit=1000"))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    b["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["action"].as_str().unwrap(),
                e["result"].as_str().unwrap()
            )
        })
        .collect()
}

async fn new_codes(s: &TestServer, username: &str) -> Vec<String> {
    let (st, b) = s
        .post(&format!("/v1/users/{username}/backup-codes"), json!({}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["remaining"], 10);
    b["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

async fn remaining(s: &TestServer, username: &str) -> Value {
    let (st, b) = s.get(&format!("/v1/users/{username}/backup-codes")).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    b["remaining"].clone()
}

async fn used_backup_code_fails_and_a_new_set_voids_the_old(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    s.user_with_totp("alice").await;
    let codes = new_codes(&s, "alice").await;
    assert_eq!(codes.len(), 10);
    for c in &codes {
        assert_eq!(c.len(), 14, "{c}");
        assert_eq!(c.matches('-').count(), 2, "{c}");
    }
    assert_eq!(remaining(&s, "alice").await, 10);

    let ok = s.validate(&validator, "alice", &codes[0]).await;
    assert_eq!(ok["result"], "accept", "{ok}");
    assert_eq!(
        s.validate(&validator, "alice", &codes[0]).await,
        json!({"result": "reject"})
    );
    // Typed without dashes, in lower case: still the code.
    let typed = codes[1].replace('-', "").to_lowercase();
    assert_eq!(
        s.validate(&validator, "alice", &typed).await["result"],
        "accept"
    );
    assert_eq!(remaining(&s, "alice").await, 8);

    let renewed = new_codes(&s, "alice").await;
    assert_eq!(
        s.validate(&validator, "alice", &codes[2]).await,
        json!({"result": "reject"})
    );
    assert_eq!(
        s.validate(&validator, "alice", &renewed[0]).await["result"],
        "accept"
    );
    assert_eq!(remaining(&s, "alice").await, 9);
    let log = actions(&s, "alice").await;
    assert_eq!(
        log.iter().filter(|a| *a == "backup.use success").count(),
        3,
        "{log:?}"
    );
    assert!(log.iter().any(|a| a == "backup.create success"), "{log:?}");
    s.stop().await;
}

async fn backup_code_guesses_count_toward_lockout(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    s.user_with_totp("alice").await;
    let codes = new_codes(&s, "alice").await;
    for _ in 0..10 {
        s.validate(&validator, "alice", "AAAA-BBBB-CCCC").await;
    }
    let (_, user) = s.get("/v1/users/alice").await;
    assert!(user["locked_until"].is_string(), "{user}");
    // A right code does not pass while the account is locked.
    assert_eq!(
        s.validate(&validator, "alice", &codes[0]).await,
        json!({"result": "reject"})
    );
    assert_eq!(remaining(&s, "alice").await, 10);
    s.stop().await;
}

async fn emergency_code_works_once_when_every_token_is_lost(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let (serial, _) = s.user_with_totp("alice").await;
    let (st, b) = s.post("/v1/users/alice/emergency-code", json!({})).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let code = b["code"].as_str().unwrap().to_owned();
    assert_eq!(code.replace('-', "").len(), 24, "{code}");
    let (st, b) = s
        .post(&format!("/v1/tokens/{serial}/lost"), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");

    let ok = s.validate(&validator, "alice", &code).await;
    assert_eq!(ok["result"], "accept", "{ok}");
    assert_eq!(
        s.validate(&validator, "alice", &code).await,
        json!({"result": "reject"})
    );
    let log = actions(&s, "alice").await;
    assert!(log.iter().any(|a| a == "emergency.use success"), "{log:?}");
    assert!(log.iter().any(|a| a == "token.lost success"), "{log:?}");
    s.stop().await;
}

async fn lost_token_fails_at_once_and_temporary_totp_expires(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let (serial, secret) = s.user_with_totp("alice").await;
    s.clock.advance_secs(30);
    // Only an admin key (the enrollment application) receives a seed; a
    // helpdesk key is refused (tests/roles.rs).
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/lost"),
            json!({"replacement": "totp"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["token"]["state"], "lost");
    let temp = &b["temporary"];
    assert!(temp["valid_until"].is_string(), "{b}");
    assert_eq!(temp["state"], "active");
    let temp_secret = temp["secret"].as_str().unwrap().to_owned();
    assert!(
        temp["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );

    // The lost token stops at once: its fresh code fails.
    assert_eq!(
        s.validate(&validator, "alice", &totp(&secret, s.now_secs()))
            .await,
        json!({"result": "reject"})
    );
    let ok = s
        .validate(&validator, "alice", &totp(&temp_secret, s.now_secs()))
        .await;
    assert_eq!(ok["result"], "accept", "{ok}");
    // Lost is final.
    let (st, _) = s
        .post(&format!("/v1/tokens/{serial}/enable"), json!({}))
        .await;
    assert_eq!(st, StatusCode::CONFLICT);

    // Seven days later the temporary token has expired.
    s.clock.advance_secs(7 * 86_400 + 30);
    assert_eq!(
        s.validate(&validator, "alice", &totp(&temp_secret, s.now_secs()))
            .await,
        json!({"result": "reject"})
    );
    s.stop().await;
}

async fn activating_a_replacement_revokes_the_old_token(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let (old, old_secret) = s.user_with_totp("alice").await;
    let (st, b) = s
        .post(&format!("/v1/tokens/{old}/replace"), json!({}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["state"], "pending");
    assert_eq!(b["type"], "totp");
    let new = b["serial"].as_str().unwrap().to_owned();
    let new_secret = b["secret"].as_str().unwrap().to_owned();

    // Until the new phone is proven, the old one keeps working.
    s.clock.advance_secs(30);
    let ok = s
        .validate(&validator, "alice", &totp(&old_secret, s.now_secs()))
        .await;
    assert_eq!(ok["serial"], old.as_str(), "{ok}");
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{new}/activate"),
            json!({"code": totp(&new_secret, s.now_secs())}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (_, t) = s.get(&format!("/v1/tokens/{old}")).await;
    assert_eq!(t["state"], "revoked", "{t}");
    s.clock.advance_secs(30);
    assert_eq!(
        s.validate(&validator, "alice", &totp(&old_secret, s.now_secs()))
            .await,
        json!({"result": "reject"})
    );
    let log = actions(&s, "alice").await;
    assert!(log.iter().any(|a| a == "token.revoke success"), "{log:?}");
    s.stop().await;
}

async fn reports_list_stale_tokens_and_users_without_token(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let (serial, _) = s.user_with_totp("alice").await;
    s.create_user("bob").await;
    let (st, b) = s.get("/v1/reports/users-without-token").await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let names: Vec<&str> = b["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bob"]);

    let (_, b) = s.get("/v1/reports/stale-tokens?days=90").await;
    assert_eq!(b["tokens"], json!([]));
    s.clock.advance_secs(91 * 86_400);
    let (_, b) = s.get("/v1/reports/stale-tokens?days=90").await;
    assert_eq!(b["tokens"][0]["serial"], serial.as_str(), "{b}");
    let (_, b) = s.get("/v1/reports/stale-tokens?days=200").await;
    assert_eq!(b["tokens"], json!([]));
    let (st, _) = s.get("/v1/reports/stale-tokens?days=0").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    s.stop().await;
}

on_both_backends!(
    used_backup_code_fails_and_a_new_set_voids_the_old,
    backup_code_guesses_count_toward_lockout,
    emergency_code_works_once_when_every_token_is_lost,
    lost_token_fails_at_once_and_temporary_totp_expires,
    activating_a_replacement_revokes_the_old_token,
    reports_list_stale_tokens_and_users_without_token,
);
