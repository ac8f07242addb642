//! Databases and fixtures for the storage conformance suite.
//!
//! Every test gets a database of its own: SQLite in memory, SQLite in a file
//! of a temporary directory (the production shape: WAL and a separate write
//! pool), or a PostgreSQL database created for it from
//! `ICHIDO_TEST_POSTGRES_URL` and dropped afterwards, also when it fails.

use std::future::Future;

use ichido_domain::audit::verify::verify_log;
use ichido_domain::audit::{ChainKey, Context, Event, Record};
use ichido_domain::store::{Acceptance, Store};
use ichido_domain::token::{NewToken, OathParams, Token, TokenKind, TokenState};
use ichido_domain::user::{NewUser, User};
use ichido_domain::{Serial, Timestamp, Username};
use ichido_store::{Db, Durability};
use sqlx::{Connection, Executor};

/// Which SQLite a scenario runs on.
#[derive(Clone, Copy, Debug)]
pub enum Sqlite {
    /// `sqlite::memory:`: one connection, enough for a sequential scenario.
    Memory,
    /// A file in a temporary directory, with its reader and writer pools.
    File,
}

/// Runs `scenario` with the URL of a new, empty SQLite database.
pub async fn on_sqlite<F, Fut>(shape: Sqlite, scenario: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = match shape {
        Sqlite::Memory => "sqlite::memory:".to_owned(),
        Sqlite::File => format!("sqlite://{}/t.db", dir.path().display()),
    };
    scenario(url).await;
}

/// Runs `scenario` with the URL of a new PostgreSQL database, or skips it
/// when no server is configured (outside CI only).
pub async fn on_postgres<F, Fut>(scenario: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(server) = postgres_server() else {
        return;
    };
    sqlx::any::install_default_drivers();
    let name = format!("ichido_t_{}", hex::encode(ichido_crypto::random::bytes(8)));
    let mut admin = sqlx::AnyConnection::connect(&server)
        .await
        .expect("connect to ICHIDO_TEST_POSTGRES_URL");
    // A collation that is not byte order, as on most installations
    // (`en_US.UTF-8`), where the server has ICU; the cluster's default if not.
    let icu =
        format!("CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en'");
    if let Err(e) = admin.execute(icu.as_str()).await {
        eprintln!("test database with the cluster's default collation ({e})");
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create test database");
    }
    // A task of its own, so that a failing scenario still drops its database.
    let outcome = tokio::spawn(scenario(database_url(&server, &name))).await;
    if let Err(e) = admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
    {
        eprintln!("could not drop test database {name}: {e}");
    }
    let _ = admin.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

fn postgres_server() -> Option<String> {
    match std::env::var("ICHIDO_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "ICHIDO_TEST_POSTGRES_URL is not set: CI must run the storage conformance suite on PostgreSQL"
            )
        }
        _ => {
            eprintln!("skipped: set ICHIDO_TEST_POSTGRES_URL to run this test on PostgreSQL");
            None
        }
    }
}

/// `url` with its database name replaced by `name`, query string kept.
fn database_url(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[host_start..].find('/') {
        Some(slash) => &base[..host_start + slash],
        None => base,
    };
    format!("{server}/{name}{query}")
}

pub async fn connect(url: &str) -> Db {
    Db::connect(url, Durability::Full, chain_key())
        .await
        .expect("connect and migrate")
}

/// The audit chain's key of every test database: from one keyring made for
/// this test process (the key file stands outside the database).
pub fn chain_key() -> ChainKey {
    static RING: std::sync::LazyLock<ichido_crypto::Keyring> =
        std::sync::LazyLock::new(ichido_crypto::Keyring::generate);
    ChainKey::from_keyring(&RING)
}

/// A fixed instant, so that runs are reproducible; `at(s)` is `s` seconds later.
pub fn at(secs: i64) -> Timestamp {
    Timestamp::from_secs(1_700_000_000).plus_secs(secs)
}

pub fn event(action: &str) -> Event {
    Event::new(&Context::system(), at(0), action, "success")
}

pub async fn user(db: &Db, name: &str) -> User {
    let new = NewUser {
        username: Some(Username::parse(name).unwrap()),
        ..Default::default()
    };
    db.create_user(&new, at(0), &event("user.create").user(name))
        .await
        .expect("create user")
}

pub fn totp() -> OathParams {
    OathParams {
        kind: TokenKind::Totp,
        algorithm: ichido_otp::Algorithm::Sha1,
        digits: ichido_otp::Digits::new(6).unwrap(),
        period: 30,
    }
}

pub fn new_token(serial: &str, user_id: Option<i64>, state: TokenState) -> NewToken {
    NewToken {
        serial: Serial::parse(serial).unwrap(),
        user_id,
        params: totp(),
        state,
        label: None,
        issuer: None,
        sealed_secret: format!("k1:{serial}"),
        pending_until: None,
        ocra_suite: None,
        address: None,
        valid_from: None,
        valid_until: None,
    }
}

pub async fn token(db: &Db, serial: &str, user_id: Option<i64>, state: TokenState) -> Token {
    let ev = event("token.create").serial(serial);
    db.create_token(&new_token(serial, user_id, state), at(0), &ev)
        .await
        .expect("create token")
}

/// The token as stored now.
pub async fn reload(db: &Db, t: &Token) -> Token {
    db.token_by_serial(t.serial.as_str())
        .await
        .unwrap()
        .expect("token exists")
}

pub fn acceptance(t: &Token, counter: i64, now: Timestamp) -> Acceptance {
    Acceptance {
        token_id: t.id,
        user_id: t.user_id.expect("assigned token"),
        counter,
        drift: 0,
        now,
    }
}

/// The whole log, oldest first, after checking every link and the head.
pub async fn verified_log(db: &Db) -> Vec<Record> {
    let verified = verify_log(db, &chain_key(), &[])
        .await
        .unwrap_or_else(|e| panic!("audit chain: {e}"));
    let mut log = Vec::new();
    loop {
        let after = log.last().map_or(0, |r: &Record| r.seq);
        let page = db.audit_scan(after, 7).await.unwrap();
        if page.is_empty() {
            break;
        }
        log.extend(page);
    }
    assert_eq!(log.len() as i64, verified.events);
    log
}

pub async fn audit_len(db: &Db) -> i64 {
    db.audit_head().await.unwrap().0
}

#[test]
fn database_url_replaces_only_the_name() {
    assert_eq!(
        database_url("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        database_url("postgres://u:p@h/test?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(
        database_url("postgres://h:5432", "x"),
        "postgres://h:5432/x"
    );
}
