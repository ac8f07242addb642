//! The operational surface: OpenAPI, health, readiness, metrics, rate limits.

mod common;

use common::{Backend, TestServer, totp};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn openapi_document_is_generated_from_every_route() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let (st, doc) = s.call("GET", "/openapi.json", None, None).await;
    assert_eq!(st, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/v1/users",
        "/v1/users/{username}",
        "/v1/users/{username}/unlock",
        "/v1/users/{username}/history",
        "/v1/users/{username}/tokens",
        "/v1/tokens/{serial}",
        "/v1/tokens/{serial}/activate",
        "/v1/tokens/{serial}/resync",
        "/v1/tokens/{serial}/qr.svg",
        "/v1/validate",
        "/v1/audit",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(paths.contains_key(p), "{p} missing from /openapi.json");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_writer_makes_readyz_fail_and_writes_recover_after_restart() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let db = s.running.as_ref().unwrap().state.ichido.store.clone();
    assert_eq!(s.call("GET", "/readyz", None, None).await.0, StatusCode::OK);
    let release = db.kill_writer().await;
    let (st, body) = s.call("GET", "/readyz", None, None).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(!db.writer_health().is_up());
    drop(release);
    // The restart is a task switch away: wait for it, not for a time.
    while !db.writer_health().is_up() {
        tokio::task::yield_now().await;
    }
    assert_eq!(db.writer_health().restarts(), 1);
    assert_eq!(s.call("GET", "/readyz", None, None).await.0, StatusCode::OK);
    let (_, metrics) = s.call("GET", "/metrics", None, None).await;
    let metrics = metrics.as_str().unwrap_or_default().to_owned();
    assert!(
        metrics.contains("ichido_database_writer_restarts 1"),
        "{metrics}"
    );
    assert!(metrics.contains("ichido_database_writer_up 1"), "{metrics}");
    // Writes go through the new writer: a user is created and audited.
    let (st, body) = s
        .post("/v1/users", json!({"username": "after-restart"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    s.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let validator = s.api_key("validator").await;
    assert_eq!(
        s.call("GET", "/healthz", None, None).await.0,
        StatusCode::OK
    );
    assert_eq!(s.call("GET", "/readyz", None, None).await.0, StatusCode::OK);
    let (_, secret) = s.user_with_totp("kim").await;
    s.clock.advance_secs(30);
    s.validate(&validator, "kim", &totp(&secret, s.now_secs()))
        .await;
    s.validate(&validator, "kim", "000000").await;
    s.validate(&validator, "kim", "000001").await;
    let text = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("ichido_validations_total{result=\"accept\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("ichido_validations_total{result=\"reject\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("ichido_validation_duration_seconds_count 3"),
        "{text}"
    );
    s.stop().await;
}

#[tokio::test]
async fn rate_limit_per_address_answers_429_with_retry_after() {
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.rate_limit.per_second = 1;
        c.rate_limit.burst = 3;
    })
    .await
    .unwrap();
    let validator = s.api_key("validator").await;
    s.create_user("lee").await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = s
            .http
            .post(format!("{}/v1/validate", s.base))
            .bearer_auth(&validator)
            .json(&json!({"username": "lee", "code": "123456"}))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().contains_key("retry-after"));
        }
        statuses.push(r.status());
    }
    assert_eq!(&statuses[..3], &[StatusCode::OK; 3]);
    assert_eq!(statuses[4], StatusCode::TOO_MANY_REQUESTS);
    s.stop().await;
}

#[tokio::test]
async fn every_change_is_in_the_audit_log_with_actor_and_address() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let (serial, _) = s.user_with_totp("mia").await;
    let (_, b) = s.get("/v1/audit?limit=10").await;
    let actions: Vec<_> = b["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        &actions[..3],
        ["token.activate", "token.enroll", "user.create"]
    );
    let e = &b["events"][0];
    assert_eq!(e["serial"], serial);
    assert_eq!(e["username"], "mia");
    assert_eq!(e["actor"], "apikey:bootstrap-admin");
    assert_eq!(e["client_ip"], "127.0.0.1");
    assert_eq!(e["result"], "success");
    s.stop().await;
}

/// The audited address of the `user.create` event of a request that
/// carried `forwarded` as its `X-Forwarded-For`.
async fn audited_ip_with_forwarded_for(s: &TestServer, forwarded: &str) -> String {
    let r = s
        .http
        .post(format!("{}/v1/users", s.base))
        .bearer_auth(&s.admin)
        .header("x-forwarded-for", forwarded)
        .json(&json!({"username": format!("u{}", forwarded.len())}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, b) = s.get("/v1/audit?limit=1").await;
    assert_eq!(b["events"][0]["action"], "user.create");
    b["events"][0]["client_ip"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn spoofed_forwarded_for_from_an_untrusted_peer_is_not_audited() {
    // The deprecated switch alone used to believe anyone's header.
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.trust_forwarded_for = true;
        c.http.trusted_proxies =
            ichido_server::http::forwarded::TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
    })
    .await
    .unwrap();
    assert_eq!(
        audited_ip_with_forwarded_for(&s, "6.6.6.6").await,
        "127.0.0.1"
    );
    s.stop().await;
}

#[tokio::test]
async fn trusted_proxy_gives_the_rightmost_untrusted_hop() {
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.http.trusted_proxies =
            ichido_server::http::forwarded::TrustedProxies::parse(&["127.0.0.1", "10.0.0.0/8"])
                .unwrap();
    })
    .await
    .unwrap();
    // The client wrote 6.6.6.6; the edge proxy saw it at 203.0.113.7 and an
    // inner proxy (10.1.1.1) forwarded to us over loopback.
    let ip = audited_ip_with_forwarded_for(&s, "6.6.6.6, 203.0.113.7, 10.1.1.1").await;
    assert_eq!(ip, "203.0.113.7");
    s.stop().await;
}
