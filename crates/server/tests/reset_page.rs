//! The page behind the mailed link, driven as a browser without JavaScript
//! would: plain GETs and form posts. Every answer is HTML with a strict
//! Content-Security-Policy, and the whole reset completes through it.

mod common;
mod support_mail;

use common::{Backend, TestServer, totp};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::json;
use support_mail::{HttpSink, Mail, SmtpSink};

const PASSWORD: &str = "pw-of-the-user";
const CSP: &str = "default-src 'none'; style-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

async fn start(backend: Backend, sink: &SmtpSink) -> Option<TestServer> {
    TestServer::start_with(backend, |c| {
        c.smtp.host = "127.0.0.1".into();
        c.smtp.port = sink.addr.port();
        c.smtp.security = ichido_server::delivery::SmtpSecurity::None;
        c.smtp.from = "Ichido <mfa@example.com>".into();
        c.smtp.attempts = 1;
        c.reset.base_url = "https://portal.example.com".into();
        c.notifications.email = true;
        c.notifications.poll_ms = 20;
    })
    .await
}

async fn mail_with(sink: &SmtpSink, marker: &str) -> Mail {
    for i in 0.. {
        let m = sink.inbox.nth(i).await;
        if m.data.replace("=\r\n", "").contains(marker) {
            return m;
        }
    }
    unreachable!()
}

