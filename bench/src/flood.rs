//! A flood of wrong passwords beside the measured load: `n` loops, each
//! sending `POST /v1/validate` with a password for a made-up user, as fast
//! as the server answers. Every such request costs the server one Argon2id
//! evaluation; the measured code-only validations show whether that work
//! slows them. The loops stop at `until`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;
use tokio::time::Instant;

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
            let mut k = 0u64;
            while Instant::now() < until {
                k += 1;
                let body = json!({
                    "username": format!("flood-{i}-{k}"),
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
