//! API keys can be listed (never their secret) and revoked, by the API and
//! the CLI, and a revoked key is refused at once by every node sharing the
//! database.

mod common;

use std::sync::Arc;

use common::{Backend, TestServer, settings};
use ichido_domain::Clock;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A second node on the same database, with its own HTTP listener.
async fn second_node(s: &TestServer) -> (ichido_server::app::Running, String) {
    let a = s.running.as_ref().unwrap();
    let mut config = (*a.state.config).clone();
    config.listen = "127.0.0.1:0".parse().unwrap();
    let node = ichido_server::app::start(config, Arc::new(s.clock.clone()), settings())
        .await
        .expect("second node starts");
    let base = format!("http://{}", node.addr);
    (node, base)
}

async fn validate_on(s: &TestServer, base: &str, key: &str) -> StatusCode {
    s.http
        .post(format!("{base}/v1/validate"))
        .bearer_auth(key)
        .json(&json!({"username": "alice", "code": "123456"}))
        .send()
        .await
        .unwrap()
        .status()
}

fn key_named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == name)
        .unwrap_or_else(|| panic!("no key {name} in {list}"))
}

async fn api_keys_are_listed_without_their_secret(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let validator = s.api_key("validator").await;
    let (st, b) = s.get("/v1/api-keys").await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let text = b.to_string();
    assert!(!text.contains(&validator), "{b}");
    assert!(!text.contains(&s.admin), "{b}");
    assert!(!text.contains("ichido_"), "{b}");
    assert!(!text.contains("hash"), "{b}");
    let admin = key_named(&b, "bootstrap-admin");
    assert_eq!(admin["role"], "admin");
    assert!(admin["revoked_at"].is_null());
    let v = key_named(&b, "validator");
    assert_eq!(v["role"], "validator");
    let mut fields: Vec<&String> = v.as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(fields, ["created_at", "id", "name", "revoked_at", "role"]);
    s.stop().await;
}

async fn a_revoked_key_is_refused_at_once_by_every_node(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    s.create_user("alice").await;
    let validator = s.api_key("validator").await;
    let (node_b, base_b) = second_node(&s).await;
    // Both nodes know the key (and node B has just used it).
    assert_eq!(validate_on(&s, &s.base, &validator).await, StatusCode::OK);
    assert_eq!(validate_on(&s, &base_b, &validator).await, StatusCode::OK);

    let (_, list) = s.get("/v1/api-keys").await;
    let id = key_named(&list, "validator")["id"].as_i64().unwrap();
    let (st, b) = s
        .call(
            "DELETE",
            &format!("/v1/api-keys/{id}"),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let now_ms = s.clock.now().0;
    assert_eq!(
        b["revoked_at"],
        ichido_server::http::wire::rfc3339(ichido_domain::Timestamp(now_ms))
    );

    // No waiting for a cache to expire, on either node.
    assert_eq!(
        validate_on(&s, &base_b, &validator).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        validate_on(&s, &s.base, &validator).await,
        StatusCode::UNAUTHORIZED
    );
    // The admin key still works; revoking twice or an unknown id is a clear error.
    let (st, b) = s
        .call(
            "DELETE",
            &format!("/v1/api-keys/{id}"),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_revoked"))
    );
    let (st, b) = s
        .call("DELETE", "/v1/api-keys/999999", Some(&s.admin), None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{b}");
    let (st, b) = s
        .call("DELETE", "/v1/api-keys/abc", Some(&s.admin), None)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");

    let (_, audit) = s.get("/v1/audit?event=apikey.revoke").await;
    let events = audit["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{audit}");
    assert_eq!(events[0]["reason"], format!("{id}:validator:validator"));
    node_b.stop().await;
    s.stop().await;
}

on_both_backends!(
    api_keys_are_listed_without_their_secret,
    a_revoked_key_is_refused_at_once_by_every_node,
);

/// The CLI lists keys without secrets and revokes by name, and the running
/// server refuses the key at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cli_lists_and_revokes_keys_by_name() {
    let Some(s) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    s.create_user("alice").await;
    let gateway = {
        use ichido_domain::audit::Context;
        let r = s.running.as_ref().unwrap();
        r.state
            .ichido
            .create_api_key(
                &Context::system(),
                "vpn-gateway",
                ichido_domain::user::Role::Validator,
            )
            .await
            .unwrap()
            .secret
            .expose()
            .to_owned()
    };
    let data_dir = s.running.as_ref().unwrap().state.config.data_dir.clone();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ichido"))
            .args(args)
            .arg("--data-dir")
            .arg(&data_dir)
            .output()
            .expect("the ichido binary runs");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let listed = run(&["admin-key", "list"]);
    assert!(
        listed.contains("vpn-gateway") && listed.contains("validator"),
        "{listed}"
    );
    assert!(!listed.contains("ichido_"), "{listed}");
    assert_eq!(validate_on(&s, &s.base, &gateway).await, StatusCode::OK);
    let revoked = run(&["admin-key", "revoke", "vpn-gateway"]);
    assert!(revoked.contains("vpn-gateway"), "{revoked}");
    assert_eq!(
        validate_on(&s, &s.base, &gateway).await,
        StatusCode::UNAUTHORIZED
    );
    s.stop().await;
}
