//! The servers a code is checked against: Ichido over HTTP or RADIUS, and
//! privacyIDEA over HTTP. Each answers accept, reject, or a failure.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use ichido_radius::{
    Code as RadiusCode, Packet, dictionary, encrypt_user_password, verify_response,
};
use rand::RngCore;
use serde_json::{Value, json};
use tokio::net::UdpSocket;

/// Why a request got no accept-or-reject answer: the key of the error counts.
#[derive(Debug)]
pub struct Failure(pub String);

impl Failure {
    fn of(e: &reqwest::Error) -> Failure {
        if e.is_timeout() {
            Failure("timeout".into())
        } else if e.is_connect() {
            Failure("connect".into())
        } else {
            Failure("transport".into())
        }
    }
}

pub enum Target {
    /// `POST /v1/validate` on one or more Ichido nodes.
    Ichido {
        http: reqwest::Client,
        urls: Vec<String>,
        key: String,
    },
    /// `POST /validate/check` of privacyIDEA.
    PrivacyIdea { http: reqwest::Client, url: String },
    /// RADIUS Access-Requests (PAP, the code as User-Password).
    Radius(Radius),
}

/// A keep-alive HTTP client with one pooled connection per concurrent request.
pub fn http_client(concurrency: usize, timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency.max(1))
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .timeout(timeout)
        .user_agent("ichido-bench")
        .build()?)
}

impl Target {
    /// How many nodes a replayed code can be sent to at once.
    pub fn nodes(&self) -> usize {
        match self {
            Target::Ichido { urls, .. } => urls.len().max(1),
            _ => 1,
        }
    }

    /// Checks one code; `node` picks the Ichido node (modulo their count).
    pub async fn check(&self, node: usize, username: &str, code: &str) -> Result<bool, Failure> {
        match self {
            Target::Ichido { http, urls, key } => {
                let url = &urls[node % urls.len()];
                let res = http
                    .post(format!("{url}/v1/validate"))
                    .bearer_auth(key)
                    .json(&json!({ "username": username, "code": code }))
                    .send()
                    .await
                    .map_err(|e| Failure::of(&e))?;
                let status = res.status();
                let body: Value = res.json().await.map_err(|e| Failure::of(&e))?;
                if !status.is_success() {
                    return Err(Failure(format!("http {}", status.as_u16())));
                }
                match body["result"].as_str() {
                    Some("accept") => Ok(true),
                    Some("reject") => Ok(false),
                    _ => Err(Failure("bad body".into())),
                }
            }
            Target::PrivacyIdea { http, url } => {
                let res = http
                    .post(format!("{url}/validate/check"))
                    .json(&json!({ "user": username, "pass": code }))
                    .send()
                    .await
                    .map_err(|e| Failure::of(&e))?;
                let status = res.status();
                let body: Value = res.json().await.map_err(|e| Failure::of(&e))?;
                if !status.is_success() || body["result"]["status"] != json!(true) {
                    return Err(Failure(format!("http {}", status.as_u16())));
                }
                match body["result"]["value"].as_bool() {
                    Some(v) => Ok(v),
                    None => Err(Failure("bad body".into())),
                }
            }
            Target::Radius(r) => r.check(username, code).await,
        }
    }
}

/// A RADIUS client: a pool of connected UDP sockets, one request in flight
/// on each, so that replies are matched without a dispatcher.
pub struct Radius {
    server: SocketAddr,
    secret: Vec<u8>,
    timeout: Duration,
    sockets: Mutex<Vec<(UdpSocket, u8)>>,
}

impl Radius {
    pub async fn new(
        server: SocketAddr,
        secret: &str,
        sockets: usize,
        timeout: Duration,
    ) -> anyhow::Result<Radius> {
        let mut pool = Vec::with_capacity(sockets);
        for _ in 0..sockets.max(1) {
            let s = UdpSocket::bind("127.0.0.1:0").await?;
            s.connect(server).await?;
            pool.push((s, 0u8));
        }
        Ok(Radius {
            server,
            secret: secret.as_bytes().to_vec(),
            timeout,
            sockets: Mutex::new(pool),
        })
    }

    async fn check(&self, username: &str, code: &str) -> Result<bool, Failure> {
        let taken = self
            .sockets
            .lock()
            .map_err(|_| Failure("poisoned".into()))?
            .pop();
        let Some((socket, id)) = taken else {
            return Err(Failure("no free socket".into()));
        };
        let result = self.exchange(&socket, id, username, code).await;
        if let Ok(mut pool) = self.sockets.lock() {
            pool.push((socket, id.wrapping_add(1)));
        }
        result
    }

    async fn exchange(
        &self,
        socket: &UdpSocket,
        id: u8,
        username: &str,
        code: &str,
    ) -> Result<bool, Failure> {
        let mut authenticator = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut authenticator);
        let mut request = Packet::new_access_request(id, authenticator);
        let hidden = encrypt_user_password(code.as_bytes(), &self.secret, &authenticator)
            .map_err(|_| Failure("encode".into()))?;
        request
            .add_string(dictionary::USER_NAME, username)
            .add(dictionary::USER_PASSWORD, hidden)
            .add_u32(dictionary::NAS_PORT, 0);
        let datagram = request
            .encode_request(&self.secret)
            .map_err(|_| Failure("encode".into()))?;
        socket
            .send(&datagram)
            .await
            .map_err(|_| Failure("send".into()))?;
        let mut buf = vec![0u8; 4096];
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let n = tokio::time::timeout_at(deadline, socket.recv(&mut buf))
                .await
                .map_err(|_| Failure("timeout".into()))?
                .map_err(|_| Failure("receive".into()))?;
            let reply = &buf[..n];
            // A late answer to an earlier request on this socket: skip it.
            if reply.len() < 20 || reply[1] != id {
                continue;
            }
            if !verify_response(reply, &authenticator, &self.secret) {
                return Err(Failure("bad response authenticator".into()));
            }
            return match RadiusCode::from(reply[0]) {
                RadiusCode::AccessAccept => Ok(true),
                RadiusCode::AccessReject => Ok(false),
                _ => Err(Failure("unexpected code".into())),
            };
        }
    }

    pub fn server(&self) -> SocketAddr {
        self.server
    }
}
