//! Starts the real server in-process with RADIUS on 127.0.0.1:0, creates
//! users and tokens through the services, and talks RADIUS two ways: the
//! real `radclient` of FreeRADIUS, and a small client built on our codec for
//! what radclient cannot do (byte-identical retransmissions, garbage).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ichido_domain::audit::{Context, Query, Record};
use ichido_domain::service::{CreateUserRequest, EnrollRequest, Settings};
use ichido_domain::{Clock, ManualClock, Timestamp};
use ichido_otp::{Algorithm, Digits, Hotp, Secret};
use ichido_radius::{Packet, dictionary, encrypt_user_password};
use ichido_server::app::Running;
use ichido_server::config::{Config, RadiusClientConfig, RadiusMode};
use tokio::net::UdpSocket;

/// A fixed instant in the middle of a 30-second step.
pub const T0: i64 = 1_700_000_015_000;
pub const SECRET: &str = "a-shared-secret-of-some-length";

pub fn client(name: &str, mode: RadiusMode) -> RadiusClientConfig {
    RadiusClientConfig {
        name: name.into(),
        address: "127.0.0.1".into(),
        secret: Some(SECRET.into()),
        mode,
        rate_per_second: 0,
        ..Default::default()
    }
}

pub struct Harness {
    pub running: Option<Running>,
    pub clock: ManualClock,
    pub radius: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Harness {
    pub async fn start(clients: Vec<RadiusClientConfig>) -> Harness {
        Self::start_with(clients, |_| {}).await
    }

    pub async fn start_with(
        clients: Vec<RadiusClientConfig>,
        tune: impl FnOnce(&mut Config),
    ) -> Harness {
        let h = Self::launch(clients, tune).await;
        assert!(
            h.running().bootstrap_key.is_some(),
            "first start creates an admin key"
        );
        h
    }

    /// Another node on the same database and master key as `self`, with
    /// its own RADIUS port and clock (set to `self`'s time).
    pub async fn join(&self, clients: Vec<RadiusClientConfig>) -> Harness {
        let first = self.running().state.config.clone();
        let node = Self::launch(clients, |c| {
            c.database_url = first.database_url.clone();
            c.master_key_file = Some(first.master_key_path());
        })
        .await;
        node.clock.set(self.clock.now());
        node
    }

    async fn launch(clients: Vec<RadiusClientConfig>, tune: impl FnOnce(&mut Config)) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        config.rate_limit.per_second = 0;
        config.radius.listen = Some("127.0.0.1:0".parse().unwrap());
        config.radius.clients = clients;
        tune(&mut config);
        let clock = ManualClock::at(Timestamp(T0));
        let settings = Settings {
            password_cost: ichido_crypto::Cost::fast_for_tests(),
            ..Settings::default()
        };
        let running = ichido_server::app::start(config, Arc::new(clock.clone()), settings)
            .await
            .expect("server starts");
        let radius = running.radius_addr.expect("RADIUS listens");
        Harness {
            running: Some(running),
            clock,
            radius,
            _dir: dir,
        }
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }

    pub fn ichido(&self) -> &ichido_domain::service::Ichido<ichido_store::Db> {
        &self.running().state.ichido
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }

    pub fn now_secs(&self) -> u64 {
        self.clock.now().unix_secs()
    }

    /// A user with a password and one active HOTP token of `digits` digits,
    /// activated with counter 0; returns the token's seed.
    pub async fn user_with_hotp(
        &self,
        username: &str,
        password: Option<&str>,
        digits: u8,
    ) -> Secret {
        let ctx = Context::system();
        let req = CreateUserRequest {
            username: username.into(),
            password: password.map(Into::into),
            ..Default::default()
        };
        self.ichido().create_user(&ctx, req).await.unwrap();
        self.add_hotp(username, digits).await
    }

    /// Adds an active HOTP token to an existing user; returns its seed.
    pub async fn add_hotp(&self, username: &str, digits: u8) -> Secret {
        let ctx = Context::system();
        let enroll = EnrollRequest {
            kind: "hotp".into(),
            digits: Some(digits),
            ..Default::default()
        };
        let enrolled = self.ichido().enroll(&ctx, username, enroll).await.unwrap();
        let secret = Secret::from_base32(&enrolled.secret).unwrap();
        let code = hotp(&secret, digits, 0);
        self.ichido()
            .activate(&ctx, enrolled.token.serial.as_str(), &code)
            .await
            .unwrap();
        secret
    }

    pub async fn failed_count(&self, username: &str) -> i64 {
        self.ichido().user(username).await.unwrap().failed_count
    }

