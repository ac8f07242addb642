//! Sign-in for applications end to end: one decision per attempt, devices
//! remembered with a rotating token, the answer's code checked by
//! validation, and the history. Time moves only by the test's clock.

mod common;
mod support_mail;

use common::{Backend, TestServer, totp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support_mail::SmtpSink;

const PASSWORD: &str = "pw-of-alice";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const DAY: i64 = 86_400;

struct Fixture {
    s: TestServer,
    validator: String,
    /// Alice's TOTP seed.
    secret: String,
}

/// Alice, with a password and an active TOTP token.
async fn fixture(backend: Backend) -> Option<Fixture> {
    fixture_with(backend, |_| {}).await
}

async fn fixture_with(
    backend: Backend,
    tune: impl FnOnce(&mut ichido_server::config::Config),
) -> Option<Fixture> {
    let s = TestServer::start_with(backend, tune).await?;
    let validator = s.api_key("validator").await;
    let (st, b) = s
        .post(
            "/v1/users",
            json!({"username": "alice", "password": PASSWORD, "email": "alice@example.com"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let (serial, secret) = s.enroll("alice", json!({"type": "totp"})).await;
    let code = totp(&secret, s.now_secs());
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/activate"),
            json!({"code": code}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    Some(Fixture {
        s,
        validator,
        secret,
    })
}

impl Fixture {
    async fn signin(&self, username: &str, password: &str, device: Option<&str>) -> Value {
        self.signin_from("192.0.2.7", username, password, device)
            .await
    }

    async fn signin_from(
        &self,
        ip: &str,
        username: &str,
        password: &str,
        device: Option<&str>,
    ) -> Value {
        let mut body = json!({
            "username": username, "password": password, "app": "webmail",
            "client": {"ip": ip, "user_agent": FIREFOX},
        });
        if let Some(d) = device {
            body["device_token"] = json!(d);
        }
        let (st, b) = self
            .s
            .call("POST", "/v1/signin", Some(&self.validator), Some(body))
            .await;
        assert_eq!(st, StatusCode::OK, "{b}");
        b
    }

    async fn answer(&self, signin_id: &str, body: Value) -> Value {
        let (st, b) = self
            .s
            .call(
                "POST",
                &format!("/v1/signin/{signin_id}/answer"),
                Some(&self.validator),
                Some(body),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{b}");
        b
    }

    /// A code of the next TOTP step: the clock moves on one step.
    fn next_code(&self) -> String {
        self.s.clock.advance_secs(30);
        totp(&self.secret, self.s.now_secs())
    }

    /// Signs alice in with a second factor and remembers the device.
    async fn remembered(&self) -> String {
        let b = self.signin("alice", PASSWORD, None).await;
        assert_eq!(b["decision"], "challenge", "{b}");
        let code = self.next_code();
        let b = self
            .answer(
                b["signin_id"].as_str().unwrap(),
                json!({"factor": "totp", "code": code, "remember_device": true}),
            )
            .await;
        assert_eq!(b["decision"], "accept", "{b}");
        b["device_token"].as_str().unwrap().to_owned()
    }

    async fn devices(&self) -> Vec<Value> {
        let (st, b) = self.s.get("/v1/users/alice/devices").await;
        assert_eq!(st, StatusCode::OK, "{b}");
        b["devices"].as_array().unwrap().clone()
    }
}

async fn an_unknown_device_is_challenged_and_a_remembered_one_is_accepted(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.signin("alice", PASSWORD, None).await;
    assert_eq!(b["decision"], "challenge", "{b}");
    assert_eq!(b["factors"], json!(["totp"]));
    assert!(b["signin_id"].as_str().unwrap().len() >= 40, "{b}");
    assert!(b.get("device_token").is_none(), "{b}");

    let token = f.remembered().await;
    assert!(token.contains('.'), "{token}");
    let b = f.signin("alice", PASSWORD, Some(&token)).await;
    assert_eq!(b["decision"], "accept", "{b}");
    assert_ne!(b["device_token"], json!(token), "the secret is replaced");
    let devices = f.devices().await;
    assert_eq!(devices.len(), 1, "{devices:?}");
    assert_eq!(devices[0]["name"], "Firefox on Linux");
    assert_eq!(devices[0]["last_ip"], "192.0.2.7");
    assert!(
        !devices[0]
            .to_string()
            .contains(token.split('.').nth(1).unwrap())
    );
    f.s.stop().await;
}

async fn a_trusted_device_never_skips_the_password(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let token = f.remembered().await;
    let b = f.signin("alice", "wrong", Some(&token)).await;
    assert_eq!(b, json!({"decision": "reject"}));
    f.s.stop().await;
}

async fn wrong_password_unknown_user_and_locked_reject_alike(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.policy.max_failures = 2).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    for (name, pw) in [
        ("alice", Some(PASSWORD)),
        ("locked", Some("pw")),
        ("nopass", None),
    ] {
        let mut body = json!({"username": name});
        if let Some(pw) = pw {
            body["password"] = json!(pw);
        }
        let (st, b) = s.post("/v1/users", body).await;
        assert_eq!(st, StatusCode::CREATED, "{b}");
    }
    let signin = |username: &str, password: &str| {
        let body = json!({"username": username, "password": password, "app": "webmail",
                          "client": {"ip": "192.0.2.7", "user_agent": FIREFOX}});
        s.http
            .post(format!("{}/v1/signin", s.base))
            .bearer_auth(&validator)
            .json(&body)
            .send()
    };
    for _ in 0..2 {
        signin("locked", "wrong").await.unwrap();
    }
    let (_, u) = s.get("/v1/users/locked").await;
    assert!(u["locked_until"].is_string(), "{u}");
    let mut answers = Vec::new();
    for (u, pw) in [
        ("ghost", "wrong"),
        ("alice", "wrong"),
        ("locked", "pw"),
        ("nopass", "wrong"),
    ] {
        let res = signin(u, pw).await.unwrap();
        answers.push((res.status(), res.bytes().await.unwrap()));
    }
    for a in &answers[1..] {
        assert_eq!(a, &answers[0]);
    }
    assert_eq!(answers[0].1.as_ref(), br#"{"decision":"reject"}"#);
    s.stop().await;
}

async fn a_used_device_token_is_no_longer_trusted(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let first = f.remembered().await;
    let b = f.signin("alice", PASSWORD, Some(&first)).await;
    assert_eq!(b["decision"], "accept", "{b}");
    let b = f.signin("alice", PASSWORD, Some(&first)).await;
    assert_eq!(b["decision"], "challenge", "{b}");
    f.s.stop().await;
}

async fn reusing_a_replaced_device_token_revokes_the_device(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let stolen = f.remembered().await;
    let b = f.signin("alice", PASSWORD, Some(&stolen)).await;
    let current = b["device_token"].as_str().unwrap().to_owned();
    // The copy is used after the owner's sign-in replaced it.
    let b = f.signin("alice", PASSWORD, Some(&stolen)).await;
    assert_eq!(b["decision"], "challenge", "{b}");
    // The owner's token goes with the device.
    let b = f.signin("alice", PASSWORD, Some(&current)).await;
    assert_eq!(b["decision"], "challenge", "{b}");
    let devices = f.devices().await;
    assert_eq!(devices[0]["revoked_reason"], "token_reused", "{devices:?}");
    let (_, audit) =
        f.s.get("/v1/audit?username=alice&event=device.revoke")
            .await;
    let events = audit["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{audit}");
    assert_eq!(events[0]["reason"], "token_reused");
    f.s.stop().await;
}

async fn a_device_idle_for_fourteen_days_is_no_longer_trusted(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let token = f.remembered().await;
    f.s.clock.advance_secs(14 * DAY - 60);
    let b = f.signin("alice", PASSWORD, Some(&token)).await;
    assert_eq!(b["decision"], "accept", "{b}");
    let token = b["device_token"].as_str().unwrap().to_owned();
    f.s.clock.advance_secs(14 * DAY);
    let b = f.signin("alice", PASSWORD, Some(&token)).await;
    assert_eq!(b["decision"], "challenge", "{b}");
    f.s.stop().await;
}

async fn a_device_is_trusted_thirty_days_at_most(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let mut token = f.remembered().await;
    for _ in 0..2 {
        f.s.clock.advance_secs(13 * DAY);
        let b = f.signin("alice", PASSWORD, Some(&token)).await;
        assert_eq!(b["decision"], "accept", "{b}");
        token = b["device_token"].as_str().unwrap().to_owned();
    }
    f.s.clock.advance_secs(4 * DAY);
    let b = f.signin("alice", PASSWORD, Some(&token)).await;
    assert_eq!(b["decision"], "challenge", "{b}");
    f.s.stop().await;
}

async fn changing_the_password_revokes_every_device(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let token = f.remembered().await;
    let (st, b) =
        f.s.call(
            "PATCH",
            "/v1/users/alice",
            Some(&f.s.admin.clone()),
            Some(json!({"password": "a-new-password"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let b = f.signin("alice", "a-new-password", Some(&token)).await;
    assert_eq!(b["decision"], "challenge", "{b}");
    let devices = f.devices().await;
    assert_eq!(
        devices[0]["revoked_reason"], "password_changed",
        "{devices:?}"
    );
    f.s.stop().await;
}

async fn a_reset_revokes_every_device(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(f) = fixture_with(backend, |c| {
        c.smtp.host = "127.0.0.1".into();
        c.smtp.port = sink.addr.port();
        c.smtp.security = ichido_server::delivery::SmtpSecurity::None;
        c.smtp.from = "Ichido <mfa@example.com>".into();
        c.smtp.attempts = 1;
        c.reset.base_url = "https://portal.example.com".into();
    })
    .await
    else {
        return;
    };
    let token = f.remembered().await;
    let (st, b) =
        f.s.call(
            "POST",
            "/v1/reset-requests",
            Some(&f.validator),
            Some(json!({"username": "alice"})),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{b}");
    let mail = sink.inbox.nth(0).await.data.replace("=\r\n", "");
    let marker = "https://portal.example.com/reset/";
    let at = mail.find(marker).expect("a reset link") + marker.len();
    let link: String = mail[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let code = f.next_code();
    for (step, body) in [
        ("verify", json!({"password": PASSWORD, "code": code})),
        ("enroll", json!({"password": PASSWORD})),
    ] {
        let (st, b) =
            f.s.call(
                "POST",
                &format!("/v1/reset/{link}/{step}"),
                Some(&f.validator),
                Some(body),
            )
            .await;
        assert!(st.is_success(), "{step}: {st} {b}");
    }
    let b = f.signin("alice", PASSWORD, Some(&token)).await;
    assert_ne!(b["decision"], "accept", "{b}");
    let devices = f.devices().await;
    assert_eq!(devices[0]["revoked_reason"], "reset", "{devices:?}");
    f.s.stop().await;
}

async fn a_signin_from_a_new_device_is_told_to_the_holder(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(f) = fixture_with(backend, |c| {
        c.smtp.host = "127.0.0.1".into();
        c.smtp.port = sink.addr.port();
        c.smtp.security = ichido_server::delivery::SmtpSecurity::None;
        c.smtp.from = "Ichido <mfa@example.com>".into();
        c.smtp.attempts = 1;
        c.notifications.email = true;
        c.notifications.poll_ms = 20;
    })
    .await
    else {
        return;
    };
    f.remembered().await;
    for i in 0.. {
        let mail = sink.inbox.nth(i).await;
        let text = mail.data.replace("=\r\n", "");
        if text.contains("from a new device") {
            assert_eq!(mail.to, vec!["<alice@example.com>".to_string()]);
            assert!(text.contains("192.0.2.7"), "{text}");
            break;
        }
    }
    f.s.stop().await;
}

async fn the_not_me_link_of_a_new_device_notice_locks_the_account(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(f) = fixture_with(backend, |c| {
        c.smtp.host = "127.0.0.1".into();
        c.smtp.port = sink.addr.port();
        c.smtp.security = ichido_server::delivery::SmtpSecurity::None;
        c.smtp.from = "Ichido <mfa@example.com>".into();
        c.smtp.attempts = 1;
        c.notifications.email = true;
        c.notifications.poll_ms = 20;
        c.reset.base_url = "https://portal.example.com".into();
    })
    .await
    else {
        return;
    };
    let token = f.remembered().await;
    let marker = "https://portal.example.com/not-me/";
    let mut link = String::new();
    for i in 0.. {
        let text = sink.inbox.nth(i).await.data.replace("=\r\n", "");
        if let Some(at) = text.find(marker) {
            link = text[at + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect();
            break;
        }
    }
    let page = |method: &str, path: String| {
        f.s.http
            .request(method.parse().unwrap(), format!("{}{path}", f.s.base))
            .send()
    };
    // Following the link only asks; the form locks.
    let res = page("GET", format!("/not-me/{link}")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, u) = f.s.get("/v1/users/alice").await;
    assert!(u["locked_until"].is_null(), "{u}");
    let res = page("POST", format!("/not-me/{link}")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, u) = f.s.get("/v1/users/alice").await;
    assert!(u["locked_until"].is_string(), "{u}");
    let devices = f.devices().await;
    assert_eq!(devices[0]["revoked_reason"], "not_me", "{devices:?}");
    let b = f.signin("alice", PASSWORD, Some(&token)).await;
    assert_eq!(b, json!({"decision": "reject"}));
    // A link this server did not make does nothing.
    let last = if link.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &link[..link.len() - 1]);
    let res = page("POST", format!("/not-me/{forged}")).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    f.s.stop().await;
}

async fn a_signin_id_is_answered_once(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.signin("alice", PASSWORD, None).await;
    let id = b["signin_id"].as_str().unwrap().to_owned();
    let code = f.next_code();
    let b = f.answer(&id, json!({"code": code})).await;
    assert_eq!(b, json!({"decision": "accept"}));
    let code = f.next_code();
    let b = f.answer(&id, json!({"code": code})).await;
    assert_eq!(b, json!({"decision": "reject"}));
    f.s.stop().await;
}

async fn a_wrong_answer_spends_the_signin_and_counts_as_a_failure(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.signin("alice", PASSWORD, None).await;
    let id = b["signin_id"].as_str().unwrap().to_owned();
    let b = f.answer(&id, json!({"code": "000000"})).await;
    assert_eq!(b, json!({"decision": "reject"}));
    let (_, u) = f.s.get("/v1/users/alice").await;
    assert_eq!(u["failed_count"], 1, "{u}");
    let code = f.next_code();
    let b = f.answer(&id, json!({"code": code})).await;
    assert_eq!(b, json!({"decision": "reject"}));
    f.s.stop().await;
}

async fn a_signin_waits_five_minutes_for_its_answer(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.signin("alice", PASSWORD, None).await;
    let id = b["signin_id"].as_str().unwrap().to_owned();
    f.s.clock.advance_secs(300);
    let code = totp(&f.secret, f.s.now_secs());
    let b = f.answer(&id, json!({"code": code})).await;
    assert_eq!(b, json!({"decision": "reject"}));
    f.s.stop().await;
}

async fn a_backup_code_answers_a_signin(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let (st, codes) = f.s.post("/v1/users/alice/backup-codes", json!({})).await;
    assert_eq!(st, StatusCode::CREATED, "{codes}");
    let code = codes["codes"][0].as_str().unwrap().to_owned();
    let b = f.signin("alice", PASSWORD, None).await;
    assert_eq!(b["factors"], json!(["totp", "backup"]), "{b}");
    let id = b["signin_id"].as_str().unwrap();
    let b = f
        .answer(id, json!({"factor": "backup", "code": code}))
        .await;
    assert_eq!(b, json!({"decision": "accept"}));
    f.s.stop().await;
}

async fn a_user_without_an_app_is_sent_a_code_by_email(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(s) = TestServer::start_with(backend, |c| {
        c.smtp.host = "127.0.0.1".into();
        c.smtp.port = sink.addr.port();
        c.smtp.security = ichido_server::delivery::SmtpSecurity::None;
        c.smtp.from = "Ichido <mfa@example.com>".into();
        c.smtp.attempts = 1;
    })
    .await
    else {
        return;
    };
    let validator = s.api_key("validator").await;
    let (st, b) = s
        .post(
            "/v1/users",
            json!({"username": "bob", "email": "bob@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let (st, b) = s
        .post("/v1/users/bob/tokens", json!({"type": "email"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let serial = b["serial"].as_str().unwrap().to_owned();
    let code = sink.inbox.nth(0).await.code();
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/activate"),
            json!({"code": code}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    // Past the resend throttle of the enrolment's code.
    s.clock.advance_secs(60);
    let body = json!({"username": "bob", "password": PASSWORD, "app": "webmail"});
    let (st, b) = s
        .call("POST", "/v1/signin", Some(&validator), Some(body))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["decision"], "challenge", "{b}");
    assert_eq!(b["factors"], json!(["email"]));
    let code = sink.inbox.nth(1).await.code();
    let (st, b) = s
        .call(
            "POST",
            &format!("/v1/signin/{}/answer", b["signin_id"].as_str().unwrap()),
            Some(&validator),
            Some(json!({"factor": "email", "code": code})),
        )
        .await;
    assert_eq!((st, b), (StatusCode::OK, json!({"decision": "accept"})));
    s.stop().await;
}

async fn the_history_shows_each_decision(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let token = f.remembered().await;
    f.signin("alice", PASSWORD, Some(&token)).await;
    let (st, b) = f.s.get("/v1/users/alice/signins").await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let rows: Vec<(Value, Value, Value)> = b["signins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["result"].clone(),
                r["factor"].clone(),
                r["new_device"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (json!("accept"), json!("device"), json!(false)),
            (json!("accept"), json!("totp"), json!(true)),
            (json!("challenge"), Value::Null, json!(true)),
        ]
    );
    let newest = &b["signins"][0];
    assert_eq!(newest["app"], "webmail");
    assert_eq!(newest["ip"], "192.0.2.7");
    assert_eq!(newest["device"], "Firefox on Linux");
    f.s.stop().await;
}

async fn a_wrong_password_is_in_the_history_of_the_account(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let token = f.remembered().await;
    f.signin("alice", "wrong", Some(&token)).await;
    f.signin("alice", "wrong", None).await;
    f.signin("ghost", "wrong", None).await;
    let (_, b) = f.s.get("/v1/users/alice/signins?limit=2").await;
    let rows: Vec<(Value, Value, Value)> = b["signins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["result"].clone(),
                r["new_device"].clone(),
                r["factor"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (json!("reject"), json!(true), Value::Null),
            (json!("reject"), json!(false), Value::Null),
        ],
        "{b}"
    );
    assert!(b["next_cursor"].is_string(), "{b}");
    f.s.stop().await;
}

async fn a_locked_account_records_refused_signins(backend: Backend) {
    let Some(f) = fixture_with(backend, |c| c.policy.max_failures = 2).await else {
        return;
    };
    for _ in 0..2 {
        f.signin("alice", "wrong", None).await;
    }
    let (_, u) = f.s.get("/v1/users/alice").await;
    assert!(u["locked_until"].is_string(), "{u}");
    // The right password while locked: refused, and in the history.
    let b = f.signin("alice", PASSWORD, None).await;
    assert_eq!(b, json!({"decision": "reject"}));
    let (_, b) = f.s.get("/v1/users/alice/signins").await;
    let results: Vec<&str> = b["signins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["reject", "reject", "reject"], "{b}");
    f.s.stop().await;
}

async fn helpdesk_revokes_one_device_or_all(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let helpdesk = f.s.api_key("helpdesk").await;
    let one = f.remembered().await;
    let two = f.remembered().await;
    let id = one.split('.').next().unwrap();
    let (st, b) =
        f.s.call(
            "DELETE",
            &format!("/v1/users/alice/devices/{id}"),
            Some(&helpdesk),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{b}");
    let b = f.signin("alice", PASSWORD, Some(&one)).await;
    assert_eq!(b["decision"], "challenge", "{b}");
    let (st, b) =
        f.s.call("DELETE", "/v1/users/alice/devices", Some(&helpdesk), None)
            .await;
    assert_eq!((st, &b), (StatusCode::OK, &json!({"revoked": 1})));
    let b = f.signin("alice", PASSWORD, Some(&two)).await;
    assert_eq!(b["decision"], "challenge", "{b}");
    let (st, _) =
        f.s.call(
            "DELETE",
            &format!("/v1/users/alice/devices/{id}"),
            Some(&helpdesk),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    f.s.stop().await;
}

async fn a_validator_cannot_read_or_revoke_devices(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    for (method, path) in [
        ("GET", "/v1/users/alice/devices"),
        ("DELETE", "/v1/users/alice/devices"),
        ("DELETE", "/v1/users/alice/devices/x"),
        ("GET", "/v1/users/alice/signins"),
    ] {
        let (st, b) = f.s.call(method, path, Some(&f.validator), None).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{method} {path}: {b}");
    }
    f.s.stop().await;
}

async fn metrics_count_signin_decisions_and_answers(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.signin("alice", PASSWORD, None).await;
    assert_eq!(b["decision"], "challenge", "{b}");
    let b = f
        .answer(
            b["signin_id"].as_str().unwrap(),
            json!({"factor": "totp", "code": "000000"}),
        )
        .await;
    assert_eq!(b["decision"], "reject", "{b}");
    f.signin("alice", "wrong", None).await;
    let (_, text) = f.s.call("GET", "/metrics", None, None).await;
    let text = text.as_str().unwrap_or_default();
    for line in [
        "ichido_signins_total{decision=\"challenge\"} 1",
        "ichido_signins_total{decision=\"reject\"} 1",
        "ichido_signin_answers_total{result=\"reject\"} 1",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    assert!(!text.contains("ichido_signins_total{decision=\"accept\"}"));
    f.s.stop().await;
}

async fn history_older_than_history_days_is_pruned(backend: Backend) {
    let Some(f) = fixture_with(backend, |c| c.signin.history_days = 30).await else {
        return;
    };
    f.signin("alice", "wrong", None).await;
    f.s.clock.advance_secs(30 * DAY);
    f.signin("alice", PASSWORD, None).await;
    f.s.clock.advance_secs(1);
    let state = &f.s.running.as_ref().unwrap().state;
    let pruned = ichido_server::app::prune_signin_history(state)
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    let (_, b) = f.s.get("/v1/users/alice/signins").await;
    let results: Vec<&str> = b["signins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["challenge"], "{b}");
    f.s.stop().await;
}

/// Alice's server in `weak` mode, with a device remembered at 192.0.2.7.
async fn weak_with_a_trusted_device(backend: Backend) -> Option<Fixture> {
    let f = fixture_with(backend, |c| {
        c.signin.strength = ichido_domain::signin::Strength::Weak;
    })
    .await?;
    f.remembered().await;
    Some(f)
}

async fn weak_accepts_a_new_device_in_the_network_of_a_trusted_one(backend: Backend) {
    let Some(f) = weak_with_a_trusted_device(backend).await else {
        return;
    };
    let b = f.signin_from("192.0.2.99", "alice", PASSWORD, None).await;
    assert_eq!(b["decision"], "accept", "{b}");
    let token = b["device_token"].as_str().unwrap().to_owned();
    assert_eq!(f.devices().await.len(), 2);
    let (_, h) = f.s.get("/v1/users/alice/signins?limit=1").await;
    assert_eq!(h["signins"][0]["factor"], "network", "{h}");
    assert_eq!(h["signins"][0]["new_device"], true, "{h}");
    // The new device is remembered in its own right.
    let b = f
        .signin_from("198.51.100.7", "alice", PASSWORD, Some(&token))
        .await;
    assert_eq!(b["decision"], "accept", "{b}");
    f.s.stop().await;
}

async fn weak_challenges_a_new_device_in_another_network(backend: Backend) {
    let Some(f) = weak_with_a_trusted_device(backend).await else {
        return;
    };
    let b = f.signin_from("192.0.3.7", "alice", PASSWORD, None).await;
    assert_eq!(b["decision"], "challenge", "{b}");
    let b = f.signin_from("2001:db8::7", "alice", PASSWORD, None).await;
    assert_eq!(b["decision"], "challenge", "{b}");
    f.s.stop().await;
}

async fn weak_never_skips_the_password(backend: Backend) {
    let Some(f) = weak_with_a_trusted_device(backend).await else {
        return;
    };
    let b = f.signin_from("192.0.2.99", "alice", "wrong", None).await;
    assert_eq!(b, json!({"decision": "reject"}));
    f.s.stop().await;
}

async fn weak_needs_a_device_used_within_idle_days(backend: Backend) {
    let Some(f) = weak_with_a_trusted_device(backend).await else {
        return;
    };
    f.s.clock.advance_secs(14 * DAY);
    let b = f.signin_from("192.0.2.99", "alice", PASSWORD, None).await;
    assert_eq!(b["decision"], "challenge", "{b}");
    f.s.stop().await;
}

async fn weak_acceptance_of_a_new_device_is_told_to_the_holder(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(f) = fixture_with(backend, |c| {
        c.signin.strength = ichido_domain::signin::Strength::Weak;
        c.smtp.host = "127.0.0.1".into();
        c.smtp.port = sink.addr.port();
        c.smtp.security = ichido_server::delivery::SmtpSecurity::None;
        c.smtp.from = "Ichido <mfa@example.com>".into();
        c.smtp.attempts = 1;
        c.notifications.email = true;
        c.notifications.poll_ms = 20;
    })
    .await
    else {
        return;
    };
    f.remembered().await;
    let b = f.signin_from("192.0.2.99", "alice", PASSWORD, None).await;
    assert_eq!(b["decision"], "accept", "{b}");
    for i in 0.. {
        let mail = sink.inbox.nth(i).await;
        let text = mail.data.replace("=\r\n", "");
        if text.contains("from a new device") && text.contains("192.0.2.99") {
            break;
        }
    }
    f.s.stop().await;
}

async fn strong_challenges_a_new_device_in_the_network_of_a_trusted_one(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    f.remembered().await;
    let b = f.signin_from("192.0.2.99", "alice", PASSWORD, None).await;
    assert_eq!(b["decision"], "challenge", "{b}");
    f.s.stop().await;
}

async fn bad_input_gets_a_clear_error(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    for (body, code) in [
        (
            json!({"username": "alice", "password": "x", "app": "a", "client": {"ip": "nope"}}),
            "invalid_client_ip",
        ),
        (
            json!({"username": "alice", "password": "x", "app": "a", "device_token": "no-dot"}),
            "invalid_device_token",
        ),
        (
            json!({"username": "alice", "password": "x", "app": ""}),
            "invalid_app",
        ),
        (json!({"username": "alice", "app": "a"}), "invalid_field"),
    ] {
        let (st, b) =
            f.s.call("POST", "/v1/signin", Some(&f.validator), Some(body))
                .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert_eq!(b["error"]["code"], code, "{b}");
    }
    let (st, b) =
        f.s.call(
            "POST",
            "/v1/signin/x/answer",
            Some(&f.validator),
            Some(json!({"factor": "carrier-pigeon", "code": "1"})),
        )
        .await;
    assert_eq!(
        (st, &b["error"]["code"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("invalid_factor"))
    );
    f.s.stop().await;
}

on_both_backends!(
    an_unknown_device_is_challenged_and_a_remembered_one_is_accepted,
    a_trusted_device_never_skips_the_password,
    wrong_password_unknown_user_and_locked_reject_alike,
    a_used_device_token_is_no_longer_trusted,
    reusing_a_replaced_device_token_revokes_the_device,
    a_device_idle_for_fourteen_days_is_no_longer_trusted,
    a_device_is_trusted_thirty_days_at_most,
    changing_the_password_revokes_every_device,
    a_reset_revokes_every_device,
    a_signin_from_a_new_device_is_told_to_the_holder,
    the_not_me_link_of_a_new_device_notice_locks_the_account,
    a_signin_id_is_answered_once,
    a_wrong_answer_spends_the_signin_and_counts_as_a_failure,
    a_signin_waits_five_minutes_for_its_answer,
    a_backup_code_answers_a_signin,
    a_user_without_an_app_is_sent_a_code_by_email,
    the_history_shows_each_decision,
    a_wrong_password_is_in_the_history_of_the_account,
    a_locked_account_records_refused_signins,
    helpdesk_revokes_one_device_or_all,
    a_validator_cannot_read_or_revoke_devices,
    metrics_count_signin_decisions_and_answers,
    history_older_than_history_days_is_pruned,
    weak_accepts_a_new_device_in_the_network_of_a_trusted_one,
    weak_challenges_a_new_device_in_another_network,
    weak_never_skips_the_password,
    weak_needs_a_device_used_within_idle_days,
    weak_acceptance_of_a_new_device_is_told_to_the_holder,
    strong_challenges_a_new_device_in_the_network_of_a_trusted_one,
    bad_input_gets_a_clear_error,
);
