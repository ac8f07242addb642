//! Enrollment through the servers' own APIs: users and tokens in Ichido
//! (the seeds come back in the answers), then the same users and seeds in
//! privacyIDEA.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use ichido_otp::Secret;
use serde_json::{Value, json};

use crate::users::{EnrolledUser, Kind, hotp, totp_now};

#[derive(Clone, Debug)]
pub struct EnrollOptions {
    pub users: usize,
    /// Share of users given a TOTP token; the others get HOTP.
    pub totp_ratio: f64,
    /// Usernames are `<prefix><number>`.
    pub prefix: String,
    /// Users enrolled at once.
    pub concurrency: usize,
}

/// Spreads the TOTP users evenly among the HOTP ones.
fn kind_of(i: usize, ratio: f64) -> Kind {
    if ((i + 1) as f64 * ratio).floor() > (i as f64 * ratio).floor() {
        Kind::Totp
    } else {
        Kind::Hotp
    }
}

async fn post(
    http: &reqwest::Client,
    url: String,
    auth: Option<&str>,
    body: Value,
    want: u16,
) -> anyhow::Result<Value> {
    let mut req = http.post(&url).json(&body);
    if let Some(key) = auth {
        req = req.bearer_auth(key);
    }
    let res = req
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("POST {url}: {e}"))?;
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    if status != want {
        anyhow::bail!("POST {url}: status {status}: {text}");
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Runs `one(i)` for `0..count` with `concurrency` at once, in order of `i`
/// in the result.
async fn for_each<F, Fut>(
    count: usize,
    concurrency: usize,
    what: &str,
    one: F,
) -> anyhow::Result<Vec<EnrolledUser>>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<EnrolledUser>> + Send,
{
    let next = std::sync::Arc::new(AtomicUsize::new(0));
    let done = std::sync::Arc::new(Mutex::new(vec![None; count]));
    let one = std::sync::Arc::new(one);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.clamp(1, count.max(1)) {
        let (next, done, one) = (next.clone(), done.clone(), one.clone());
        let what = what.to_owned();
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<(), anyhow::Error>(());
                }
                let user = one(i).await?;
                done.lock().map_err(|_| anyhow::anyhow!("poisoned"))?[i] = Some(user);
                if count >= 10 && (i + 1) % (count / 10) == 0 {
                    eprintln!("{what}: {} of {count}", i + 1);
                }
            }
        });
    }
    while let Some(r) = workers.join_next().await {
        r??;
    }
    let done = std::mem::take(&mut *done.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    done.into_iter()
        .map(|u| u.ok_or_else(|| anyhow::anyhow!("a user was not enrolled")))
        .collect()
}

/// Creates the users in Ichido, each with one active token, and returns
/// them with their seeds.
pub async fn enroll_ichido(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    opts: &EnrollOptions,
) -> anyhow::Result<Vec<EnrolledUser>> {
    let (http, url, key) = (http.clone(), url.to_owned(), key.to_owned());
    let (prefix, ratio) = (opts.prefix.clone(), opts.totp_ratio);
    for_each(
        opts.users,
        opts.concurrency,
        "enrolled in Ichido",
        move |i| {
            let (http, url, key) = (http.clone(), url.clone(), key.clone());
            let username = format!("{prefix}{i:06}");
            let kind = kind_of(i, ratio);
            async move {
                post(
                    &http,
                    format!("{url}/v1/users"),
                    Some(&key),
                    json!({ "username": username }),
                    201,
                )
                .await?;
                let token = post(
                    &http,
                    format!("{url}/v1/users/{username}/tokens"),
                    Some(&key),
                    json!({ "type": kind.as_str() }),
                    201,
                )
                .await?;
                let serial = token["serial"]
                    .as_str()
                    .ok_or_else(|| anyhow::anyhow!("no serial in {token}"))?;
                let b32 = token["secret"]
                    .as_str()
                    .ok_or_else(|| anyhow::anyhow!("no secret in {token}"))?;
                let secret = Secret::from_base32(b32)
                    .map_err(|e| anyhow::anyhow!("seed of {serial}: {e}"))?;
                let (code, next) = match kind {
                    Kind::Hotp => (hotp(&secret, 0), 1),
                    Kind::Totp => {
                        let (code, step) = totp_now(&secret);
                        (code, step + 1)
                    }
                };
                post(
                    &http,
                    format!("{url}/v1/tokens/{serial}/activate"),
                    Some(&key),
                    json!({ "code": code }),
                    200,
                )
                .await?;
                Ok(EnrolledUser {
                    username,
                    kind,
                    secret: b32.to_owned(),
                    next,
                })
            }
        },
    )
    .await
}

