//! A token's validity period (`valid_from`, `valid_until`): set on enrolment,
//! changed by PATCH, read from PSKC `StartDate`/`ExpiryDate` (RFC 6030 §5),
//! and outside it a right code is refused. The clock is the test's.

mod common;

use common::{Backend, T0, TestServer, totp};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// `T0` in Unix seconds: 2023-11-14T22:13:35Z.
const T0_SECS: i64 = T0 / 1000;

/// RFC 4226 Appendix D: the seed "12345678901234567890" and its six-digit
/// codes for counters 0 and 1.
const RFC4226_SEED_B64: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=";
const HOTP_0: &str = "755224";
const HOTP_1: &str = "287082";

/// One plaintext HOTP key (RFC 6030 §4.1) with a `Policy` (§5).
fn pskc_with_policy(serial: &str, policy: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
    <KeyPackage>
        <DeviceInfo><SerialNo>{serial}</SerialNo></DeviceInfo>
        <Key Id="{serial}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
            <Issuer>Issuer</Issuer>
            <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
            <Data>
                <Secret><PlainValue>{RFC4226_SEED_B64}</PlainValue></Secret>
                <Counter><PlainValue>0</PlainValue></Counter>
            </Data>
            <Policy>{policy}</Policy>
        </Key>
    </KeyPackage>
</KeyContainer>
"#
    )
}

async fn validate(s: &TestServer, key: &str, user: &str, code: &str) -> String {
    let b = s.validate(key, user, code).await;
    b["result"].as_str().unwrap().to_owned()
}

async fn patch(s: &TestServer, serial: &str, body: Value) -> (StatusCode, Value) {
    s.call(
        "PATCH",
        &format!("/v1/tokens/{serial}"),
        Some(&s.admin.clone()),
        Some(body),
    )
    .await
}

async fn import_and_assign(s: &TestServer, serial: &str, policy: &str, user: &str) -> Value {
    let content = pskc_with_policy(serial, policy);
    let (st, b) = s
        .post(
            "/v1/tokens/import",
            json!({"format": "pskc", "content": content}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    s.create_user(user).await;
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/assign"),
            json!({"username": user}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    b
}

async fn token_past_valid_until_rejects_a_right_code(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    s.create_user("ana").await;
    // Unix seconds as a number; the answer speaks RFC 3339.
    let (serial, secret) = s
        .enroll("ana", json!({"type": "totp", "valid_until": T0_SECS + 120}))
        .await;
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/activate"),
            json!({"code": totp(&secret, s.now_secs())}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["valid_until"], "2023-11-14T22:15:35Z", "{b}");
    assert_eq!(b["valid_from"], Value::Null, "{b}");

    s.clock.advance_secs(30);
    assert_eq!(
        validate(&s, &validator, "ana", &totp(&secret, s.now_secs())).await,
        "accept"
    );

    // Past valid_until the right code is refused.
    s.clock.advance_secs(120);
    assert_eq!(
        validate(&s, &validator, "ana", &totp(&secret, s.now_secs())).await,
        "reject"
    );

    // An empty period is refused and changes nothing.
    let (st, b) = patch(
        &s,
        &serial,
        json!({"valid_from": "2023-11-14T23:00:00Z", "valid_until": "2023-11-14T22:00:00Z"}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "invalid_validity");
    let (st, b) = patch(&s, &serial, json!({"valid_until": "yesterday"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "invalid_time");
    let (_, t) = s.get(&format!("/v1/tokens/{serial}")).await;
    assert_eq!(t["valid_until"], "2023-11-14T22:15:35Z", "{t}");

    // Extended (RFC 3339 this time), the token works again; the label stays.
    let (st, b) = patch(&s, &serial, json!({"label": "phone"})).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, b) = patch(&s, &serial, json!({"valid_until": "2023-11-15T00:00:00Z"})).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["valid_until"], "2023-11-15T00:00:00Z");
    assert_eq!(b["label"], "phone");
    s.clock.advance_secs(30);
    assert_eq!(
        validate(&s, &validator, "ana", &totp(&secret, s.now_secs())).await,
        "accept"
    );

    // Enrolment checks the period too.
    let (st, b) = s
        .post(
            "/v1/users/ana/tokens",
            json!({"type": "totp", "valid_from": T0_SECS, "valid_until": T0_SECS}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "invalid_validity");
    s.stop().await;
}

async fn pskc_expiry_date_in_the_past_imports_a_token_that_does_not_validate(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let t = import_and_assign(
        &s,
        "EXPIRED1",
        "<StartDate>2006-05-01T00:00:00Z</StartDate><ExpiryDate>2006-05-31T00:00:00Z</ExpiryDate>",
        "ben",
    )
    .await;
    assert_eq!(t["valid_from"], "2006-05-01T00:00:00Z", "{t}");
    assert_eq!(t["valid_until"], "2006-05-31T00:00:00Z", "{t}");
    assert_eq!(validate(&s, &validator, "ben", HOTP_0).await, "reject");
    assert_eq!(validate(&s, &validator, "ben", HOTP_1).await, "reject");
    s.stop().await;
}

async fn pskc_start_date_in_the_future_validates_only_once_the_clock_passes_it(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    // One hour after T0; an xs:dateTime without a zone is UTC.
    let t = import_and_assign(
        &s,
        "LATER1",
        "<StartDate>2023-11-14T23:13:35</StartDate>",
        "cy",
    )
    .await;
    assert_eq!(t["valid_from"], "2023-11-14T23:13:35Z", "{t}");
    assert_eq!(validate(&s, &validator, "cy", HOTP_0).await, "reject");
    s.clock.advance_secs(3600);
    assert_eq!(validate(&s, &validator, "cy", HOTP_0).await, "accept");
    s.stop().await;
}

on_both_backends!(
    token_past_valid_until_rejects_a_right_code,
    pskc_expiry_date_in_the_past_imports_a_token_that_does_not_validate,
    pskc_start_date_in_the_future_validates_only_once_the_clock_passes_it,
);
