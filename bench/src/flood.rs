//! A flood of wrong passwords beside the measured load: `n` loops, each
//! sending `POST /v1/validate` with a wrong password for a user of its own
//! (created first, with a password), as fast as the server answers. Every
//! such request costs the server an Argon2id evaluation, on any version of
//! it: a real user with a password is the one case every version hashes
//! (so an A/B against an older server measures the same work). The server
//! must not lock these users (`bench/run.sh` sets `max_failures` high); the
//! measured code-only validations show whether the password work slows
//! them. The loops stop at `until`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;
use tokio::time::Instant;

/// Creates the flood's users (`flood-0` …), each with a password; one that
/// exists already is kept.
pub async fn create_users(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    n: usize,
) -> anyhow::Result<()> {
    for i in 0..n {
        let status = http
            .post(format!("{url}/v1/users"))
            .bearer_auth(key)
            .json(&json!({"username": format!("flood-{i}"), "password": "the-flood-password"}))
            .send()
            .await?
            .status();
        anyhow::ensure!(
            status.is_success() || status == reqwest::StatusCode::CONFLICT,
            "creating flood-{i}: {status}"
        );
    }
    Ok(())
}

/// Starts the loops; the returned counter holds the requests answered.
pub fn start(
    http: reqwest::Client,
    url: String,
    key: String,
    n: usize,
    until: Instant,
) -> Arc<AtomicU64> {
    let answered = Arc::new(AtomicU64::new(0));
    for i in 0..n {
        let (http, url, key, answered) = (http.clone(), url.clone(), key.clone(), answered.clone());
        tokio::spawn(async move {
            while Instant::now() < until {
                let body = json!({
                    "username": format!("flood-{i}"),
                    "password": "not-the-password",
                    "code": "000000",
                });
                let sent = http
                    .post(format!("{url}/v1/validate"))
                    .bearer_auth(&key)
                    .json(&body)
                    .send()
                    .await;
                if sent.is_ok() {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    answered
}
