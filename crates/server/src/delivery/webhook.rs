//! Signed webhooks. Each POST carries two headers:
//!
//! - `X-Ichido-Timestamp`: Unix seconds when it was signed;
//! - `X-Ichido-Signature`: `sha256=` and the lower-case hex of
//!   HMAC-SHA256(secret, timestamp ‖ "." ‖ body).
//!
//! A receiver recomputes the HMAC over the exact bytes received, compares in
//! constant time, and refuses timestamps older than a few minutes (replay).

use std::time::Duration;

use hmac::{Hmac, Mac};
use ichido_crypto::SecretBytes;
use ichido_domain::notify::DeliveryError;
use sha2::Sha256;

use super::with_retries;

pub const TIMESTAMP_HEADER: &str = "x-ichido-timestamp";
pub const SIGNATURE_HEADER: &str = "x-ichido-signature";

/// `sha256=<hex>` for this body at this time.
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub struct Webhook {
    http: reqwest::Client,
    url: String,
    secret: SecretBytes,
}

impl Webhook {
    pub fn new(url: &str, secret: &str) -> anyhow::Result<Webhook> {
        Ok(Webhook {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            url: url.to_owned(),
            secret: SecretBytes::new(secret.as_bytes().to_vec()),
        })
    }

    /// POSTs the JSON body, signed anew at each try, retried with backoff.
    pub async fn post(
        &self,
        body: &str,
        attempts: u32,
        now_secs: u64,
    ) -> Result<(), DeliveryError> {
        with_retries(attempts, || async {
            let signature = sign(self.secret.as_bytes(), now_secs, body.as_bytes());
            let res = self
                .http
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(TIMESTAMP_HEADER, now_secs.to_string())
                .header(SIGNATURE_HEADER, signature)
                .body(body.to_owned())
                .send()
                .await
                // The URL may hold a token of the receiver's: keep it out of the log.
                .map_err(|e| webhook_error(format!("unreachable: {}", e.without_url())))?;
            if res.status().is_success() {
                Ok(())
            } else {
                Err(webhook_error(format!("answered {}", res.status())))
            }
        })
        .await
    }
}

fn webhook_error(detail: String) -> DeliveryError {
    DeliveryError {
        code: "webhook_unavailable",
        detail,
    }
}
