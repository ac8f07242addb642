//! A client of the REST API as an application would use it, and HOTP codes
//! computed by an independent implementation (`totp-rs`).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::process::Server;

pub struct Api {
    client: reqwest::Client,
    base: String,
    key: String,
}

/// What `/v1/validate` answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept { serial: String },
    Reject,
}

/// A token as enrolled: its serial and the seed shown this once.
#[derive(Clone, Debug)]
pub struct Enrolled {
    pub serial: String,
    pub secret: String,
    pub hotp: Hotp,
}

impl Api {
    pub fn new(server: &Server, key: &str) -> Api {
        Api::at(&server.base_url(), key)
    }

    pub fn at(base: &str, key: &str) -> Api {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("HTTP client");
        Api {
            client,
            base: base.to_owned(),
            key: key.to_owned(),
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> reqwest::Result<(StatusCode, Value)> {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await?;
        let status = resp.status();
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = resp.status();
        (status, resp.json::<Value>().await.unwrap_or(Value::Null))
    }

    async fn must_post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.post(path, body)
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// `POST /v1/users`; the status code.
    pub async fn create_user(&self, username: &str) -> StatusCode {
        self.must_post("/v1/users", json!({ "username": username }))
            .await
            .0
    }

    /// Enrolls a pending HOTP token for a user.
    pub async fn enroll_hotp(&self, username: &str) -> Enrolled {
        let (status, body) = self
            .must_post(
                &format!("/v1/users/{username}/tokens"),
                json!({ "type": "hotp" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "enroll for {username}: {body}");
        assert_eq!(body["state"], "pending", "{body}");
        let secret = body["secret"]
            .as_str()
            .expect("secret in the enrollment answer")
            .to_owned();
        let serial = body["serial"]
            .as_str()
            .expect("serial in the enrollment answer")
            .to_owned();
        Enrolled {
            serial,
            hotp: Hotp::from_base32(&secret),
            secret,
        }
    }

    /// `POST /v1/tokens/{serial}/activate`; the status code.
    pub async fn activate(&self, serial: &str, code: &str) -> StatusCode {
        self.must_post(
            &format!("/v1/tokens/{serial}/activate"),
            json!({ "code": code }),
        )
        .await
        .0
    }

    /// A user with one active HOTP token, activated with the code of counter 0.
    pub async fn user_with_hotp(&self, username: &str) -> Enrolled {
        assert_eq!(
            self.create_user(username).await,
            StatusCode::CREATED,
            "create {username}"
        );
        let t = self.enroll_hotp(username).await;
        assert_eq!(
            self.activate(&t.serial, &t.hotp.at(0)).await,
            StatusCode::OK,
            "activate {}",
            t.serial
        );
        t
    }

    /// `POST /v1/validate`. Transport errors are returned (a server may be
    /// killed under the request); any other answer than a 200 with a
    /// well-formed verdict is a failure.
    pub async fn try_validate(&self, username: &str, code: &str) -> reqwest::Result<Verdict> {
        let (status, body) = self
            .post(
                "/v1/validate",
                json!({ "username": username, "code": code }),
            )
            .await?;
        assert_eq!(status, StatusCode::OK, "validate {username}: {body}");
        Ok(match body["result"].as_str() {
            Some("accept") => Verdict::Accept {
                serial: body["serial"]
                    .as_str()
                    .expect("serial on accept")
                    .to_owned(),
            },
            Some("reject") => Verdict::Reject,
            _ => panic!("validate {username}: unexpected body {body}"),
        })
    }

    pub async fn validate(&self, username: &str, code: &str) -> Verdict {
        self.try_validate(username, code)
            .await
            .unwrap_or_else(|e| panic!("validate {username}: {e}"))
    }

    /// `POST /v1/users/{username}/unlock`.
    pub async fn unlock(&self, username: &str) {
        let (status, body) = self
            .must_post(&format!("/v1/users/{username}/unlock"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "unlock {username}: {body}");
    }
}

/// RFC 4226 HOTP (SHA-1, 6 digits) from `totp-rs`: TOTP with a one-second
/// step evaluated at time `c` is HOTP at counter `c`.
#[derive(Clone)]
pub struct Hotp(totp_rs::TOTP);

impl std::fmt::Debug for Hotp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hotp(..)")
    }
}

impl Hotp {
    pub fn from_base32(secret: &str) -> Hotp {
        let bytes = seed_bytes(secret);
        let rfc = totp_rs::Rfc6238::with_defaults(bytes).expect("a seed of at least 128 bits");
        let mut totp = totp_rs::TOTP::from_rfc6238(rfc).expect("TOTP parameters");
        totp.step = 1;
        totp.skew = 0;
        Hotp(totp)
    }

    pub fn at(&self, counter: u64) -> String {
        self.0.generate(counter)
    }

    /// A six-digit code that is none of the codes of counters `0..=up_to`.
    pub fn wrong_code(&self, up_to: u64) -> String {
        let used: Vec<String> = (0..=up_to).map(|c| self.at(c)).collect();
        (0..)
            .map(|n: u32| format!("{n:06}"))
            .find(|c| !used.contains(c))
            .expect("a free code")
    }
}

/// The raw seed behind a base32 secret as the API shows it.
pub fn seed_bytes(secret: &str) -> Vec<u8> {
    totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("the API returns valid base32")
}
