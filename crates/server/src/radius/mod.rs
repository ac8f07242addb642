//! The RADIUS authentication server (RFC 2865) on UDP: PAP Access-Requests
//! from configured gateways, answered with Access-Accept, Access-Reject or,
//! in the two-step mode, Access-Challenge. Every request must carry a valid
//! Message-Authenticator (RFC 3579 §3.2) unless its gateway is configured
//! otherwise, and every reply carries one (the BlastRADIUS mitigation).
//!
//! What is silently dropped (RFC 2865 §3 "silently discard"), counted in
//! `radius_dropped` by reason: packets from unknown addresses, over 4096
//! octets, malformed, of another Code, with a wrong or a missing
//! Message-Authenticator, over a gateway's rate, or when too many requests
//! are already being decided. Unknown sources and failed authenticators are
//! also audited, throttled so that a flood cannot fill the log.

pub mod clients;
pub mod code_delivery;
pub mod committed;
pub mod config;
pub mod dedup;
pub mod handler;
pub mod refusals;
pub mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ichido_domain::audit::Context;
use ichido_radius::{Code, MAX_PACKET_LEN, MessageAuthCheck, Packet, verify_message_authenticator};
use tokio::net::UdpSocket;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::task::JoinHandle;

use self::clients::{Client, Clients};
use self::dedup::{Key, ReplyCache, Seen};
use self::handler::Decision;
use self::refusals::RefusalLog;
use self::session::Sessions;
use crate::app::AppState;
use crate::metrics::{ReasonLabel, ResultLabel};

/// How long an answer is kept for retransmissions (RFC 5080 §2.2.2 suggests
/// a few seconds more than a gateway's retry period).
const REPLY_TTL: Duration = Duration::from_secs(30);
const REPLY_CAPACITY: usize = 100_000;
/// Requests decided at once; beyond that, new ones are dropped and retried
/// by the gateway.
const MAX_IN_FLIGHT: usize = 256;
/// How long `stop` waits for requests being decided.
const DRAIN: Duration = Duration::from_secs(5);

/// The running listener.
pub struct Listener {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Listener {
    /// Stops receiving and waits (a little) for requests being decided.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Binds `radius.listen` and serves; `None` when RADIUS is turned off.
pub async fn start(app: &AppState) -> anyhow::Result<Option<Listener>> {
    let radius = &app.config.radius;
    let Some(listen) = radius.listen else {
        return Ok(None);
    };
    let clients = Clients::from_config(&radius.clients)?;
    if clients.is_empty() {
        tracing::warn!(
            "no RADIUS clients are configured: every packet to {listen} will be dropped"
        );
    }
    let socket = UdpSocket::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen for RADIUS on {listen}: {e}"))?;
    let addr = socket.local_addr()?;
    let server = Arc::new(Server {
        socket,
        app: app.clone(),
        clients,
        sessions: Sessions::new(app.ichido.store.clone(), radius.state_seconds),
        replies: ReplyCache::new(REPLY_TTL, REPLY_CAPACITY),
        refusals: RefusalLog::default(),
        in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
    });
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(server.run(rx));
    tracing::info!(listen = %addr, "RADIUS is serving");
    Ok(Some(Listener {
        addr,
        shutdown: Some(tx),
        task,
    }))
}

struct Server {
    socket: UdpSocket,
    app: AppState,
    clients: Clients,
    sessions: Sessions,
    replies: ReplyCache,
    refusals: RefusalLog,
    in_flight: Arc<Semaphore>,
}

/// Why a packet got no answer: the label of `radius_dropped`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Discard {
    UnknownClient,
    Oversized,
    Malformed,
    UnsupportedCode,
    BadMessageAuthenticator,
    MissingMessageAuthenticator,
    RateLimited,
    InFlight,
    Busy,
    InternalError,
}

impl Discard {
    fn reason(self) -> &'static str {
        match self {
            Discard::UnknownClient => "unknown_client",
            Discard::Oversized => "oversized",
            Discard::Malformed => "malformed",
            Discard::UnsupportedCode => "unsupported_code",
            Discard::BadMessageAuthenticator => "bad_message_authenticator",
            Discard::MissingMessageAuthenticator => "missing_message_authenticator",
            Discard::RateLimited => "rate_limited",
            Discard::InFlight => "retransmission_in_flight",
            Discard::Busy => "busy",
            Discard::InternalError => "internal_error",
        }
    }

