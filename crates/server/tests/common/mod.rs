//! Starts the real server in-process on 127.0.0.1:0 against SQLite or
//! PostgreSQL, with a clock the test moves, and talks to it over HTTP.

#![allow(dead_code)]

use std::sync::Arc;

use ichido_domain::service::Settings;
use ichido_domain::{ManualClock, Timestamp};
use ichido_server::app::Running;
use ichido_server::config::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A fixed instant in the middle of a 30-second step.
pub const T0: i64 = 1_700_000_015_000;

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one test per backend from `async fn $name(backend: Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name($crate::common::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name($crate::common::Backend::Postgres).await })*
        }
    };
}

pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    pub admin: String,
    pub clock: ManualClock,
    pub running: Option<Running>,
    _dir: tempfile::TempDir,
    pg: Option<PgDatabase>,
}

/// A database of its own for one test, dropped afterwards — also when the
/// test fails, so a red run leaves nothing behind.
pub struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside the test's runtime: use a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
                    .await
                    .ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

pub fn postgres_url() -> Option<String> {
    match std::env::var("ICHIDO_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var_os("CI").is_some() => {
            panic!("ICHIDO_TEST_POSTGRES_URL must be set in CI")
        }
        _ => None,
    }
}

pub async fn create_pg_database(admin_url: &str) -> (PgDatabase, String) {
    sqlx::any::install_default_drivers();
    let name = format!("ichido_e2e_{}", hex_id());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(admin_url)
        .await
        .expect("connect to postgres");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(admin_url);
    (
        PgDatabase {
            admin_url: admin_url.to_owned(),
            name: name.clone(),
        },
        format!("{base}/{name}"),
    )
}

fn hex_id() -> String {
    let b = ichido_crypto::random::bytes(6);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn settings() -> Settings {
    Settings {
        password_cost: ichido_crypto::Cost::fast_for_tests(),
        ..Settings::default()
    }
}

impl TestServer {
    /// `None` when the backend is not available here (PostgreSQL outside CI).
    pub async fn start(backend: Backend) -> Option<TestServer> {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(
        backend: Backend,
        tune: impl FnOnce(&mut Config),
    ) -> Option<TestServer> {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        config.rate_limit.per_second = 0;
        config.radius.listen = None;
        let mut pg = None;
        if let Backend::Postgres = backend {
            let Some(url) = postgres_url() else {
                eprintln!("skipped: ICHIDO_TEST_POSTGRES_URL is not set");
                return None;
            };
            let (db, url) = create_pg_database(&url).await;
            config.database_url = Some(url.into());
            pg = Some(db);
        }
        tune(&mut config);
        let clock = ManualClock::at(Timestamp(T0));
        let running = ichido_server::app::start(config, Arc::new(clock.clone()), settings())
            .await
            .expect("server starts");
        let admin = running
            .bootstrap_key
            .clone()
            .expect("first start creates an admin key");
        Some(TestServer {
            base: format!("http://{}", running.addr),
            http: reqwest::Client::new(),
            admin,
            clock,
            running: Some(running),
            _dir: dir,
            pg,
        })
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        drop(self.pg.take());
    }

    pub fn now_secs(&self) -> u64 {
        use ichido_domain::Clock;
        self.clock.now().unix_secs()
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", path, Some(&self.admin.clone()), Some(body))
            .await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call("GET", path, Some(&self.admin.clone()), None)
            .await
    }

    pub async fn create_user(&self, username: &str) {
        let (s, body) = self
            .post("/v1/users", json!({ "username": username }))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }

    /// Enrolls a token and returns `(serial, base32 secret)`, still pending.
    pub async fn enroll(&self, username: &str, body: Value) -> (String, String) {
        let (s, b) = self
            .post(&format!("/v1/users/{username}/tokens"), body)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        (
            b["serial"].as_str().unwrap().to_owned(),
            b["secret"].as_str().unwrap().to_owned(),
        )
    }

    /// A user with one active SHA-1 TOTP token; returns `(serial, secret)`.
    pub async fn user_with_totp(&self, username: &str) -> (String, String) {
        self.create_user(username).await;
        let (serial, secret) = self.enroll(username, json!({ "type": "totp" })).await;
        let code = totp(&secret, self.now_secs());
        let (s, b) = self
            .post(
                &format!("/v1/tokens/{serial}/activate"),
                json!({ "code": code }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["state"], "active");
        (serial, secret)
    }

    pub async fn validate(&self, key: &str, username: &str, code: &str) -> Value {
        let (s, b) = self
            .call(
                "POST",
                "/v1/validate",
                Some(key),
                Some(json!({ "username": username, "code": code })),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b
    }

    pub async fn api_key(&self, role: &str) -> String {
        use ichido_domain::audit::Context;
        let role = ichido_domain::user::Role::parse(role).unwrap();
        let r = self.running.as_ref().unwrap();
        r.state
            .ichido
            .create_api_key(&Context::system(), role.as_str(), role)
            .await
            .unwrap()
            .secret
            .expose()
            .to_owned()
    }
}

fn secret_bytes(b32: &str) -> Vec<u8> {
    data_encoding_free_base32_decode(b32)
}

/// RFC 4648 base32 decoding written here so the test does not trust the
/// server's own decoder.
fn data_encoding_free_base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = ALPHABET
            .iter()
            .position(|&a| a == c.to_ascii_uppercase())
            .expect("base32") as u64;
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

/// A TOTP code computed independently of the server (totp-rs).
pub fn totp(secret_b32: &str, unix: u64) -> String {
    totp_with(secret_b32, unix, totp_rs::Algorithm::SHA1, 6, 30)
}

pub fn totp_with(
    secret_b32: &str,
    unix: u64,
    alg: totp_rs::Algorithm,
    digits: usize,
    period: u64,
) -> String {
    totp_rs::TOTP::new_unchecked(alg, digits, 0, period, secret_bytes(secret_b32)).generate(unix)
}

/// HOTP is TOTP with a one-second step evaluated at the counter.
pub fn hotp(secret_b32: &str, counter: u64) -> String {
    totp_with(secret_b32, counter, totp_rs::Algorithm::SHA1, 6, 1)
}
