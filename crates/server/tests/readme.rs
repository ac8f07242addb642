//! Every example in README.md runs: the configuration blocks load without an
//! error or an unknown key, the webhook verifier accepts what the server
//! signs, and the curl walkthrough works call by call against a real server.

mod common;

use common::{Backend, TestServer, totp};
use ichido_server::config::{Config, ConfigArgs};
use reqwest::StatusCode;
use serde_json::Value;

const README: &str = include_str!("../../../README.md");

/// The fenced blocks of one language, in order.
fn blocks(lang: &str) -> Vec<String> {
    let fence = format!("```{lang}\n");
    let mut out = Vec::new();
    let mut rest = README;
    while let Some(start) = rest.find(&fence) {
        let body = &rest[start + fence.len()..];
        let end = body.find("```").expect("a closed block");
        out.push(body[..end].to_owned());
        rest = &body[end + 3..];
    }
    out
}

#[test]
fn readme_configuration_loads_as_written() {
    let toml = blocks("toml");
    assert_eq!(toml.len(), 1, "one configuration example");
    let sh = blocks("sh");
    let env_block = sh
        .iter()
        .find(|b| b.contains("ichido serve --config"))
        .expect("the block that starts the server with the example");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ichido.toml");
    std::fs::write(&file, &toml[0]).unwrap();
    // The *_FILE variables the README sets, each pointing at a file of ours.
    let mut vars = Vec::new();
    for word in env_block.split_whitespace() {
        if let Some((name, _)) = word.split_once('=')
            && name.starts_with("ICHIDO_")
        {
            let secret = dir.path().join(name);
            std::fs::write(&secret, format!("secret-of-{name}\n")).unwrap();
            vars.push((name.to_owned(), secret.display().to_string()));
        }
    }
    assert_eq!(vars.len(), 2, "{env_block}");
    let args = ConfigArgs {
        config: Some(file),
        ..Default::default()
    };
    let (config, warnings): (Config, _) = Config::load_from(&args, vars.into_iter())
        .unwrap_or_else(|e| panic!("README configuration: {e:#}"));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(config.issuer, "Example Corp");
    assert_eq!(
        config.smtp.password.as_ref().map(|p| p.expose()),
        Some("secret-of-ICHIDO_SMTP__PASSWORD_FILE")
    );
    assert!(config.notifications.webhook_secret.is_some());
}

/// The README's Python verifier, run on a request the server signed; skipped
/// where there is no python3.
#[test]
fn readme_webhook_verifier_accepts_what_the_server_signs() {
    let python = blocks("python");
    assert_eq!(python.len(), 1);
    let body = r#"{"event":"token_added","seq":42}"#;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let sig = ichido_server::delivery::webhook::sign(b"whsec-readme", now, body.as_bytes());
    let check = |ts: u64, sig: &str, body: &str| {
        format!(
            "{}\nimport sys\nok = verify(b'whsec-readme', {{'X-Ichido-Timestamp': '{ts}', \
             'X-Ichido-Signature': '{sig}'}}, {body:?}.encode())\nsys.exit(0 if ok else 3)\n",
            python[0]
        )
    };
    let run = |script: String| {
        std::process::Command::new("python3")
            .args(["-c", &script])
            .status()
    };
    let Ok(status) = run(check(now, &sig, body)) else {
        eprintln!("skipped: no python3");
        return;
    };
    assert!(status.success(), "a fresh, right signature is accepted");
    let altered = body.replace("42", "43");
    assert_eq!(run(check(now, &sig, &altered)).unwrap().code(), Some(3));
    let old = now - 301;
    let old_sig = ichido_server::delivery::webhook::sign(b"whsec-readme", old, body.as_bytes());
    assert_eq!(
        run(check(old, &old_sig, body)).unwrap().code(),
        Some(3),
        "replay window"
    );
}

/// One `curl` of the walkthrough: method, path and body.
struct Call {
    path: String,
    body: Option<String>,
}

fn walkthrough() -> Vec<Call> {
    walkthrough_of("/v1/validate")
}

