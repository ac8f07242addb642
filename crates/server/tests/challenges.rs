//! Email, SMS and OCRA challenges end to end: a real SMTP conversation with a
//! local sink, a local HTTP SMS gateway, a webhook receiver, the real server
//! on SQLite and PostgreSQL, and a clock the test moves.

mod common;
mod support_mail;

use common::{Backend, TestServer};
use ichido_server::config::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support_mail::{HttpSink, SmtpSink};

fn with_smtp(c: &mut Config, sink: &SmtpSink) {
    c.smtp.host = "127.0.0.1".into();
    c.smtp.port = sink.addr.port();
    c.smtp.security = ichido_server::delivery::SmtpSecurity::None;
    c.smtp.from = "Ichido <mfa@example.com>".into();
    c.smtp.attempts = 1;
}

fn with_sms(c: &mut Config, gw: &HttpSink) {
    c.sms.url = gw.url.as_str().into();
    c.sms
        .headers
        .insert("authorization".into(), "Bearer gw-key".into());
    c.sms.attempts = 1;
}

async fn user_with_contact(s: &TestServer, username: &str) {
    let (st, b) = s
        .post(
            "/v1/users",
            json!({"username": username, "email": format!("{username}@example.com"),
                   "phone": "+1 555 010 1234", "password": PASSWORD}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
}

/// A code is sent only with the user's password: every user made by
/// `user_with_contact` has this one.
const PASSWORD: &str = "pw-of-the-user";

async fn challenge(s: &TestServer, key: &str, mut body: Value) -> (StatusCode, Value) {
    if body.get("password").is_none() {
        body["password"] = json!(PASSWORD);
    }
    s.call("POST", "/v1/challenges", Some(key), Some(body))
        .await
}

async fn validate(s: &TestServer, key: &str, body: Value) -> Value {
    let (st, b) = s.call("POST", "/v1/validate", Some(key), Some(body)).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    b
}

async fn events(s: &TestServer, username: &str, action: &str) -> Vec<Value> {
    let (st, b) = s
        .get(&format!(
            "/v1/audit?username={username}&event={action}&limit=100"
        ))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    b["events"].as_array().unwrap().clone()
}

/// Polls the audit log until an event of `action` for `username` exists:
/// the outbox sends after the answer, so its outcome is logged later.
async fn until_audited(s: &TestServer, username: &str, action: &str) -> Vec<Value> {
    for _ in 0..5_000 {
        let found = events(s, username, action).await;
        if !found.is_empty() {
            return found;
        }
        tokio::task::yield_now().await;
    }
    panic!("no {action} event for {username}");
}

fn reasons(evs: &[Value]) -> Vec<String> {
    evs.iter()
        .map(|e| e["reason"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn email_code_arrives_validates_once_only_for_its_challenge_and_expires(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(s) = TestServer::start_with(backend, |c| with_smtp(c, &sink)).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    user_with_contact(&s, "alice").await;

    // Enrollment sends the first code to the address; proving it activates.
    let (st, b) = s
        .post("/v1/users/alice/tokens", json!({"type": "email"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["state"], "pending");
    assert_eq!(b["address"], "a***@example.com");
    assert!(b.get("secret").is_none(), "{b}");
    let serial = b["serial"].as_str().unwrap().to_owned();
    let mail = sink.inbox.nth(0).await;
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
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/activate"),
            json!({"code": mail.code()}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "active");

    // A challenge: the code arrives, the address is masked.
    s.clock.advance_secs(30);
    let (st, a) = challenge(&s, &validator, json!({"username": "alice"})).await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!(
        a["channels"],
        json!([{"type": "email", "serial": serial, "to": "a***@example.com"}])
    );
    let a_id = a["challenge_id"].as_str().unwrap().to_owned();
    let a_code = sink.inbox.nth(1).await.code();

    // Another challenge's id does not take this code.
    s.clock.advance_secs(30);
    let (st, b) = challenge(&s, &validator, json!({"username": "alice"})).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let b_id = b["challenge_id"].as_str().unwrap().to_owned();
    let b_code = sink.inbox.nth(2).await.code();
    if a_code != b_code {
        assert_eq!(
            validate(
                &s,
                &validator,
                json!({"username": "alice", "code": a_code, "challenge_id": b_id})
            )
            .await,
            json!({"result": "reject"})
        );
    }
    // Its own id: accepted once, never again.
    assert_eq!(
        validate(
            &s,
            &validator,
            json!({"username": "alice", "code": a_code, "challenge_id": a_id})
        )
        .await,
        json!({"result": "accept", "serial": serial})
    );
    assert_eq!(
        validate(
            &s,
            &validator,
            json!({"username": "alice", "code": a_code, "challenge_id": a_id})
        )
        .await,
        json!({"result": "reject"})
    );
    assert_eq!(
        reasons(&events(&s, "alice", "validate").await)[0],
        "challenge_used"
    );

    // After five minutes the code is dead.
    s.clock.advance_secs(301);
    assert_eq!(
        validate(
            &s,
            &validator,
            json!({"username": "alice", "code": b_code, "challenge_id": b_id})
        )
        .await,
        json!({"result": "reject"})
    );
    assert_eq!(
        reasons(&events(&s, "alice", "validate").await)[0],
        "challenge_expired"
    );
    s.stop().await;
}

async fn sms_gateway_delivers_and_resends_are_throttled(backend: Backend) {
    let gw = HttpSink::start().await;
    let Some(s) = TestServer::start_with(backend, |c| with_sms(c, &gw)).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    user_with_contact(&s, "bob").await;
    let (st, b) = s.post("/v1/users/bob/tokens", json!({"type": "sms"})).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let serial = b["serial"].as_str().unwrap().to_owned();
    let sms = gw.inbox.nth(0).await;
    assert_eq!(sms.headers["authorization"], "Bearer gw-key");
    let body: Value = serde_json::from_str(&sms.body).unwrap();
    assert_eq!(body["to"], "+1 555 010 1234");
    let code = body["text"].as_str().unwrap()[..]
        .split("code: ")
        .nth(1)
        .unwrap()[..6]
        .to_owned();
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/activate"),
            json!({"code": code}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");

    // The enrollment code was sent just now: the next must wait 30 s.
    let (st, b) = challenge(&s, &validator, json!({"username": "bob"})).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert_eq!(b["error"]["code"], "resend_throttled");
    let res = s
        .http
        .post(format!("{}/v1/challenges", s.base))
        .bearer_auth(&validator)
        .json(&json!({"username": "bob", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["retry-after"], "30");

    // Four more, 30 s apart, make five in fifteen minutes; the sixth waits.
    for n in 1..=4 {
        s.clock.advance_secs(30);
        let (st, b) = challenge(&s, &validator, json!({"username": "bob"})).await;
        assert_eq!(st, StatusCode::OK, "{b}");
        assert_eq!(b["channels"][0]["to"], "***-1234");
        assert!(gw.inbox.nth(n).await.body.contains("code: "));
    }
    s.clock.advance_secs(30);
    let res = s
        .http
        .post(format!("{}/v1/challenges", s.base))
        .bearer_auth(&validator)
        .json(&json!({"username": "bob", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // The oldest of the five (the enrollment) leaves the window at 900 s.
    assert_eq!(res.headers()["retry-after"], (900 - 150).to_string());
    assert_eq!(gw.inbox.len(), 5);

    // Without a challenge id, the latest open code is accepted once.
    let last: Value = serde_json::from_str(&gw.inbox.nth(4).await.body).unwrap();
    let code = last["text"]
        .as_str()
        .unwrap()
        .split("code: ")
        .nth(1)
        .unwrap()[..6]
        .to_owned();
    assert_eq!(
        validate(&s, &validator, json!({"username": "bob", "code": code})).await,
        json!({"result": "accept", "serial": serial})
    );
    assert_eq!(
        validate(&s, &validator, json!({"username": "bob", "code": code})).await,
        json!({"result": "reject"})
    );
    s.stop().await;
}

async fn smtp_down_is_audited_after_the_answer_and_enrolment_stores_nothing(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(s) = TestServer::start_with(backend, |c| with_smtp(c, &sink)).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    user_with_contact(&s, "carol").await;
    let (st, b) = s
        .post("/v1/users/carol/tokens", json!({"type": "email"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let serial = b["serial"].as_str().unwrap().to_owned();
    let code = sink.inbox.nth(0).await.code();
    let (st, _) = s
        .post(
            &format!("/v1/tokens/{serial}/activate"),
            json!({"code": code}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);

    // The answer does not wait for the relay: it says where the code goes,
    // and the failed send is audited once the outbox has tried.
    sink.stop().await;
    s.clock.advance_secs(60);
    let (st, b) = challenge(&s, &validator, json!({"username": "carol"})).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["channels"][0]["to"], "c***@example.com");
    let sent = until_audited(&s, "carol", "challenge.send").await;
    assert_eq!(sent[0]["result"], "failure");
    assert_eq!(sent[0]["reason"], "smtp_unavailable");
    assert_eq!(sent[0]["serial"], serial);

    // Enrolling a second email token while SMTP is down stores no token.
    let (st, b) = s
        .post(
            "/v1/users/carol/tokens",
            json!({"type": "email", "address": "carol.other@example.com"}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_GATEWAY, "{b}");
    let (_, list) = s.get("/v1/users/carol/tokens").await;
    assert_eq!(list["tokens"].as_array().unwrap().len(), 1, "{list}");
    s.stop().await;
}

async fn an_sms_token_can_be_enrolled_right_after_an_email_token(backend: Backend) {
    let sink = SmtpSink::start().await;
    let gw = HttpSink::start().await;
    let Some(s) = TestServer::start_with(backend, |c| {
        with_smtp(c, &sink);
        with_sms(c, &gw);
    })
    .await
    else {
        return;
    };
    user_with_contact(&s, "hana").await;
    let (st, b) = s
        .post("/v1/users/hana/tokens", json!({"type": "email"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let (st, b) = s
        .post("/v1/users/hana/tokens", json!({"type": "sms"}))
        .await;
    assert_eq!(
        st,
        StatusCode::CREATED,
        "the first code to a new phone is no resend: {b}"
    );
    assert!(gw.inbox.nth(0).await.body.contains("code: "));
    s.stop().await;
}

async fn unknown_user_looks_like_a_user_without_codes(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    s.create_user("dave").await;
    let (st, a) = challenge(&s, &validator, json!({"username": "nobody"})).await;
    assert_eq!(st, StatusCode::OK, "{a}");
    let (st, b) = challenge(&s, &validator, json!({"username": "dave"})).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(a["channels"], json!([]));
    assert_eq!(b["channels"], json!([]));
    assert!(a["challenge_id"].is_string() && a["expires_at"].is_string());
    let evs = events(&s, "nobody", "challenge.create").await;
    assert_eq!(reasons(&evs), vec!["unknown_user"]);
    assert_eq!(
        validate(
            &s,
            &validator,
            json!({"username": "nobody", "code": "123456", "challenge_id": a["challenge_id"]})
        )
        .await,
        json!({"result": "reject"})
    );
    s.stop().await;
}

/// RFC 6287 Appendix C keys: "1234567890" repeated.
fn rfc_key(len: usize) -> String {
    hex::encode(
        b"1234567890"
            .iter()
            .copied()
            .cycle()
            .take(len)
            .collect::<Vec<u8>>(),
    )
}

async fn import_ocra(s: &TestServer, username: &str, suite: &str, key_len: usize) -> String {
    let (st, b) = s
        .post(
            &format!("/v1/users/{username}/tokens"),
            json!({"type": "ocra", "ocra_suite": suite, "secret_hex": rfc_key(key_len)}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["state"], "active");
    assert_eq!(b["ocra_suite"], suite);
    assert!(
        b.get("secret").is_none(),
        "an imported seed is not echoed: {b}"
    );
    b["serial"].as_str().unwrap().to_owned()
}

async fn ocra_rfc6287_vectors_through_the_api(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    user_with_contact(&s, "erin").await;

    // Only an admin imports a known seed.
    let helpdesk = s.api_key("helpdesk").await;
    let (st, _) = s
        .call(
            "POST",
            "/v1/users/erin/tokens",
            Some(&helpdesk),
            Some(json!({"type": "ocra", "ocra_suite": "OCRA-1:HOTP-SHA1-6:QN08", "secret_hex": rfc_key(20)})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    let one_way = import_ocra(&s, "erin", "OCRA-1:HOTP-SHA1-6:QN08", 20).await;
    for (q, expected) in [
        ("00000000", "237653"),
        ("11111111", "243178"),
        ("22222222", "653583"),
        ("55555555", "388898"),
        ("99999999", "294470"),
    ] {
        let (st, c) = challenge(
            &s,
            &validator,
            json!({"username": "erin", "serial": one_way, "question": q}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{c}");
        assert_eq!(c["ocra"][0]["question"], q);
        assert_eq!(c["ocra"][0]["suite"], "OCRA-1:HOTP-SHA1-6:QN08");
        let id = c["challenge_id"].clone();
        assert_eq!(
            validate(
                &s,
                &validator,
                json!({"username": "erin", "code": expected, "challenge_id": id})
            )
            .await,
            json!({"result": "accept", "serial": one_way})
        );
    }

    // A counter suite: the counter advances with each accepted response.
    let s2 = import_ocra(&s, "erin", "OCRA-1:HOTP-SHA512-8:C-QN08", 64).await;
    for (q, expected) in [
        ("00000000", "07016083"),
        ("11111111", "63947962"),
        ("22222222", "70123924"),
    ] {
        let (st, c) = challenge(
            &s,
            &validator,
            json!({"username": "erin", "serial": s2, "question": q}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{c}");
        assert_eq!(
            validate(
                &s,
                &validator,
                json!({"username": "erin", "code": expected, "challenge_id": c["challenge_id"]})
            )
            .await,
            json!({"result": "accept", "serial": s2})
        );
    }
    // The response to counter 0 does not pass again.
    let (_, c) = challenge(
        &s,
        &validator,
        json!({"username": "erin", "serial": s2, "question": "00000000"}),
    )
    .await;
    assert_eq!(
        validate(
            &s,
            &validator,
            json!({"username": "erin", "code": "07016083", "challenge_id": c["challenge_id"]})
        )
        .await,
        json!({"result": "reject"})
    );
    s.stop().await;
}

fn ocra_answer(suite: &str, key_len: usize, question: &str) -> String {
    use ichido_otp::Secret;
    use ichido_otp::ocra::{DataInput, Suite, compute};
    let suite: Suite = suite.parse().unwrap();
    let key = Secret::new(
        b"1234567890"
            .iter()
            .copied()
            .cycle()
            .take(key_len)
            .collect(),
    );
    compute(&suite, &key, &DataInput::challenge(question))
        .unwrap()
        .as_str()
        .to_owned()
}

async fn ocra_transaction_signature_signs_exactly_that_transfer(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    user_with_contact(&s, "frank").await;
    let suite = "OCRA-1:HOTP-SHA256-8:QN08";
    let serial = import_ocra(&s, "frank", suite, 32).await;
    let tx = json!({"amount": "1250.00", "currency": "EUR", "payee": "DE89370400440532013000"});
    let (st, a) = challenge(
        &s,
        &validator,
        json!({"username": "frank", "transaction": tx}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{a}");
    let question = a["ocra"][0]["question"].as_str().unwrap().to_owned();
    assert_eq!(question.len(), 8);
    let signed = ocra_answer(suite, 32, &question);

    // The same response for a changed amount fails.
    let changed =
        json!({"amount": "9250.00", "currency": "EUR", "payee": "DE89370400440532013000"});
    assert_eq!(
        validate(
            &s,
            &validator,
            json!({"username": "frank", "code": signed, "challenge_id": a["challenge_id"], "transaction": changed})
        )
        .await,
        json!({"result": "reject"})
    );
    // A challenge for the changed amount asks another question.
    let (_, b) = challenge(
        &s,
        &validator,
        json!({"username": "frank", "transaction": changed}),
    )
    .await;
    assert_ne!(b["ocra"][0]["question"], question);
    assert_eq!(
        validate(
            &s,
            &validator,
            json!({"username": "frank", "code": signed, "challenge_id": b["challenge_id"]})
        )
        .await,
        json!({"result": "reject"})
    );
    // The right transfer, its own challenge: accepted once, and audited.
    assert_eq!(
        validate(
            &s,
            &validator,
            json!({"username": "frank", "code": signed, "challenge_id": a["challenge_id"], "transaction": tx})
        )
        .await,
        json!({"result": "accept", "serial": serial})
    );
    assert_eq!(
        validate(
            &s,
            &validator,
            json!({"username": "frank", "code": signed, "challenge_id": a["challenge_id"]})
        )
        .await,
        json!({"result": "reject"})
    );
    let sign = events(&s, "frank", "ocra.sign").await;
    assert_eq!(sign.len(), 1);
    assert_eq!(
        sign[0]["reason"],
        "amount=1250.00 currency=EUR payee=DE89370400440532013000"
    );
    assert_eq!(sign[0]["serial"], serial);
    s.stop().await;
}

async fn notices_go_by_email_and_signed_webhook(backend: Backend) {
    use hmac::{Hmac, Mac};
    let sink = SmtpSink::start().await;
    let hook = HttpSink::start().await;
    let Some(s) = TestServer::start_with(backend, |c| {
        with_smtp(c, &sink);
        c.notifications.email = true;
        c.notifications.webhook_url = Some(hook.url.clone());
        c.notifications.webhook_secret = Some("whsec-test".into());
        c.notifications.poll_ms = 20;
        c.notifications.events.password_changed = false;
    })
    .await
    else {
        return;
    };
    user_with_contact(&s, "gina").await;
    let (st, _) = s
        .call(
            "PATCH",
            "/v1/users/gina",
            Some(&s.admin.clone()),
            Some(json!({"password": "a-new-password"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (serial, _) = s.enroll("gina", json!({"type": "totp"})).await;

    // The token notice arrives on the webhook, signed; the password change
    // (turned off) does not.
    let got = hook.inbox.nth(0).await;
    let ts = got.headers["x-ichido-timestamp"]
        .to_str()
        .unwrap()
        .to_owned();
    let sig = got.headers["x-ichido-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"whsec-test").unwrap();
    mac.update(format!("{ts}.{}", got.body).as_bytes());
    assert_eq!(
        sig,
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
    let body: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(body["event"], "token_added");
    assert_eq!(body["username"], "gina");
    assert_eq!(body["serial"], serial);
    assert!(
        body["time"].is_string() && body["ip"] == "127.0.0.1",
        "{body}"
    );
    assert!(body["advice"].as_str().unwrap().contains("not you"));

    // And by email to the user.
    let mail = sink.inbox.nth(0).await;
    assert_eq!(mail.to, vec!["<gina@example.com>".to_string()]);
    assert!(
        mail.data.contains("A new authentication token"),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("127.0.0.1"), "{}", mail.data);
    assert_eq!(hook.inbox.len(), 1);
    s.stop().await;
}

on_both_backends!(
    email_code_arrives_validates_once_only_for_its_challenge_and_expires,
    sms_gateway_delivers_and_resends_are_throttled,
    smtp_down_is_audited_after_the_answer_and_enrolment_stores_nothing,
    an_sms_token_can_be_enrolled_right_after_an_email_token,
    unknown_user_looks_like_a_user_without_codes,
    ocra_rfc6287_vectors_through_the_api,
    ocra_transaction_signature_signs_exactly_that_transfer,
    notices_go_by_email_and_signed_webhook,
);
