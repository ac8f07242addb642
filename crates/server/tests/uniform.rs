//! Answers that must look alike also cost alike. For an unknown user, a
//! locked one, one without a password, a wrong password and the right
//! password with a wrong code, each path answers the same status and the
//! same bytes, and causes the same work: store reads, writes and Argon2id
//! evaluations, counted per request by the server itself
//! (`ichido_request_work_total`), so no stopwatch is involved.

mod common;

use common::{Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Reads, writes and password evaluations of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Work {
    reads: u64,
    writes: u64,
    password_hashes: u64,
}

/// The work counted so far for `route`, from `/metrics`.
async fn work_so_far(s: &TestServer, route: &str) -> Work {
    let (st, body) = s.call("GET", "/metrics", None, None).await;
    assert_eq!(st, StatusCode::OK);
    let text = body.as_str().expect("metrics are text").to_owned();
    let count = |kind: &str| -> u64 {
        text.lines()
            .filter(|l| l.starts_with("ichido_request_work_total{"))
            .filter(|l| l.contains(&format!("route=\"{route}\"")))
            .filter(|l| l.contains(&format!("work=\"{kind}\"")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    };
    Work {
        reads: count("reads"),
        writes: count("writes"),
        password_hashes: count("password_hashes"),
    }
}

/// One request: its status, its body as bytes, and the work it caused.
async fn measured(
    s: &TestServer,
    route: &str,
    key: &str,
    body: Value,
) -> (StatusCode, String, Work) {
    let before = work_so_far(s, route).await;
    let res = s
        .http
        .post(format!("{}{route}", s.base))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = res.status();
    let text = res.text().await.unwrap();
    let after = work_so_far(s, route).await;
    let work = Work {
        reads: after.reads - before.reads,
        writes: after.writes - before.writes,
        password_hashes: after.password_hashes - before.password_hashes,
    };
    (status, text, work)
}

/// The users whose answers must not differ: the last one (the right
/// password) only where the request carries a password and a code.
const WHO: [&str; 5] = ["ghost", "locked", "nopass", "alice", "alice-right-pw"];

struct Fixture {
    server: TestServer,
    validator: String,
}

async fn fixture(backend: Backend) -> Option<Fixture> {
    let s = TestServer::start_with(backend, |c| {
        c.policy.max_failures = 3;
    })
    .await?;
    let validator = s.api_key("validator").await;
    for (name, password) in [
        ("alice", Some("pw-of-alice")),
        ("locked", Some("pw-of-locked")),
        ("nopass", None),
    ] {
        let mut body = json!({"username": name, "email": format!("{name}@example.com")});
        if let Some(pw) = password {
            body["password"] = json!(pw);
        }
        let (st, b) = s.post("/v1/users", body).await;
        assert_eq!(st, StatusCode::CREATED, "{b}");
        let (serial, secret) = s.enroll(name, json!({"type": "totp"})).await;
        let code = common::totp(&secret, s.now_secs());
        let (st, b) = s
            .post(
                &format!("/v1/tokens/{serial}/activate"),
                json!({"code": code}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{b}");
    }
    for _ in 0..3 {
        s.validate(&validator, "locked", "000000").await;
    }
    let (_, b) = s.get("/v1/users/locked").await;
    assert!(
        b["locked_until"].is_string(),
        "the fixture's user is locked: {b}"
    );
    // The first request with a key reads the key; later ones find it cached.
    s.validate(&validator, "warm-up", "000000").await;
    Some(Fixture {
        server: s,
        validator,
    })
}

/// `(username, password)` as each case sends them.
fn who(case: &str) -> (&str, &str) {
    match case {
        "alice-right-pw" => ("alice", "pw-of-alice"),
        other => (other, "wrong-password"),
    }
}

async fn all_alike(
    f: &Fixture,
    route: &str,
    cases: &[&str],
    body: impl Fn(&str, &str) -> Value,
    mask: impl Fn(&str) -> String,
) {
    let mut seen: Vec<(&str, StatusCode, String, Work)> = Vec::new();
    for case in cases {
        let (username, password) = who(case);
        let (st, text, work) =
            measured(&f.server, route, &f.validator, body(username, password)).await;
        seen.push((case, st, mask(&text), work));
    }
    let (first, st0, body0, work0) = &seen[0];
    for (case, st, text, work) in &seen[1..] {
        assert_eq!(
            (st, text),
            (st0, body0),
            "{route}: {case} answers unlike {first}"
        );
        assert_eq!(work, work0, "{route}: {case} costs unlike {first}");
    }
}

/// Random ids differ from answer to answer; their shape must not.
fn mask_id(field: &'static str) -> impl Fn(&str) -> String {
    move |text: &str| {
        let mut v: Value = serde_json::from_str(text).expect("a JSON answer");
        if let Some(id) = v.get_mut(field) {
            let s = id.as_str().unwrap_or_default();
            *id = json!(format!("<{} chars>", s.len()));
        }
        v.to_string()
    }
}

async fn validate_with_a_password_costs_the_same_for_everyone(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    all_alike(
        &f,
        "/v1/validate",
        &WHO,
        |u, pw| json!({"username": u, "password": pw, "code": "000000"}),
        |t| t.to_owned(),
    )
    .await;
    f.server.stop().await;
}

async fn validate_without_a_password_costs_the_same_for_everyone(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    all_alike(
        &f,
        "/v1/validate",
        &WHO[..4],
        |u, _| json!({"username": u, "code": "000000"}),
        |t| t.to_owned(),
    )
    .await;
    f.server.stop().await;
}

async fn a_backup_code_guess_costs_the_same_for_everyone(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    all_alike(
        &f,
        "/v1/validate",
        &WHO,
        |u, pw| json!({"username": u, "password": pw, "code": "ABCD-EFGH-JKMN"}),
        |t| t.to_owned(),
    )
    .await;
    f.server.stop().await;
}

async fn validate_with_a_challenge_id_costs_the_same_for_everyone(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    all_alike(
        &f,
        "/v1/validate",
        &WHO,
        |u, pw| json!({"username": u, "password": pw, "code": "000000", "challenge_id": "c0ffee"}),
        |t| t.to_owned(),
    )
    .await;
    f.server.stop().await;
}

async fn challenges_cost_the_same_for_everyone_without_the_right_password(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    all_alike(
        &f,
        "/v1/challenges",
        &WHO[..4],
        |u, pw| json!({"username": u, "password": pw}),
        mask_id("challenge_id"),
    )
    .await;
    f.server.stop().await;
}

async fn a_challenge_without_a_password_is_refused_alike_for_every_name(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    all_alike(
        &f,
        "/v1/challenges",
        &WHO[..4],
        |u, _| json!({"username": u}),
        |t| t.to_owned(),
    )
    .await;
    let (st, b) = f
        .server
        .call(
            "POST",
            "/v1/challenges",
            Some(&f.validator),
            Some(json!({"username": "alice"})),
        )
        .await;
    assert_eq!(
        (st, &b["error"]["code"]),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!("password_required")
        )
    );
    f.server.stop().await;
}

async fn reset_requests_cost_the_same_for_everyone(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    // "alice" has an address and gets a link; the others do not.
    all_alike(
        &f,
        "/v1/reset-requests",
        &["ghost", "nopass", "alice", "locked"],
        |u, _| json!({"username": u}),
        mask_id("request_id"),
    )
    .await;
    f.server.stop().await;
}

/// What an application passes for a browser's sign-in.
fn signin_body(username: &str, password: &str) -> Value {
    json!({"username": username, "password": password, "app": "webmail",
           "client": {"ip": "192.0.2.7", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"}})
}

async fn signin_rejects_cost_the_same_for_everyone(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    all_alike(&f, "/v1/signin", &WHO[..4], signin_body, |t| t.to_owned()).await;
    f.server.stop().await;
}

async fn signin_rejects_with_a_device_token_cost_the_same_for_everyone(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    all_alike(
        &f,
        "/v1/signin",
        &WHO[..4],
        |u, pw| {
            let mut body = signin_body(u, pw);
            body["device_token"] = json!("c29tZS1kZXZpY2U.c29tZS1zZWNyZXQ");
            body
        },
        |t| t.to_owned(),
    )
    .await;
    f.server.stop().await;
}

async fn a_password_check_is_one_argon2_evaluation_on_every_path(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    // (route, body, writes): a code shaped like a backup code is also tried
    // as one, in a write of its own that consumes it only if it is right.
    for (route, body, writes) in [
        (
            "/v1/validate",
            json!({"username": "alice", "password": "x", "code": "000000"}),
            1,
        ),
        (
            "/v1/validate",
            json!({"username": "ghost", "password": "x", "code": "ABCD-EFGH-JKMN"}),
            2,
        ),
        (
            "/v1/challenges",
            json!({"username": "ghost", "password": "x"}),
            1,
        ),
        ("/v1/signin", signin_body("ghost", "x"), 1),
    ] {
        let (_, _, work) = measured(&f.server, route, &f.validator, body).await;
        assert_eq!(work.password_hashes, 1, "{route}");
        assert_eq!(work.writes, writes, "{route}: the refusal is one write");
    }
    f.server.stop().await;
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::Backend::Sqlite).await } )* }
        mod postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::Backend::Postgres).await } )* }
    };
}

on_both_backends!(
    validate_with_a_password_costs_the_same_for_everyone,
    validate_without_a_password_costs_the_same_for_everyone,
    validate_with_a_challenge_id_costs_the_same_for_everyone,
    a_backup_code_guess_costs_the_same_for_everyone,
    challenges_cost_the_same_for_everyone_without_the_right_password,
    a_challenge_without_a_password_is_refused_alike_for_every_name,
    reset_requests_cost_the_same_for_everyone,
    signin_rejects_cost_the_same_for_everyone,
    signin_rejects_with_a_device_token_cost_the_same_for_everyone,
    a_password_check_is_one_argon2_evaluation_on_every_path,
);