/// The path after `https://portal.example.com` of the first link starting
/// with `prefix` in a (quoted-printable) mail.
fn link_path(mail: &Mail, prefix: &str) -> String {
    let data = mail.data.replace("=\r\n", "");
    let marker = format!("https://portal.example.com{prefix}");
    let at = data.find(&marker).expect("a link in the mail") + marker.len();
    let rest: String = data[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    format!("{prefix}{}", rest.trim_end_matches('.'))
}

fn assert_html(status: StatusCode, expected: StatusCode, headers: &HeaderMap, body: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(headers["content-security-policy"], CSP);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(!body.contains("<script"), "{body}");
    assert!(
        !body.contains("style="),
        "inline styles are refused by the CSP: {body}"
    );
}

async fn get(s: &TestServer, path: &str) -> (StatusCode, HeaderMap, String) {
    let res = s
        .http
        .get(format!("{}{path}", s.base))
        .send()
        .await
        .unwrap();
    let (st, h) = (res.status(), res.headers().clone());
    (st, h, res.text().await.unwrap())
}

async fn post(
    s: &TestServer,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let res = s
        .http
        .post(format!("{}{path}", s.base))
        .form(form)
        .send()
        .await
        .unwrap();
    let (st, h) = (res.status(), res.headers().clone());
    (st, h, res.text().await.unwrap())
}

/// alice: email, password, an active TOTP token and backup codes.
async fn alice(s: &TestServer) -> Vec<String> {
    let (st, b) = s
        .post(
            "/v1/users",
            json!({"username": "alice", "email": "alice@example.com", "password": PASSWORD}),
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
    let (_, b) = s.post("/v1/users/alice/backup-codes", json!({})).await;
    b["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

async fn ask_for_a_link(s: &TestServer, sink: &SmtpSink) -> String {
    let validator = s.api_key("validator").await;
    let (st, b) = s
        .call(
            "POST",
            "/v1/reset-requests",
            Some(&validator),
            Some(json!({"username": "alice"})),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{b}");
    link_path(&mail_with(sink, "/reset/").await, "/reset/")
}

/// The text between `<code>` and `</code>`: the new token's key.
fn shown_key(body: &str) -> String {
    let at = body.find("<code>").expect("a key on the page") + "<code>".len();
    body[at..body[at..].find("</code>").unwrap() + at].to_owned()
}

async fn the_mailed_link_has_a_page_that_completes_the_reset(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(s) = start(backend, &sink).await else {
        return;
    };
    let codes = alice(&s).await;
    let path = ask_for_a_link(&s, &sink).await;

    let (st, h, body) = get(&s, &path).await;
    assert_html(st, StatusCode::OK, &h, &body);
    assert!(body.contains("name=\"password\""), "{body}");
    assert!(body.contains("value=\"verify\""), "{body}");
    let css = s
        .http
        .get(format!("{}/web/style.css", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");

    // A wrong password: the same form again, with a message, and a 4xx.
    let (st, h, body) = post(
        &s,
        &path,
        &[("step", "verify"), ("password", "nope"), ("code", "")],
    )
    .await;
    assert_html(st, StatusCode::UNPROCESSABLE_ENTITY, &h, &body);
    assert!(body.contains("class=\"error\""), "{body}");
    assert!(body.contains("value=\"verify\""), "{body}");

    let (st, h, body) = post(
        &s,
        &path,
        &[
            ("step", "verify"),
            ("password", PASSWORD),
            ("code", &codes[0]),
        ],
    )
    .await;
    assert_html(st, StatusCode::OK, &h, &body);
    assert!(body.contains("value=\"enroll\""), "{body}");

    let (st, h, body) = post(&s, &path, &[("step", "enroll"), ("password", PASSWORD)]).await;
    assert_html(st, StatusCode::CREATED, &h, &body);
    assert!(body.contains("<svg"), "{body}");
    assert!(!body.contains("<?xml"), "{body}");
    let key = shown_key(&body);
    assert_eq!(key.len(), 32, "{key}");

    // The page again: the key is never shown twice; the activation form is.
    let (st, h, again) = get(&s, &path).await;
    assert_html(st, StatusCode::OK, &h, &again);
    assert!(
        !again.contains(&key) && again.contains("value=\"activate\""),
        "{again}"
    );

    s.clock.advance_secs(30);
    let code = totp(&key, s.now_secs());
    let (st, h, body) = post(&s, &path, &[("step", "activate"), ("code", &code)]).await;
    assert_html(st, StatusCode::OK, &h, &body);
    assert!(body.contains("is active"), "{body}");
    s.clock.advance_secs(30);
    let validator = s.api_key("validator").await;
    let ok = s
        .validate(&validator, "alice", &totp(&key, s.now_secs()))
        .await;
    assert_eq!(ok["result"], "accept", "{ok}");
    s.stop().await;
}

async fn a_notice_cancel_link_stops_a_waiting_reset(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(s) = start(backend, &sink).await else {
        return;
    };
    alice(&s).await;
    let path = ask_for_a_link(&s, &sink).await;
    let (st, h, body) = post(&s, &path, &[("step", "verify"), ("password", PASSWORD)]).await;
    assert_html(st, StatusCode::OK, &h, &body);
    // 24 hours after T0 (2023-11-14T22:13:35Z).
    assert!(body.contains("2023-11-15T22:13:35Z"), "{body}");

    let cancel = link_path(&mail_with(&sink, "/reset/cancel/").await, "/reset/cancel/");
    // Opening the link changes nothing (a mail scanner may follow it).
    let (st, h, body) = get(&s, &cancel).await;
    assert_html(st, StatusCode::OK, &h, &body);
    let (st, h, body) = get(&s, &path).await;
    assert_html(st, StatusCode::OK, &h, &body);

    // A forged or altered link cancels nothing.
    // The last hex digit changed (a MAC that ends in 0 gets a 1).
    let last = if cancel.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &cancel[..cancel.len() - 1]);
    let (st, h, body) = post(&s, &forged, &[]).await;
    assert_html(st, StatusCode::UNPROCESSABLE_ENTITY, &h, &body);
    let (st, _, _) = get(&s, &path).await;
    assert_eq!(st, StatusCode::OK);

    let (st, h, body) = post(&s, &cancel, &[]).await;
    assert_html(st, StatusCode::OK, &h, &body);
    s.clock.advance_secs(86_400);
    let (st, h, body) = get(&s, &path).await;
    assert_html(st, StatusCode::NOT_FOUND, &h, &body);
    let (st, h, body) = post(&s, &path, &[("step", "enroll"), ("password", PASSWORD)]).await;
    assert_html(st, StatusCode::UNPROCESSABLE_ENTITY, &h, &body);
    s.stop().await;
}

async fn bad_links_and_forms_get_a_page_not_a_panic(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(s) = start(backend, &sink).await else {
        return;
    };
    let (st, h, body) = get(&s, "/reset/%3Cb%3Ehello%3C%2Fb%3E").await;
    assert_html(st, StatusCode::NOT_FOUND, &h, &body);
    assert!(!body.contains("<b>"), "{body}");
    let (st, h, body) = post(&s, "/reset/unknown", &[("step", "fly")]).await;
    assert_html(st, StatusCode::BAD_REQUEST, &h, &body);
    let (st, h, body) = post(&s, "/reset/unknown", &[("password", "x")]).await;
    assert_html(st, StatusCode::BAD_REQUEST, &h, &body);
    let (st, h, body) = post(
        &s,
        "/reset/unknown",
        &[("step", "verify"), ("password", "x")],
    )
    .await;
    assert_html(st, StatusCode::UNPROCESSABLE_ENTITY, &h, &body);
    s.stop().await;
}

async fn the_page_sends_a_code_to_the_phone_as_the_second_factor(backend: Backend) {
    let sink = SmtpSink::start().await;
    let gw = HttpSink::start().await;
    let Some(s) = TestServer::start_with(backend, |c| {
        c.smtp.host = "127.0.0.1".into();
        c.smtp.port = sink.addr.port();
        c.smtp.security = ichido_server::delivery::SmtpSecurity::None;
        c.smtp.from = "Ichido <mfa@example.com>".into();
        c.smtp.attempts = 1;
        c.reset.base_url = "https://portal.example.com".into();
        c.sms.url = gw.url.as_str().into();
        c.sms.attempts = 1;
    })
    .await
    else {
        return;
    };
    let (st, b) = s
        .post(
            "/v1/users",
            json!({"username": "alice", "email": "alice@example.com", "phone": "+81 90 3333 4444",
                   "password": PASSWORD}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let (st, b) = s
        .post("/v1/users/alice/tokens", json!({"type": "sms"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let serial = b["serial"].as_str().unwrap().to_owned();
    let code = sms_code(&gw.inbox.nth(0).await.body);
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/activate"),
            json!({"code": code}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    s.clock.advance_secs(120);
    let path = ask_for_a_link(&s, &sink).await;

    let (st, h, body) = post(&s, &path, &[("step", "send-code"), ("password", PASSWORD)]).await;
    assert_html(st, StatusCode::OK, &h, &body);
    assert!(body.contains("A code was sent to ***-4444"), "{body}");
    let code = sms_code(&gw.inbox.nth(1).await.body);
    let (st, h, body) = post(
        &s,
        &path,
        &[("step", "verify"), ("password", PASSWORD), ("code", &code)],
    )
    .await;
    assert_html(st, StatusCode::OK, &h, &body);
    assert!(body.contains("value=\"enroll\""), "{body}");
    s.stop().await;
}

fn sms_code(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["text"].as_str().unwrap().split("code: ").nth(1).unwrap()[..6].to_owned()
}

on_both_backends!(
    the_page_sends_a_code_to_the_phone_as_the_second_factor,
    the_mailed_link_has_a_page_that_completes_the_reset,
    a_notice_cancel_link_stops_a_waiting_reset,
    bad_links_and_forms_get_a_page_not_a_panic,
);