/// The `curl` calls of the first shell block that mentions `needle`.
fn walkthrough_of(needle: &str) -> Vec<Call> {
    let block = blocks("sh")
        .into_iter()
        .find(|b| b.contains(needle))
        .expect("the walkthrough");
    let joined = block.replace("\\\n", " ");
    joined
        .lines()
        .filter(|l| l.trim_start().starts_with("curl "))
        .map(|l| {
            let url = l
                .split_whitespace()
                .find(|w| w.starts_with("http://127.0.0.1:8080/"))
                .expect("a URL");
            let body = l
                .split_once("-d '")
                .map(|(_, rest)| rest.split_once('\'').unwrap().0.to_owned());
            Call {
                path: url.trim_start_matches("http://127.0.0.1:8080").to_owned(),
                body,
            }
        })
        .collect()
}

async fn readme_walkthrough_runs_as_written(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let calls = walkthrough();
    assert_eq!(
        calls.len(),
        5,
        "create user, enroll, QR, activate, validate"
    );
    let mut serial = String::new();
    let mut secret = String::new();
    let mut last = Value::Null;
    for call in &calls {
        // The README's placeholders become this run's serial and codes.
        let path = call.path.replace("TOTP1A2B3C4D", &serial);
        let body = call.body.as_ref().map(|b| {
            let b = b.replace("123456", &totp(&secret, s.now_secs()));
            let b = if b.contains("654321") {
                s.clock.advance_secs(30);
                b.replace("654321", &totp(&secret, s.now_secs()))
            } else {
                b
            };
            serde_json::from_str::<Value>(&b).expect("JSON body")
        });
        let method = if body.is_some() { "POST" } else { "GET" };
        let (st, b) = s
            .call(method, &path, Some(&s.admin.clone()), body.clone())
            .await;
        assert!(st.is_success(), "{method} {path}: {st} {b}");
        if path.ends_with("/tokens") {
            serial = b["serial"].as_str().unwrap().to_owned();
            secret = b["secret"].as_str().unwrap().to_owned();
            assert_eq!(b["state"], "pending");
        }
        last = body.unwrap_or(Value::Null);
        if path == "/v1/validate" {
            assert_eq!(b["result"], "accept", "{b}");
            assert_eq!(b["serial"], serial.as_str());
        }
    }
    // "the same code again → reject"
    let (st, b) = s.post("/v1/validate", last).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(b["result"], "reject", "{b}");
    s.stop().await;
}

/// The sign-in walkthrough: challenge, answer with a remembered device,
/// then the device's token instead of a code.
async fn readme_signin_walkthrough_runs_as_written(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let calls = walkthrough_of("/v1/signin");
    assert_eq!(calls.len(), 3, "sign in, answer, sign in again");
    let app = s.api_key("validator").await;
    let password = calls[0].body.as_deref().and_then(|b| {
        let v: Value = serde_json::from_str(b).ok()?;
        Some(v["password"].as_str()?.to_owned())
    });
    let (st, b) = s
        .post(
            "/v1/users",
            serde_json::json!({"username": "alice", "password": password.expect("a password")}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let (serial, secret) = s.enroll("alice", serde_json::json!({"type": "totp"})).await;
    let code = totp(&secret, s.now_secs());
    let (st, b) = s
        .post(
            &format!("/v1/tokens/{serial}/activate"),
            serde_json::json!({"code": code}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    s.clock.advance_secs(30);
    let (mut signin_id, mut device) = (String::new(), String::new());
    let mut decisions = Vec::new();
    for call in &calls {
        let path = call.path.replace("SIGNIN_ID", &signin_id);
        let body = call.body.as_ref().map(|b| {
            let b = b
                .replace("123456", &totp(&secret, s.now_secs()))
                .replace("DEVICE_TOKEN", &device);
            serde_json::from_str::<Value>(&b).expect("JSON body")
        });
        let (st, b) = s.call("POST", &path, Some(&app), body).await;
        assert_eq!(st, StatusCode::OK, "{path}: {b}");
        if let Some(id) = b["signin_id"].as_str() {
            signin_id = id.to_owned();
        }
        if let Some(t) = b["device_token"].as_str() {
            device = t.to_owned();
        }
        decisions.push(b["decision"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(decisions, ["challenge", "accept", "accept"]);
    s.stop().await;
}

on_both_backends!(
    readme_walkthrough_runs_as_written,
    readme_signin_walkthrough_runs_as_written
);
