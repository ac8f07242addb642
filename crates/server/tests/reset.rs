//! Self-service reset end to end: the link arrives through a real SMTP
//! conversation, works once, for 15 minutes, only with the password (and a
//! helpdesk approval where policy says), and never yields a working factor
//! on its own.

mod common;
mod support_mail;

use common::{Backend, TestServer, totp};
use ichido_server::config::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support_mail::{Mail, SmtpSink};

const PASSWORD: &str = "pw-of-the-user";

fn with_smtp(c: &mut Config, sink: &SmtpSink) {
    c.smtp.host = "127.0.0.1".into();
    c.smtp.port = sink.addr.port();
    c.smtp.security = ichido_server::delivery::SmtpSecurity::None;
    c.smtp.from = "Ichido <mfa@example.com>".into();
    c.smtp.attempts = 1;
    c.reset.base_url = "https://portal.example.com".into();
}

async fn start(backend: Backend, sink: &SmtpSink, approval: bool) -> Option<TestServer> {
    TestServer::start_with(backend, |c| {
        with_smtp(c, sink);
        c.reset.require_approval = approval;
    })
    .await
}

/// The first mail received whose decoded text holds `marker`.
async fn mail_with(sink: &SmtpSink, marker: &str) -> Mail {
    for i in 0.. {
        let m = sink.inbox.nth(i).await;
        if m.data.replace("=\r\n", "").contains(marker) {
            return m;
        }
    }
    unreachable!()
}

