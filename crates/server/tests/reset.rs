//! Self-service reset end to end: the link arrives through a real SMTP
//! conversation, works once, for 15 minutes, only with the password; then a
//! second factor, a helpdesk approval or a 24-hour waiting period announced
//! on every channel; and it never yields a working factor on its own.

mod common;
mod support_mail;

use common::{Backend, TestServer, totp};
use ichido_server::config::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support_mail::{HttpSink, Mail, SmtpSink};

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

async fn verify(
    s: &TestServer,
    key: &str,
    token: &str,
    password: &str,
    code: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = json!({"password": password});
    if let Some(c) = code {
        body["code"] = json!(c);
    }
    s.call(
        "POST",
        &format!("/v1/reset/{token}/verify"),
        Some(key),
        Some(body),
    )
    .await
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

async fn a_second_factor_lets_the_reset_enroll_a_pending_token_and_voids_every_old_factor(
    backend: Backend,
) {
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
    let (st, b) = s.post("/v1/users/alice/emergency-code", json!({})).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let emergency = b["code"].as_str().unwrap().to_owned();

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

    // The link and the password are not enough to enroll.
    let (st, b) = enroll(&s, &validator, &token, PASSWORD).await;
    assert_eq!(st, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["error"]["code"], "second_factor_required");

    // A backup code is something besides the password: it is used up.
    let (st, b) = verify(&s, &validator, &token, PASSWORD, Some(&old_codes[0])).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b, json!({"state": "ready"}));

    let (st, b) = enroll(&s, &validator, &token, PASSWORD).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["state"], "pending");
    assert_eq!(b["type"], "totp");
    assert!(b.get("backup_codes").is_none(), "{b}");
    assert!(
        b["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let serial = b["serial"].as_str().unwrap().to_owned();
    let secret = b["secret"].as_str().unwrap().to_owned();

    // Every old factor is void at once: the token, the other backup codes,
    // the emergency code. The new token does not work while pending.
    s.clock.advance_secs(30);
    let (_, old) = s.get(&format!("/v1/tokens/{old_serial}")).await;
    assert_eq!(old["state"], "revoked", "{old}");
    for code in [
        totp(&old_secret, s.now_secs()),
        old_codes[1].clone(),
        emergency.clone(),
        totp(&secret, s.now_secs()),
    ] {
        assert_eq!(
            s.validate(&validator, "alice", &code).await,
            json!({"result": "reject"}),
            "{code}"
        );
    }
    let (_, n) = s.get("/v1/users/alice/backup-codes").await;
    assert_eq!(n["remaining"], 0, "{n}");

    // The holder activates it with the link and a code from it.
    s.clock.advance_secs(30);
    let (st, b) = s
        .call(
            "POST",
            &format!("/v1/reset/{token}/activate"),
            Some(&validator),
            Some(json!({"code": totp(&secret, s.now_secs())})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "active");
    assert_eq!(b["serial"], serial.as_str());
    s.clock.advance_secs(30);
    let ok = s
        .validate(&validator, "alice", &totp(&secret, s.now_secs()))
        .await;
    assert_eq!(ok["result"], "accept", "{ok}");

    assert_eq!(reasons(&s, "alice", "reset.request").await, vec!["queued"]);
    assert_eq!(
        reasons(&s, "alice", "reset.verify").await,
        vec!["second_factor"]
    );
    assert_eq!(
        reasons(&s, "alice", "reset.complete").await,
        vec!["ok", "no_second_factor"]
    );
    // The account holder hears of it.
    let notice = mail_with(&sink, "reset by email link").await;
    assert_eq!(notice.to, vec!["<alice@example.com>".to_string()]);
    s.stop().await;
}

async fn password_and_mailbox_alone_wait_a_day_announced_on_every_channel(backend: Backend) {
    let sink = SmtpSink::start().await;
    let gw = HttpSink::start().await;
    let Some(s) = TestServer::start_with(backend, |c| {
        with_smtp(c, &sink);
        c.sms.url = gw.url.as_str().into();
        c.sms.attempts = 1;
        c.notifications.email = true;
        c.notifications.poll_ms = 20;
    })
    .await
    else {
        return;
    };
    let validator = s.api_key("validator").await;
    // Not one token: before, the link and the password gave working codes.
    let (st, b) = s
        .post(
            "/v1/users",
            json!({"username": "bob", "email": "bob@example.com", "phone": "+81 90 1111 2222",
                   "password": PASSWORD}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    request(&s, &validator, "bob").await;
    let token = link_token(&mail_with(&sink, "/reset/").await);

    let (st, b) = verify(&s, &validator, &token, PASSWORD, None).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "waiting", "{b}");
    // 24 hours from T0 (2023-11-14T22:13:35Z), computed by hand.
    assert_eq!(b["waiting_until"], "2023-11-15T22:13:35Z", "{b}");

    let (st, b) = enroll(&s, &validator, &token, PASSWORD).await;
    assert_eq!(st, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["error"]["code"], "waiting_period");

    // Announced by email and by SMS, each with a cancel link.
    let notice = mail_with(&sink, "/reset/cancel/").await;
    assert_eq!(notice.to, vec!["<bob@example.com>".to_string()]);
    assert!(
        notice
            .data
            .replace("=\r\n", "")
            .contains("https://portal.example.com/reset/cancel/"),
        "{}",
        notice.data
    );
    let sms = gw.inbox.nth(0).await;
    assert!(sms.body.contains("+81 90 1111 2222"), "{}", sms.body);
    assert!(sms.body.contains("/reset/cancel/"), "{}", sms.body);

    // After a day (the link is still good, though older than 15 minutes).
    s.clock.advance_secs(23 * 3600);
    let (st, b) = enroll(&s, &validator, &token, PASSWORD).await;
    assert_eq!(st, StatusCode::CONFLICT, "{b}");
    s.clock.advance_secs(3600);
    let (st, b) = enroll(&s, &validator, &token, PASSWORD).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["state"], "pending");
    assert!(b.get("backup_codes").is_none(), "{b}");
    assert_eq!(
        reasons(&s, "bob", "reset.wait").await,
        vec!["no_second_factor"]
    );
    s.stop().await;
}

async fn the_holders_link_cancels_a_waiting_reset(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(s) = start(backend, &sink, false).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let (serial, _, _) = user_with_factors(&s, "alice").await;
    request(&s, &validator, "alice").await;
    let token = link_token(&sink.inbox.nth(0).await);
    let (st, b) = verify(&s, &validator, &token, PASSWORD, None).await;
    assert_eq!((st, b["state"].as_str()), (StatusCode::OK, Some("waiting")));

    let cancel = format!("/v1/reset/{token}/cancel");
    let (st, b) = s.call("POST", &cancel, Some(&validator), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{b}");
    s.clock.advance_secs(86_400);
    let (st, b) = enroll(&s, &validator, &token, PASSWORD).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "invalid_reset_link");
    let (_, t) = s.get(&format!("/v1/tokens/{serial}")).await;
    assert_eq!(t["state"], "active", "{t}");
    assert_eq!(reasons(&s, "alice", "reset.cancel").await, vec!["link"]);
    s.stop().await;
}

async fn a_wrong_second_factor_counts_and_proves_nothing(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(s) = start(backend, &sink, false).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    user_with_factors(&s, "alice").await;
    request(&s, &validator, "alice").await;
    let token = link_token(&sink.inbox.nth(0).await);
    let (st, b) = verify(&s, &validator, &token, PASSWORD, Some("000000")).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "invalid_code");
    let (_, u) = s.get("/v1/users/alice").await;
    assert_eq!(u["failed_count"], 1, "{u}");
    let (st, b) = enroll(&s, &validator, &token, PASSWORD).await;
    assert_eq!(st, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["error"]["code"], "second_factor_required");
    s.stop().await;
}

async fn reused_link_fails(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(s) = start(backend, &sink, false).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let (_, _, codes) = user_with_factors(&s, "alice").await;
    request(&s, &validator, "alice").await;
    let token = link_token(&sink.inbox.nth(0).await);
    let (st, b) = verify(&s, &validator, &token, PASSWORD, Some(&codes[0])).await;
    assert_eq!(st, StatusCode::OK, "{b}");
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
    let (serial, secret, _) = user_with_factors(&s, "alice").await;
    request(&s, &validator, "alice").await;
    let token = link_token(&sink.inbox.nth(0).await);

    s.clock.advance_secs(30);
    let code = totp(&secret, s.now_secs());
    let (st, b) = verify(&s, &validator, &token, "not-the-password", Some(&code)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "invalid_password");
    let (st, b) = s
        .call(
            "POST",
            &format!("/v1/reset/{token}/verify"),
            Some(&validator),
            Some(json!({})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    // The wrong password counted toward lockout; nothing changed, and the
    // code was not spent on it.
    let (_, u) = s.get("/v1/users/alice").await;
    assert_eq!(u["failed_count"], 1, "{u}");
    let (_, t) = s.get(&format!("/v1/tokens/{serial}")).await;
    assert_eq!(t["state"], "active", "{t}");

    // A code of the token the holder still has is the second factor.
    let (st, b) = verify(&s, &validator, &token, PASSWORD, Some(&code)).await;
    assert_eq!(
        (st, b["state"].as_str()),
        (StatusCode::OK, Some("ready")),
        "{b}"
    );
    let (st, b) = enroll(&s, &validator, &token, PASSWORD).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(
        reasons(&s, "alice", "reset.verify").await,
        vec!["second_factor", "wrong_password"]
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
    // The first link arrives; the audit below shows that only it was queued.
    sink.inbox.nth(0).await;
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
    // Approval cannot be replaced by waiting: no waiting period starts.
    let (st, b) = verify(&s, &validator, &token, PASSWORD, None).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b, json!({"state": "needs_approval"}));

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
    a_second_factor_lets_the_reset_enroll_a_pending_token_and_voids_every_old_factor,
    password_and_mailbox_alone_wait_a_day_announced_on_every_channel,
    the_holders_link_cancels_a_waiting_reset,
    a_wrong_second_factor_counts_and_proves_nothing,
    a_code_sent_to_the_phone_is_a_second_factor_an_emailed_one_is_not,
    reused_link_fails,
    expired_link_fails,
    link_without_the_password_fails_and_stays_usable,
    unknown_user_gets_the_same_answer_and_no_mail,
    approval_required_refuses_until_a_helpdesk_approves,
);

/// With `[notifications]` left off, the waiting period is still announced:
/// the notice is part of the reset, not an option.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_waiting_notice_leaves_even_with_notifications_off() {
    let sink = SmtpSink::start().await;
    let Some(s) = TestServer::start_with(Backend::Sqlite, |c| {
        with_smtp(c, &sink);
        assert!(!c.notifications.email);
        c.notifications.poll_ms = 20;
    })
    .await
    else {
        return;
    };
    let validator = s.api_key("validator").await;
    user_with_factors(&s, "alice").await;
    request(&s, &validator, "alice").await;
    let token = link_token(&sink.inbox.nth(0).await);
    let (st, b) = verify(&s, &validator, &token, PASSWORD, None).await;
    assert_eq!((st, b["state"].as_str()), (StatusCode::OK, Some("waiting")));
    let notice = mail_with(&sink, "/reset/cancel/").await;
    assert_eq!(notice.to, vec!["<alice@example.com>".to_string()]);
    s.stop().await;
}

/// The code of an SMS token, from the gateway's request body.
fn sms_code(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap();
    let text = v["text"].as_str().unwrap();
    text.split("code: ").nth(1).unwrap()[..6].to_owned()
}

async fn a_code_sent_to_the_phone_is_a_second_factor_an_emailed_one_is_not(backend: Backend) {
    let sink = SmtpSink::start().await;
    let gw = HttpSink::start().await;
    let Some(s) = TestServer::start_with(backend, |c| {
        with_smtp(c, &sink);
        c.sms.url = gw.url.as_str().into();
        c.sms.attempts = 1;
    })
    .await
    else {
        return;
    };
    let validator = s.api_key("validator").await;
    let (st, b) = s
        .post(
            "/v1/users",
            json!({"username": "carol", "email": "carol@example.com", "phone": "+81 90 3333 4444",
                   "password": PASSWORD}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    // An SMS token and an email token, both active.
    for (kind, i) in [("sms", 0), ("email", 0)] {
        let (st, b) = s
            .post("/v1/users/carol/tokens", json!({"type": kind}))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{b}");
        let serial = b["serial"].as_str().unwrap().to_owned();
        let code = if kind == "sms" {
            sms_code(&gw.inbox.nth(i).await.body)
        } else {
            mail_with(&sink, "sign-in code is").await.code()
        };
        let (st, b) = s
            .post(
                &format!("/v1/tokens/{serial}/activate"),
                json!({"code": code}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{b}");
        s.clock.advance_secs(120);
    }
    request(&s, &validator, "carol").await;
    let token = link_token(&mail_with(&sink, "/reset/").await);

    // An emailed code goes to the mailbox the link went to: it proves nothing.
    let (st, b) = s
        .call(
            "POST",
            "/v1/challenges",
            Some(&validator),
            Some(json!({"username": "carol", "password": PASSWORD, "serial": email_serial(&s).await})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    // Mails so far: the email token's first code, the link, this code.
    let emailed = sink.inbox.nth(2).await.code();
    let (st, b) = verify(&s, &validator, &token, PASSWORD, Some(&emailed)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "same_channel");

    // A code sent to the phone does; sending needs the password.
    let send = format!("/v1/reset/{token}/send-code");
    let (st, b) = s
        .call(
            "POST",
            &send,
            Some(&validator),
            Some(json!({"password": "wrong"})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    s.clock.advance_secs(120);
    let (st, b) = s
        .call(
            "POST",
            &send,
            Some(&validator),
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{b}");
    assert_eq!(b["channels"][0]["to"], "***-4444", "{b}");
    let code = sms_code(&gw.inbox.nth(1).await.body);
    let (st, b) = verify(&s, &validator, &token, PASSWORD, Some(&code)).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "ready");
    s.stop().await;
}

async fn email_serial(s: &TestServer) -> String {
    let (_, b) = s.get("/v1/users/carol/tokens").await;
    b["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "email")
        .unwrap()["serial"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_reset_step_and_the_key_endpoints_are_in_the_openapi_document() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let (st, doc) = s.call("GET", "/openapi.json", None, None).await;
    assert_eq!(st, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    for (p, method, status) in [
        ("/v1/reset/{token}/send-code", "post", "429"),
        ("/v1/reset/{token}/verify", "post", "422"),
        ("/v1/reset/{token}/enroll", "post", "409"),
        ("/v1/reset/{token}/activate", "post", "422"),
        ("/v1/reset/{token}/cancel", "post", "204"),
        ("/v1/api-keys", "get", "403"),
        ("/v1/api-keys/{id}", "delete", "409"),
        ("/v1/tokens/{serial}/lost", "post", "403"),
    ] {
        let op = &paths[p][method];
        assert!(
            op["responses"][status].is_object(),
            "{p} {method} {status}: {op}"
        );
    }
    // The enrollment answer of a reset holds no backup codes any more.
    let enroll = doc["paths"]["/v1/reset/{token}/enroll"]["post"]["responses"]["201"].to_string();
    assert!(!enroll.contains("ResetEnrollResponse"), "{enroll}");
    s.stop().await;
}