    pub async fn audit(&self, action: &str) -> Vec<Record> {
        let q = Query {
            action: Some(action.into()),
            limit: 1000,
            ..Default::default()
        };
        self.ichido().store_audit(&q).await.unwrap()
    }

    pub fn metrics(&self) -> String {
        self.running().state.metrics.encode()
    }

    /// The value of one metric line, e.g. `ichido_radius_dropped_total{reason="malformed"}`.
    pub fn metric(&self, line: &str) -> u64 {
        self.metrics()
            .lines()
            .find_map(|l| l.strip_prefix(line).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(0)
    }
}

pub fn hotp(secret: &Secret, digits: u8, counter: u64) -> String {
    Hotp::new(Algorithm::Sha1, Digits::new(digits).unwrap())
        .generate(secret, counter)
        .as_str()
        .to_owned()
}

// radclient, the FreeRADIUS test client.

/// Whether radclient can run here. Missing: a failure in CI, a notice elsewhere.
pub fn have_radclient() -> bool {
    let found = std::process::Command::new("radclient")
        .arg("-v")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    if !found {
        if std::env::var_os("CI").is_some() {
            panic!("radclient is missing: apt-get install -y freeradius-utils");
        }
        eprintln!("skipped: radclient is missing (apt-get install -y freeradius-utils)");
    }
    found
}

/// What radclient printed about the reply.
#[derive(Debug)]
pub struct RadReply {
    /// `Access-Accept`, `Access-Reject`, `Access-Challenge`; `None` without a valid reply.
    pub code: Option<String>,
    /// The State attribute as radclient prints it (`0x…`).
    pub state: Option<String>,
    pub reply_message: Option<String>,
    pub output: String,
}

/// Sends one request with radclient: `attributes` in its syntax
/// (`User-Name = alice, User-Password = "…"`), one try, `timeout` seconds.
pub async fn radclient(
    server: SocketAddr,
    command: &str,
    secret: &str,
    attributes: &str,
    timeout: u32,
) -> RadReply {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new("radclient")
        .args([
            "-x",
            "-r",
            "1",
            "-t",
            &timeout.to_string(),
            &server.to_string(),
            command,
            secret,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("radclient runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(attributes.as_bytes()).await.unwrap();
    stdin.write_all(b"\n").await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_radclient(output)
}

fn parse_radclient(output: String) -> RadReply {
    let mut code = None;
    let mut state = None;
    let mut reply_message = None;
    let mut in_reply = false;
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("Received ") {
            code = rest.split_whitespace().next().map(str::to_owned);
            in_reply = true;
            continue;
        }
        if line.starts_with("Sent ") {
            in_reply = false;
        }
        if !in_reply {
            continue;
        }
        let Some((name, value)) = line.trim().split_once(" = ") else {
            continue;
        };
        match name {
            "State" => state = Some(value.to_owned()),
            "Reply-Message" => reply_message = Some(value.trim_matches('"').to_owned()),
            _ => {}
        }
    }
    RadReply {
        code,
        state,
        reply_message,
        output,
    }
}

/// radclient's attribute list for a PAP request, with a Message-Authenticator.
pub fn pap(username: &str, password: &str) -> String {
    format!(
        "User-Name = \"{username}\", User-Password = \"{password}\", Message-Authenticator = 0x00"
    )
}

// A client on our own codec.

/// An Access-Request with a Message-Authenticator, as octets.
pub fn access_request(
    id: u8,
    username: &str,
    password: &str,
    secret: &str,
    extra: &[(u8, Vec<u8>)],
) -> Vec<u8> {
    let mut authenticator = [0u8; 16];
    authenticator.copy_from_slice(&ichido_crypto::random::bytes(16));
    let mut p = Packet::new_access_request(id, authenticator);
    p.add_string(dictionary::USER_NAME, username);
    let hidden =
        encrypt_user_password(password.as_bytes(), secret.as_bytes(), &authenticator).unwrap();
    p.add(dictionary::USER_PASSWORD, hidden);
    for (typ, value) in extra {
        p.add(*typ, value.clone());
    }
    p.encode_request(secret.as_bytes()).unwrap()
}

pub async fn socket() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

/// Sends `datagram` and waits up to `wait` for one reply.
pub async fn exchange(
    socket: &UdpSocket,
    server: SocketAddr,
    datagram: &[u8],
    wait: Duration,
) -> Option<Vec<u8>> {
    socket.send_to(datagram, server).await.unwrap();
    receive(socket, wait).await
}

pub async fn receive(socket: &UdpSocket, wait: Duration) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    match tokio::time::timeout(wait, socket.recv_from(&mut buf)).await {
        Ok(Ok((n, _))) => Some(buf[..n].to_vec()),
        _ => None,
    }
}
