//! End to end over HTTP: the real server, real SQLite and PostgreSQL, codes
//! computed independently, a clock moved by the test.

mod common;

use common::{Backend, TestServer, hotp, totp};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn audit_reasons(s: &TestServer, username: &str) -> Vec<String> {
    let (st, b) = s
        .get(&format!(
            "/v1/audit?username={username}&event=validate&limit=1000"
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

async fn enroll_qr_activate_validate_replay_lockout_unlock(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let helpdesk = s.api_key("helpdesk").await;
    s.create_user("alice").await;

    // Enroll: pending, the seed and Key URI shown once.
    let (st, b) = s
        .post(
            "/v1/users/alice/tokens",
            json!({"type": "totp", "label": "phone"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["state"], "pending");
    let serial = b["serial"].as_str().unwrap().to_owned();
    let secret = b["secret"].as_str().unwrap().to_owned();
    let uri = b["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Ichido:alice?"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");

    // QR of the pending token.
    let res = s
        .http
        .get(format!("{}/v1/tokens/{serial}/qr.svg", s.base))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert!(res.text().await.unwrap().contains("<svg"));
    let res = s
        .http
        .get(format!("{}/v1/tokens/{serial}/qr.png", s.base))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.bytes().await.unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));

    // A pending token does not validate.
    let code = totp(&secret, s.now_secs());
    assert_eq!(
        s.validate(&validator, "alice", &code).await,
        json!({"result": "reject"})
    );

    // Activation needs a code from the token.
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/activate"),
            json!({"code": "000000"}),
        )
        .await;
    let wrong_is_right = code == "000000";
    if !wrong_is_right {
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert_eq!(b["error"]["code"], "invalid_code");
    }
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/activate"),
            json!({"code": code}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "active");
    assert!(
        b.get("secret").is_none(),
        "the seed never leaves again: {b}"
    );
    let (st, b) = s.get(&format!("/v1/tokens/{serial}/qr.svg")).await;
    assert_eq!(st, StatusCode::CONFLICT, "{b}");

    // The activation code was used; the next step's code is accepted once.
    assert_eq!(
        s.validate(&validator, "alice", &code).await,
        json!({"result": "reject"})
    );
    s.clock.advance_secs(30);
    let code = totp(&secret, s.now_secs());
    assert_eq!(
        s.validate(&validator, "alice", &code).await,
        json!({"result": "accept", "serial": serial})
    );
    assert_eq!(
        s.validate(&validator, "alice", &code).await,
        json!({"result": "reject"})
    );
    assert_eq!(audit_reasons(&s, "alice").await[0], "replay");

    // Ten failures lock the user; then even a good code is refused.
    for _ in 0..10 {
        assert_eq!(
            s.validate(&validator, "alice", "12345").await["result"],
            "reject"
        );
    }
    let (_, u) = s.get("/v1/users/alice").await;
    assert!(u["locked_until"].is_string(), "{u}");
    s.clock.advance_secs(30);
    let good = totp(&secret, s.now_secs());
    assert_eq!(
        s.validate(&validator, "alice", &good).await,
        json!({"result": "reject"})
    );
    assert_eq!(audit_reasons(&s, "alice").await[0], "locked");

    // The lock lifts by itself after ten minutes.
    s.clock.advance_secs(600);
    let good = totp(&secret, s.now_secs());
    assert_eq!(
        s.validate(&validator, "alice", &good).await["result"],
        "accept"
    );

    // Locked again, then unlocked at once by the helpdesk.
    for _ in 0..10 {
        s.validate(&validator, "alice", "99999").await;
    }
    let (st, b) = s
        .call("POST", "/v1/users/alice/unlock", Some(&helpdesk), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert!(b["locked_until"].is_null());
    s.clock.advance_secs(30);
    let good = totp(&secret, s.now_secs());
    assert_eq!(
        s.validate(&validator, "alice", &good).await["result"],
        "accept"
    );

    // The history shows the sign-ins with their address.
    let (st, h) = s.get("/v1/users/alice/history?limit=5").await;
    assert_eq!(st, StatusCode::OK);
    let first = &h["events"][0];
    assert_eq!(first["result"], "accept");
    assert_eq!(first["client_ip"], "127.0.0.1");
    s.stop().await;
}

async fn unknown_user_and_wrong_code_look_the_same(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let (_, secret) = s.user_with_totp("bob").await;
    s.create_user("no-token").await;
    let wrong = if totp(&secret, s.now_secs()) == "123456" {
        "654321"
    } else {
        "123456"
    };
    let answers = [
        s.validate(&validator, "nobody", wrong).await,
        s.validate(&validator, "bob", wrong).await,
        s.validate(&validator, "bob", "not-a-code").await,
        s.validate(&validator, "no-token", wrong).await,
    ];
    for a in &answers {
        assert_eq!(a, &json!({"result": "reject"}));
    }
    let reasons: Vec<_> = s.get("/v1/audit?event=validate").await.1["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        reasons,
        [
            "no_active_token",
            "wrong_code",
            "wrong_code",
            "unknown_user"
        ]
    );
    s.stop().await;
}

async fn roles_limit_what_a_key_can_do(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let helpdesk = s.api_key("helpdesk").await;
    s.user_with_totp("carol").await;

    let (st, b) = s.call("GET", "/v1/users", Some(&validator), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(b["error"]["code"], "forbidden");
    let (st, _) = s.call("GET", "/v1/users", Some(&helpdesk), None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .call(
            "POST",
            "/v1/users",
            Some(&helpdesk),
            Some(json!({"username": "x"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s
        .call(
            "POST",
            "/v1/users/carol/tokens",
            Some(&helpdesk),
            Some(json!({"type": "totp"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, b) = s.call("GET", "/v1/users", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{b}");
    let (st, _) = s
        .call("GET", "/v1/users", Some("ichido_not-a-real-key"), None)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = s
        .call(
            "POST",
            "/v1/validate",
            None,
            Some(json!({"username": "carol", "code": "123456"})),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    s.stop().await;
}

async fn concurrent_validations_of_one_code_accept_exactly_once(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let (_, secret) = s.user_with_totp("dave").await;
    for round in 0..3 {
        s.clock.advance_secs(30);
        let code = totp(&secret, s.now_secs());
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (http, base, key, code) = (
                s.http.clone(),
                s.base.clone(),
                validator.clone(),
                code.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let r = http
                    .post(format!("{base}/v1/validate"))
                    .bearer_auth(key)
                    .json(&json!({"username": "dave", "code": code}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                r.json::<Value>().await.unwrap()["result"] == "accept"
            }));
        }
        let mut accepts = 0;
        for t in tasks {
            accepts += usize::from(t.await.unwrap());
        }
        assert_eq!(
            accepts, 1,
            "round {round}: one code, fifty requests, exactly one accept"
        );
        // The 49 replays count as failures and lock the user; start afresh.
        s.call(
            "POST",
            "/v1/users/dave/unlock",
            Some(&s.admin.clone()),
            None,
        )
        .await;
    }
    s.stop().await;
}

async fn bad_input_gets_a_clear_4xx(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    s.create_user("erin").await;
    let cases: Vec<(&str, &str, Value, StatusCode, &str)> = vec![
        (
            "POST",
            "/v1/users",
            json!({"username": "x", "role": "admin"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "POST",
            "/v1/users",
            json!({"username": 7}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "POST",
            "/v1/users",
            json!({"username": "bad name!"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_username",
        ),
        (
            "POST",
            "/v1/users",
            json!({"username": "erin"}),
            StatusCode::CONFLICT,
            "user_exists",
        ),
        (
            "POST",
            "/v1/users",
            json!({"username": "f", "email": "nope"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_email",
        ),
        (
            "POST",
            "/v1/users/erin/tokens",
            json!({"type": "push"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_type",
        ),
        (
            "POST",
            "/v1/users/erin/tokens",
            json!({"type": "totp", "algorithm": "md5"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_algorithm",
        ),
        (
            "POST",
            "/v1/users/erin/tokens",
            json!({"type": "totp", "digits": 9}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_digits",
        ),
        (
            "POST",
            "/v1/users/erin/tokens",
            json!({"type": "totp", "period": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_period",
        ),
        (
            "POST",
            "/v1/users/erin/tokens",
            json!({"type": "totp", "digits": -1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "POST",
            "/v1/users/nobody/tokens",
            json!({"type": "totp"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "GET",
            "/v1/tokens/TOTP0000",
            Value::Null,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "GET",
            "/v1/tokens/bad%20serial",
            Value::Null,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_serial",
        ),
        (
            "GET",
            "/v1/users?limit=abc",
            Value::Null,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "GET",
            "/v1/audit?since=yesterday",
            Value::Null,
            StatusCode::BAD_REQUEST,
            "invalid_time",
        ),
        (
            "GET",
            "/v1/nothing-here",
            Value::Null,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "POST",
            "/v1/validate",
            json!({"username": "erin"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let body = (!body.is_null()).then_some(body);
        let (st, b) = s.call(method, path, Some(&s.admin.clone()), body).await;
        assert_eq!(
            (st, b["error"]["code"].as_str()),
            (status, Some(code)),
            "{method} {path}: {b}"
        );
        assert!(
            b["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }

    // Not JSON, no content type, too large.
    let url = format!("{}/v1/users", s.base);
    let r = s
        .http
        .post(&url)
        .bearer_auth(&s.admin)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_json"
    );
    let r = s
        .http
        .post(&url)
        .bearer_auth(&s.admin)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = json!({"username": "x".repeat(200_000)});
    let r = s
        .http
        .post(&url)
        .bearer_auth(&s.admin)
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "body_too_large"
    );

    // Nothing half-written: only erin exists.
    let (_, users) = s.get("/v1/users").await;
    assert_eq!(users["users"].as_array().unwrap().len(), 1, "{users}");
    s.stop().await;
}

async fn hotp_look_ahead_and_resync(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    s.create_user("frank").await;
    let (serial, secret) = s.enroll("frank", json!({"type": "hotp"})).await;
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/activate"),
            json!({"code": hotp(&secret, 0)}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");

    // Within the look-ahead of 10: accepted, and earlier counters are dead.
    assert_eq!(
        s.validate(&validator, "frank", &hotp(&secret, 5)).await["result"],
        "accept"
    );
    assert_eq!(
        s.validate(&validator, "frank", &hotp(&secret, 3)).await["result"],
        "reject"
    );
    // Beyond the look-ahead: rejected until resynchronised.
    assert_eq!(
        s.validate(&validator, "frank", &hotp(&secret, 40)).await["result"],
        "reject"
    );
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/resync"),
            json!({"code1": hotp(&secret, 100), "code2": hotp(&secret, 101)}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(
        s.validate(&validator, "frank", &hotp(&secret, 101)).await["result"],
        "reject"
    );
    assert_eq!(
        s.validate(&validator, "frank", &hotp(&secret, 102)).await["result"],
        "accept"
    );
    // Two codes that are not consecutive do not resync.
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/resync"),
            json!({"code1": hotp(&secret, 200), "code2": hotp(&secret, 202)}),
        )
        .await;
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("resync_failed"))
    );
    s.stop().await;
}

async fn totp_drift_is_learned_and_resync_finds_a_far_clock(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let (serial, secret) = s.user_with_totp("gina").await;
    // The phone runs one step ahead: accepted, and learned.
    s.clock.advance_secs(30);
    let ahead = totp(&secret, s.now_secs() + 30);
    assert_eq!(
        s.validate(&validator, "gina", &ahead).await["result"],
        "accept"
    );
    // Now two steps ahead: inside the window around the learned drift.
    s.clock.advance_secs(30);
    let ahead2 = totp(&secret, s.now_secs() + 60);
    assert_eq!(
        s.validate(&validator, "gina", &ahead2).await["result"],
        "accept"
    );
    // A phone an hour fast is out of any window until resynchronised.
    s.clock.advance_secs(30);
    let fast = s.now_secs() + 3600;
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/resync"),
            json!({"code1": totp(&secret, fast), "code2": totp(&secret, fast + 30)}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    // code2 itself is used; the phone's next code is accepted.
    s.clock.advance_secs(30);
    assert_eq!(
        s.validate(&validator, "gina", &totp(&secret, s.now_secs() + 3600))
            .await["result"],
        "reject"
    );
    s.clock.advance_secs(30);
    assert_eq!(
        s.validate(&validator, "gina", &totp(&secret, s.now_secs() + 3600))
            .await["result"],
        "accept"
    );
    // Steps never go back: a code from before the last accepted one is refused.
    assert_eq!(
        s.validate(&validator, "gina", &totp(&secret, s.now_secs()))
            .await["result"],
        "reject"
    );
    s.stop().await;
}

async fn token_life_cycle_disable_enable_revoke(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let helpdesk = s.api_key("helpdesk").await;
    let (serial, secret) = s.user_with_totp("hank").await;
    let (st, b) = s
        .call(
            "POST",
            &format!("/v1/tokens/{serial}/disable"),
            Some(&helpdesk),
            None,
        )
        .await;
    assert_eq!(
        (st, b["state"].as_str()),
        (StatusCode::OK, Some("disabled"))
    );
    s.clock.advance_secs(30);
    assert_eq!(
        s.validate(&validator, "hank", &totp(&secret, s.now_secs()))
            .await["result"],
        "reject"
    );
    let (st, _) = s
        .call(
            "POST",
            &format!("/v1/tokens/{serial}/enable"),
            Some(&helpdesk),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "enabling is for admins");
    let (st, b) = s
        .post(&format!("/v1/tokens/{serial}/enable"), json!({}))
        .await;
    assert_eq!(
        (st, b["state"].as_str()),
        (StatusCode::OK, Some("active")),
        "{b}"
    );
    s.clock.advance_secs(30);
    assert_eq!(
        s.validate(&validator, "hank", &totp(&secret, s.now_secs()))
            .await["result"],
        "accept"
    );
    let (st, b) = s
        .call(
            "PATCH",
            &format!("/v1/tokens/{serial}"),
            Some(&s.admin.clone()),
            Some(json!({"label": "old phone"})),
        )
        .await;
    assert_eq!(
        (st, b["label"].as_str()),
        (StatusCode::OK, Some("old phone"))
    );
    let (st, b) = s
        .call(
            "DELETE",
            &format!("/v1/tokens/{serial}"),
            Some(&s.admin.clone()),
            None,
        )
        .await;
    assert_eq!((st, b["state"].as_str()), (StatusCode::OK, Some("revoked")));
    s.clock.advance_secs(30);
    assert_eq!(
        s.validate(&validator, "hank", &totp(&secret, s.now_secs()))
            .await["result"],
        "reject"
    );
    let (st, b) = s
        .post(&format!("/v1/tokens/{serial}/enable"), json!({}))
        .await;
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state"))
    );
    let (_, list) = s.get("/v1/users/hank/tokens").await;
    assert_eq!(list["tokens"][0]["state"], "revoked");
    s.stop().await;
}

async fn pending_enrollment_expires(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    s.create_user("ivan").await;
    let (serial, secret) = s
        .enroll(
            "ivan",
            json!({"type": "totp", "algorithm": "SHA256", "digits": 8}),
        )
        .await;
    s.clock.advance_secs(601);
    let code = common::totp_with(&secret, s.now_secs(), totp_rs::Algorithm::SHA256, 8, 30);
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/activate"),
            json!({"code": code}),
        )
        .await;
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("enrollment_expired")),
        "{b}"
    );
    let (st, _) = s.get(&format!("/v1/tokens/{serial}/qr.png")).await;
    assert_eq!(st, StatusCode::CONFLICT);
    s.stop().await;
}

async fn user_update_and_delete(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let (serial, secret) = s.user_with_totp("judy").await;
    let admin = s.admin.clone();
    let (st, b) = s
        .call(
            "PATCH",
            "/v1/users/judy",
            Some(&admin),
            Some(json!({"email": "judy@example.com", "password": "hunter2!"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["email"], "judy@example.com");
    assert_eq!(b["has_password"], true);
    // With a password in the request, both factors must be right.
    s.clock.advance_secs(30);
    let code = totp(&secret, s.now_secs());
    let body = json!({"username": "judy", "code": code, "password": "wrong"});
    let (_, r) = s
        .call("POST", "/v1/validate", Some(&validator), Some(body))
        .await;
    assert_eq!(r, json!({"result": "reject"}));
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let body = json!({"username": "judy", "code": wrong, "password": "hunter2!"});
    let (_, r) = s
        .call("POST", "/v1/validate", Some(&validator), Some(body))
        .await;
    assert_eq!(
        r,
        json!({"result": "reject"}),
        "the caller cannot tell which factor failed"
    );
    assert_eq!(
        audit_reasons(&s, "judy").await[..2],
        ["wrong_code_after_password", "wrong_password"],
        "the audit log can"
    );
    let body = json!({"username": "judy", "code": code, "password": "hunter2!"});
    let (_, r) = s
        .call("POST", "/v1/validate", Some(&validator), Some(body))
        .await;
    assert_eq!(r["result"], "accept");
    // null clears a field.
    let (_, b) = s
        .call(
            "PATCH",
            "/v1/users/judy",
            Some(&admin),
            Some(json!({"email": null})),
        )
        .await;
    assert!(b["email"].is_null());
    let (st, _) = s.call("DELETE", "/v1/users/judy", Some(&admin), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s.get("/v1/users/judy").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, t) = s.get(&format!("/v1/tokens/{serial}")).await;
    assert_eq!(t["state"], "revoked");
    assert!(t["username"].is_null());
    s.stop().await;
}

async fn users_list_filters_and_pages(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    for name in ["ann", "anna", "bert", "hanna", "zed"] {
        s.create_user(name).await;
    }
    let (_, b) = s.get("/v1/users?query=ann").await;
    let names: Vec<_> = b["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ann", "anna", "hanna"]);
    let (_, p1) = s.get("/v1/users?limit=2").await;
    assert_eq!(p1["users"].as_array().unwrap().len(), 2);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = s.get(&format!("/v1/users?limit=2&cursor={cursor}")).await;
    assert_eq!(p2["users"][0]["username"], "bert");
    s.stop().await;
}

on_both_backends!(
    enroll_qr_activate_validate_replay_lockout_unlock,
    unknown_user_and_wrong_code_look_the_same,
    roles_limit_what_a_key_can_do,
    concurrent_validations_of_one_code_accept_exactly_once,
    bad_input_gets_a_clear_4xx,
    hotp_look_ahead_and_resync,
    totp_drift_is_learned_and_resync_finds_a_far_clock,
    token_life_cycle_disable_enable_revoke,
    pending_enrollment_expires,
    user_update_and_delete,
    users_list_filters_and_pages,
);
