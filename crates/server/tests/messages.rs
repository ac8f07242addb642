//! What the messages a user receives say, end to end: the real server, a
//! local SMTP sink and SMS gateway, on SQLite and PostgreSQL.

mod common;
mod support_mail;

use common::{Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support_mail::{HttpSink, SmtpSink};

/// A mail body with quoted-printable soft line breaks joined again.
fn unfolded(data: &str) -> String {
    data.replace("=\r\n", "").replace("=\n", "")
}

async fn a_one_minute_code_is_said_to_be_valid_for_1_minute(backend: Backend) {
    let sink = SmtpSink::start().await;
    let gw = HttpSink::start().await;
    let Some(s) = TestServer::start_with(backend, |c| {
        c.smtp.host = "127.0.0.1".into();
        c.smtp.port = sink.addr.port();
        c.smtp.security = ichido_server::delivery::SmtpSecurity::None;
        c.smtp.attempts = 1;
        c.sms.url = gw.url.as_str().into();
        c.sms.attempts = 1;
        c.challenge.lifetime_seconds = 60;
    })
    .await
    else {
        return;
    };
    let (st, b) = s
        .post(
            "/v1/users",
            json!({"username": "mia", "email": "mia@example.com", "phone": "+1 555 010 1234"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");

    let (st, b) = s.post("/v1/users/mia/tokens", json!({"type": "sms"})).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let sms: Value = serde_json::from_str(&gw.inbox.nth(0).await.body).unwrap();
    let text = sms["text"].as_str().unwrap();
    assert!(text.contains("(valid for 1 minute)"), "{text}");

    // A second channel after the resend pause (not what this test is about).
    s.clock.advance_secs(60);
    let (st, b) = s
        .post("/v1/users/mia/tokens", json!({"type": "email"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let mail = unfolded(&sink.inbox.nth(0).await.data);
    assert!(mail.contains("It is valid for 1 minute and"), "{mail}");
    assert!(!mail.contains("1 minutes"), "{mail}");
    s.stop().await;
}

on_both_backends!(a_one_minute_code_is_said_to_be_valid_for_1_minute);