    /// The audit action, for the drops worth an operator's attention: a
    /// stranger knocking, or a gateway with the wrong secret or an old stack.
    fn audit_action(self) -> Option<&'static str> {
        match self {
            Discard::UnknownClient => Some("radius.unknown_client"),
            Discard::BadMessageAuthenticator | Discard::MissingMessageAuthenticator => {
                Some("radius.drop")
            }
            _ => None,
        }
    }
}

impl Server {
    async fn run(self: Arc<Self>, mut shutdown: oneshot::Receiver<()>) {
        // One octet more than the largest packet, to tell an oversized one.
        let mut buf = vec![0u8; MAX_PACKET_LEN + 1];
        loop {
            let received = tokio::select! {
                _ = &mut shutdown => break,
                r = self.socket.recv_from(&mut buf) => r,
            };
            match received {
                Ok((n, source)) => self.receive(&buf[..n], source),
                Err(e) => {
                    tracing::debug!(error = %e, "RADIUS receive failed");
                    tokio::task::yield_now().await;
                }
            }
        }
        let all = MAX_IN_FLIGHT as u32;
        let _ = tokio::time::timeout(DRAIN, self.in_flight.acquire_many(all)).await;
    }

    /// The checks that cost no database work, in the receive loop; the
    /// decision itself in a task of its own.
    fn receive(self: &Arc<Self>, datagram: &[u8], source: SocketAddr) {
        let Some(client) = self.clients.find(source.ip()).cloned() else {
            return self.drop_packet(None, source, Discard::UnknownClient);
        };
        if datagram.len() > MAX_PACKET_LEN {
            return self.drop_packet(Some(&client), source, Discard::Oversized);
        }
        let Ok(request) = Packet::decode(datagram) else {
            return self.drop_packet(Some(&client), source, Discard::Malformed);
        };
        if !matches!(request.code, Code::AccessRequest | Code::StatusServer) {
            return self.drop_packet(Some(&client), source, Discard::UnsupportedCode);
        }
        match verify_message_authenticator(datagram, client.secret.as_bytes()) {
            MessageAuthCheck::Valid => {}
            MessageAuthCheck::Invalid => {
                return self.drop_packet(Some(&client), source, Discard::BadMessageAuthenticator);
            }
            // RFC 5997 §3: Status-Server always carries one.
            MessageAuthCheck::Missing
                if client.require_message_authenticator || request.code == Code::StatusServer =>
            {
                return self.drop_packet(
                    Some(&client),
                    source,
                    Discard::MissingMessageAuthenticator,
                );
            }
            MessageAuthCheck::Missing => {}
        }
        let key = (source, request.identifier, request.authenticator);
        // A retransmission is answered before the rate limit: it is not a new attempt.
        let after_failure = match self.replies.check_in(key, Instant::now()) {
            Seen::New => false,
            Seen::Failed => true,
            Seen::InFlight => return self.drop_packet(Some(&client), source, Discard::InFlight),
            Seen::Answered(reply) => {
                self.count("retransmission");
                if let Err(e) = self.socket.try_send_to(&reply, source) {
                    tracing::debug!(%source, error = %e, "RADIUS reply not sent again");
                }
                return;
            }
        };
        if !client.admit() {
            self.unclaim(key, after_failure);
            return self.drop_packet(Some(&client), source, Discard::RateLimited);
        }
        let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
            self.unclaim(key, after_failure);
            return self.drop_packet(Some(&client), source, Discard::Busy);
        };
        let server = self.clone();
        tokio::spawn(async move {
            server
                .answer(client, request, source, key, after_failure, permit)
                .await
        });
    }

    async fn answer(
        self: Arc<Self>,
        client: Arc<Client>,
        request: Packet,
        source: SocketAddr,
        key: Key,
        after_failure: bool,
        _permit: OwnedSemaphorePermit,
    ) {
        let (decision, label) = if request.code == Code::StatusServer {
            (Ok(Decision::Accept), "status_server")
        } else {
            let decided = self.decide(&client, &request, source, after_failure);
            let (d, work) = ichido_store::work::measure(decided).await;
            // Counted before the answer leaves, as for HTTP routes.
            self.app.metrics.record_work("radius", work);
            let label = d.as_ref().map_or("error", Decision::label);
            (d, label)
        };
        let encoded = decision.map_err(anyhow::Error::from).and_then(|d| {
            let reply = d.reply(&request);
            Ok(reply.encode_response(&request.authenticator, client.secret.as_bytes())?)
        });
        match encoded {
            Ok(reply) => {
                let reply: Arc<[u8]> = reply.into();
                self.replies.answer(key, reply.clone());
                self.count(label);
                self.send(&reply, source).await;
            }
            Err(e) => {
                tracing::error!(client = %client.name, error = %e, "RADIUS request could not be decided");
                // No answer: the gateway retransmits, and the copy is
                // answered from what this attempt committed, if anything.
                self.replies.fail(key);
                self.drop_packet(Some(&client), source, Discard::InternalError);
            }
        }
    }

    /// A request dropped before its decision; one that follows a failure
    /// keeps that mark for its own retransmission.
    fn unclaim(&self, key: Key, after_failure: bool) {
        if after_failure {
            self.replies.fail(key);
        } else {
            self.replies.forget(key);
        }
    }

    /// An Access-Request. The retransmission of one whose decision failed
    /// is accepted without a second look if its acceptance was committed.
    async fn decide(
        &self,
        client: &Client,
        request: &Packet,
        source: SocketAddr,
        after_failure: bool,
    ) -> Result<Decision, ichido_domain::Error> {
        let ichido = &self.app.ichido;
        let ctx = handler::context(client, request, source);
        if after_failure
            && let Some(username) = request.string(ichido_radius::dictionary::USER_NAME)
        {
            let id = committed::request_id(&client.name, source, request);
            if committed::accepted(ichido, &username, &id).await? {
                return Ok(Decision::Accept);
            }
        }
        handler::decide(ichido, &self.sessions, client, request, &ctx).await
    }

    async fn send(&self, reply: &[u8], to: SocketAddr) {
        if let Err(e) = self.socket.send_to(reply, to).await {
            tracing::debug!(%to, error = %e, "RADIUS reply not sent");
        }
    }

    fn count(&self, result: &'static str) {
        let metrics = &self.app.metrics;
        metrics
            .radius_requests
            .get_or_create(&ResultLabel { result })
            .inc();
    }

    fn drop_packet(&self, client: Option<&Arc<Client>>, source: SocketAddr, why: Discard) {
        let reason = why.reason();
        let metrics = &self.app.metrics;
        metrics
            .radius_dropped
            .get_or_create(&ReasonLabel { reason })
            .inc();
        let nas = source.ip().to_canonical();
        let name = client.map_or("unknown", |c| c.name.as_str());
        tracing::debug!(%source, client = name, reason, "RADIUS packet dropped");
        let Some(action) = why.audit_action() else {
            return;
        };
        if !self.refusals.should_record(nas, reason, Instant::now()) {
            return;
        }
        let ctx = Context {
            actor: client.map_or_else(|| "radius".to_owned(), |c| format!("radius:{}", c.name)),
            client_ip: Some(nas.to_string()),
            user_agent: Some(format!("nas={nas}")),
        };
        let ichido = self.app.ichido.clone();
        tokio::spawn(async move {
            if let Err(e) = ichido.record_refusal(&ctx, action, None, reason).await {
                tracing::error!(error = %e, "could not audit a dropped RADIUS packet");
            }
        });
    }
}