/// The privacyIDEA side: a realm whose users come from a passwd-style file,
/// the policy `otppin=none` (the code alone, as Ichido's `/v1/validate`
/// without a password), and the same seeds as tokens of the same users.
pub struct PrivacyIdea<'a> {
    pub http: &'a reqwest::Client,
    pub url: &'a str,
    pub admin: &'a str,
    pub password: &'a str,
    /// Where the user list for its resolver is written.
    pub passwd_file: &'a Path,
    pub concurrency: usize,
}

const REALM: &str = "bench";

impl PrivacyIdea<'_> {
    async fn call(&self, path: &str, auth: &str, body: Value) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.url);
        let res = self
            .http
            .post(&url)
            .header("Authorization", auth)
            .json(&body)
            .send()
            .await?;
        let status = res.status();
        let v: Value = res
            .json()
            .await
            .map_err(|e| anyhow::anyhow!("POST {url}: {e}"))?;
        if !status.is_success() || v["result"]["status"] != json!(true) {
            anyhow::bail!("POST {url}: status {status}: {v}");
        }
        Ok(v)
    }

    pub async fn setup(&self, users: &[EnrolledUser]) -> anyhow::Result<Vec<EnrolledUser>> {
        let mut passwd = String::new();
        for (i, u) in users.iter().enumerate() {
            let id = 10_000 + i;
            passwd += &format!(
                "{}:x:{id}:{id}:{}:/nonexistent:/bin/false\n",
                u.username, u.username
            );
        }
        std::fs::write(self.passwd_file, passwd)?;
        let auth = post(
            self.http,
            format!("{}/auth", self.url),
            None,
            json!({ "username": self.admin, "password": self.password }),
            200,
        )
        .await?;
        let jwt = auth["result"]["value"]["token"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no token in {auth}"))?
            .to_owned();
        let file = self.passwd_file.canonicalize()?.display().to_string();
        self.call(
            &format!("/resolver/{REALM}"),
            &jwt,
            json!({ "type": "passwdresolver", "fileName": file }),
        )
        .await?;
        self.call(
            &format!("/realm/{REALM}"),
            &jwt,
            json!({ "resolvers": REALM }),
        )
        .await?;
        self.call(&format!("/defaultrealm/{REALM}"), &jwt, json!({}))
            .await?;
        self.call(
            "/policy/bench-otppin-none",
            &jwt,
            json!({ "scope": "authentication", "action": "otppin=none", "active": true }),
        )
        .await?;

        let users = std::sync::Arc::new(users.to_vec());
        let this = std::sync::Arc::new((self.http.clone(), self.url.to_owned(), jwt));
        for_each(users.len(), self.concurrency, "enrolled in privacyIDEA", move |i| {
            let (users, this) = (users.clone(), this.clone());
            async move {
                let u = &users[i];
                let (http, url, jwt) = &*this;
                let seed = Secret::from_base32(&u.secret).map_err(|e| anyhow::anyhow!("{}: {e}", u.username))?.to_hex();
                let mut body = json!({
                    "type": u.kind.as_str(), "otpkey": seed, "genkey": 0, "otplen": 6, "hashlib": "sha1",
                    "user": u.username, "realm": REALM,
                });
                if u.kind == Kind::Totp {
                    body["timeStep"] = json!(30);
                }
                let res = http.post(format!("{url}/token/init")).header("Authorization", jwt).json(&body).send().await?;
                let status = res.status();
                let v: Value = res.json().await?;
                if !status.is_success() || v["result"]["status"] != json!(true) {
                    anyhow::bail!("token/init for {}: {status}: {v}", u.username);
                }
                // privacyIDEA keeps its own counters: HOTP from 0, TOTP any step.
                Ok(EnrolledUser { next: 0, ..u.clone() })
            }
        })
        .await
    }
}