/// A user with an email address, a password, an active TOTP token and a set
/// of backup codes; returns `(serial, secret, backup codes)`.
async fn user_with_factors(s: &TestServer, username: &str) -> (String, String, Vec<String>) {
    let (st, b) = s
        .post(
            "/v1/users",
            json!({"username": username, "email": format!("{username}@example.com"),
                   "password": PASSWORD}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let (serial, secret) = s.enroll(username, json!({"type": "totp"})).await;
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/activate"),
            json!({"code": totp(&secret, s.now_secs())}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, b) = s
        .post(&format!("/v1/users/{username}/backup-codes"), json!({}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let codes = b["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (serial, secret, codes)
}

async fn request(s: &TestServer, key: &str, username: &str) -> Value {
    let (st, b) = s
        .call(
            "POST",
            "/v1/reset-requests",
            Some(key),
            Some(json!({"username": username})),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{b}");
    b
}

async fn enroll(s: &TestServer, key: &str, token: &str, password: &str) -> (StatusCode, Value) {
    s.call(
        "POST",
        &format!("/v1/reset/{token}/enroll"),
        Some(key),
        Some(json!({"password": password, "type": "totp"})),
    )
    .await
}

/// The link's token, from a mail whose body may be quoted-printable.
fn link_token(mail: &Mail) -> String {
    let data = mail.data.replace("=\r\n", "");
    let marker = "https://portal.example.com/reset/";
    let at = data.find(marker).expect("a reset link in the mail") + marker.len();
    data[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

async fn reasons(s: &TestServer, username: &str, action: &str) -> Vec<String> {
    let (st, b) = s
        .get(&format!(
            "/v1/audit?username={username}&event={action}&limit=100"
        ))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    b["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn emailed_link_with_password_replaces_every_factor(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(s) = TestServer::start_with(backend, |c| {
        with_smtp(c, &sink);
        c.notifications.email = true;
        c.notifications.poll_ms = 20;
    })
    .await
    else {
        return;
    };
    let validator = s.api_key("validator").await;
    let (old_serial, old_secret, old_codes) = user_with_factors(&s, "alice").await;

    request(&s, &validator, "alice").await;
    let mail = mail_with(&sink, "/reset/").await;
    assert_eq!(mail.to, vec!["<alice@example.com>".to_string()]);
    assert!(
        mail.data.contains("Content-Type: text/html"),
        "{}",
        mail.data
    );
    assert!(
        mail.data.contains("Content-Type: text/plain"),
        "{}",
        mail.data
    );
    let token = link_token(&mail);
    assert_eq!(token.len(), 43, "{token}");

    let (st, b) = enroll(&s, &validator, &token, PASSWORD).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["state"], "pending");
    assert_eq!(b["type"], "totp");
    assert!(
        b["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let serial = b["serial"].as_str().unwrap().to_owned();
    let secret = b["secret"].as_str().unwrap().to_owned();
    let new_codes: Vec<String> = b["backup_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(new_codes.len(), 10);

    // The old token is revoked at once; the old backup codes are void.
    s.clock.advance_secs(30);
    let (_, old) = s.get(&format!("/v1/tokens/{old_serial}")).await;
    assert_eq!(old["state"], "revoked", "{old}");
    let code = totp(&old_secret, s.now_secs());
    assert_eq!(
        s.validate(&validator, "alice", &code).await["result"],
        "reject"
    );
    assert_eq!(
        s.validate(&validator, "alice", &old_codes[0]).await["result"],
        "reject"
    );

    // The new token works only once a code from it is proved.
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/activate"),
            json!({"code": totp(&secret, s.now_secs())}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "active");
    s.clock.advance_secs(30);
    let ok = s
        .validate(&validator, "alice", &totp(&secret, s.now_secs()))
        .await;
    assert_eq!(ok["result"], "accept", "{ok}");
    assert_eq!(
        s.validate(&validator, "alice", &new_codes[0]).await["result"],
        "accept"
    );

    assert_eq!(reasons(&s, "alice", "reset.request").await, vec!["queued"]);
    assert_eq!(reasons(&s, "alice", "reset.complete").await, vec!["ok"]);
    // The account holder hears of it.
    let notice = mail_with(&sink, "reset by email link").await;
    assert_eq!(notice.to, vec!["<alice@example.com>".to_string()]);
    s.stop().await;
}

async fn reused_link_fails(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(s) = start(backend, &sink, false).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    user_with_factors(&s, "alice").await;
    request(&s, &validator, "alice").await;
    let token = link_token(&sink.inbox.nth(0).await);
    let (st, b) = enroll(&s, &validator, &token, PASSWORD).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let (st, b) = enroll(&s, &validator, &token, PASSWORD).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "invalid_reset_link");
    s.stop().await;
}

async fn expired_link_fails(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(s) = start(backend, &sink, false).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let (serial, _, _) = user_with_factors(&s, "alice").await;
    request(&s, &validator, "alice").await;
    let token = link_token(&sink.inbox.nth(0).await);
    s.clock.advance_secs(901);
    let (st, b) = enroll(&s, &validator, &token, PASSWORD).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "invalid_reset_link");
    let (_, t) = s.get(&format!("/v1/tokens/{serial}")).await;
    assert_eq!(t["state"], "active", "{t}");
    s.stop().await;
}

async fn link_without_the_password_fails_and_stays_usable(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(s) = start(backend, &sink, false).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let (serial, _, _) = user_with_factors(&s, "alice").await;
    request(&s, &validator, "alice").await;
    let token = link_token(&sink.inbox.nth(0).await);

    let (st, b) = enroll(&s, &validator, &token, "not-the-password").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "invalid_password");
    let (st, b) = s
        .call(
            "POST",
            &format!("/v1/reset/{token}/enroll"),
            Some(&validator),
            Some(json!({})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    // The wrong password counted toward lockout; nothing changed.
    let (_, u) = s.get("/v1/users/alice").await;
    assert_eq!(u["failed_count"], 1, "{u}");
    let (_, t) = s.get(&format!("/v1/tokens/{serial}")).await;
    assert_eq!(t["state"], "active", "{t}");

    let (st, b) = enroll(&s, &validator, &token, PASSWORD).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(
        reasons(&s, "alice", "reset.complete").await,
        vec!["ok", "wrong_password"]
    );
    s.stop().await;
}

async fn unknown_user_gets_the_same_answer_and_no_mail(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(s) = start(backend, &sink, false).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    user_with_factors(&s, "alice").await;
    let known = request(&s, &validator, "alice").await;
    sink.inbox.nth(0).await;
    let unknown = request(&s, &validator, "mallory").await;
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&known), keys(&unknown));
    assert_eq!(known["expires_at"], unknown["expires_at"]);
    assert_eq!(
        known["request_id"].as_str().unwrap().len(),
        unknown["request_id"].as_str().unwrap().len()
    );
    // Asking again at once is throttled, with the same answer and no mail.
    let again = request(&s, &validator, "alice").await;
    assert_eq!(keys(&again), keys(&known));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(sink.inbox.len(), 1);
    assert_eq!(
        reasons(&s, "mallory", "reset.request").await,
        vec!["unknown_user"]
    );
    assert_eq!(
        reasons(&s, "alice", "reset.request").await,
        vec!["throttled", "queued"]
    );
    s.stop().await;
}

async fn approval_required_refuses_until_a_helpdesk_approves(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(s) = start(backend, &sink, true).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let helpdesk = s.api_key("helpdesk").await;
    user_with_factors(&s, "alice").await;
    let r = request(&s, &validator, "alice").await;
    let id = r["request_id"].as_str().unwrap().to_owned();
    let token = link_token(&sink.inbox.nth(0).await);

    let (st, b) = enroll(&s, &validator, &token, PASSWORD).await;
    assert_eq!(st, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["error"]["code"], "approval_required");

    // A validator key cannot approve; a helpdesk key can, once.
    let approve = format!("/v1/reset-requests/{id}/approve");
    let (st, _) = s.call("POST", &approve, Some(&validator), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, b) = s.call("POST", &approve, Some(&helpdesk), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{b}");
    let (st, _) = s.call("POST", &approve, Some(&helpdesk), None).await;
    assert_eq!(st, StatusCode::CONFLICT);

    let (st, b) = enroll(&s, &validator, &token, PASSWORD).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    s.stop().await;
}

on_both_backends!(
    emailed_link_with_password_replaces_every_factor,
    reused_link_fails,
    expired_link_fails,
    link_without_the_password_fails_and_stays_usable,
    unknown_user_gets_the_same_answer_and_no_mail,
    approval_required_refuses_until_a_helpdesk_approves,
);
