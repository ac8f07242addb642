//! Wiring: configuration in, a running server out. Tests start it the same
//! way as `ichido serve`, on 127.0.0.1:0 with a clock they can move.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ichido_crypto::{Keyring, SharedKeyring};
use ichido_domain::service::{Ichido, Settings};
use ichido_domain::user::ApiKey;
use ichido_domain::{Clock, Error};
use ichido_store::{Db, Durability};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub ichido: Ichido<Db>,
    pub config: Arc<Config>,
    pub api_keys: ApiKeys,
    pub metrics: Arc<Metrics>,
    pub limiter: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
}

/// Authenticates API keys. There is deliberately no cache: one indexed read
/// per request means a key revoked on any node is refused by every node at
/// once.
#[derive(Clone, Default)]
pub struct ApiKeys;

impl ApiKeys {
    pub async fn authenticate(
        &self,
        ichido: &Ichido<Db>,
        secret: &str,
    ) -> Result<Option<ApiKey>, Error> {
        ichido.authenticate_api_key(secret).await
    }
}

/// Opens the data directory, keyring and database the configuration names.
pub async fn open(
    config: &Config,
    clock: Arc<dyn Clock>,
    settings: Settings,
) -> anyhow::Result<Ichido<Db>> {
    let keyring = load_keyring(config)?;
    let durability: Durability = config.durability.parse().map_err(anyhow::Error::msg)?;
    if config.database_url.is_none() {
        create_private_dir(&config.data_dir)?;
    }
    let chain = ichido_domain::audit::ChainKey::from_keyring(&keyring);
    let db = Db::connect(&config.database_url(), durability, chain)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "database {}: {e}",
                ichido_store::redact_url(&config.database_url())
            )
        })?;
    let delivery: Arc<dyn ichido_domain::notify::Delivery> =
        Arc::new(crate::delivery::ServerDelivery::new(config)?);
    let outbox = crate::delivery::outbox::QueuedOutbox::spawn(delivery.clone(), db.clone());
    let passwords = crate::passwords::BlockingPasswords::new(config.password_threads);
    Ok(Ichido::new(
        db,
        Arc::new(shared_keyring(config, keyring)),
        clock,
        config.policy.clone(),
        settings,
    )
    .with_out_of_band(
        delivery,
        Arc::new(outbox),
        config.challenge.clone(),
        config.templates.load()?,
    )
    .with_reset(config.reset.clone())
    .with_signin(config.signin.clone())
    .with_password_pool(Arc::new(passwords)))
}

pub fn load_keyring(config: &Config) -> anyhow::Result<Keyring> {
    if let Some(v) = &config.master_key {
        return Keyring::from_env_value(v.expose())
            .map_err(|e| anyhow::anyhow!("master key from configuration: {e}"));
    }
    let path = config.master_key_path();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let (keyring, created) = Keyring::load_or_create(&path)
        .map_err(|e| anyhow::anyhow!("master key {}: {e}", path.display()))?;
    if created {
        tracing::info!(path = %path.display(), "created a new master key; back it up: without it no token seed can be read");
    }
    Ok(keyring)
}

/// The keyring as a running server holds it: read again from the key file
/// when a sealed value names a key added since (`ichido keys rotate`). A
/// keyring from the environment cannot change under a running process.
fn shared_keyring(config: &Config, keyring: Keyring) -> SharedKeyring {
    if config.master_key.is_some() {
        return SharedKeyring::fixed(keyring);
    }
    let path = config.master_key_path();
    SharedKeyring::reloading(keyring, move || Keyring::load(&path))
}

/// Reads the key file again on SIGHUP, as on an unknown key id.
fn reload_keyring_on_hangup(state: &AppState) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            return;
        };
        let ichido = state.ichido.clone();
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                match ichido.keyring().reload() {
                    Ok(true) => tracing::info!("reloaded the keyring on SIGHUP"),
                    Ok(false) => tracing::info!(
                        "SIGHUP: the keyring comes from the environment and does not change"
                    ),
                    Err(e) => tracing::error!(error = %e, "SIGHUP: reloading the keyring failed"),
                }
            }
        });
    }
}

/// Logs a signed checkpoint of the audit chain's head every
/// `[audit] checkpoint_seconds`, the first one at start: a log shipped
/// elsewhere then anchors the chain outside the database. One read and one
/// HMAC each time; the full check stays with `ichido audit verify`.
fn log_audit_checkpoints(state: &AppState) {
    use ichido_domain::Store;
    use ichido_domain::audit::{ChainKey, Checkpoint};
    let every = state.config.audit.checkpoint_seconds;
    if every == 0 {
        return;
    }
    let ichido = state.ichido.clone();
    tokio::spawn(async move {
        let key = ChainKey::from_keyring(&ichido.keyring().current());
        let mut tick = tokio::time::interval(Duration::from_secs(every));
        loop {
            tick.tick().await;
            match ichido.store.audit_tip().await {
                Ok(head)
                    if head
                        .tag
                        .as_deref()
                        .is_some_and(|t| key.head_tag_matches(head.seq, &head.hash, t)) =>
                {
                    let line = Checkpoint::sign(&key, &head, ichido.clock().now()).to_line();
                    tracing::info!("audit checkpoint {line}");
                }
                Ok(head) => tracing::error!(
                    seq = head.seq,
                    "the audit chain's head is not signed by this keyring; no checkpoint logged"
                ),
                Err(e) => tracing::warn!(error = %e, "audit checkpoint: cannot read the head"),
            }
        }
    });
}

/// Deletes the sign-in history older than `[signin] history_days`; how
/// many rows went. The server runs it at start and once a day.
pub async fn prune_signin_history(state: &AppState) -> anyhow::Result<u64> {
    Ok(state.ichido.prune_signin_history().await?)
}

/// One delete a day keeps the history within `[signin] history_days`,
/// off the path of the sign-ins themselves.
fn prune_signin_history_daily(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(86_400));
        loop {
            tick.tick().await;
            match prune_signin_history(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "pruned the sign-in history"),
                Err(e) => tracing::warn!(error = %e, "pruning the sign-in history failed"),
            }
        }
    });
}

fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| anyhow::anyhow!("cannot create data directory {}: {e}", dir.display()))
}

pub fn state(ichido: Ichido<Db>, config: Config) -> AppState {
    let limiter = NonZeroU32::new(config.rate_limit.per_second).map(|per_second| {
        let burst = NonZeroU32::new(config.rate_limit.burst).unwrap_or(per_second);
        Arc::new(RateLimiter::keyed(
            Quota::per_second(per_second).allow_burst(burst),
        ))
    });
    AppState {
        ichido,
        config: Arc::new(config),
        api_keys: ApiKeys,
        metrics: Arc::new(Metrics::default()),
        limiter,
    }
}

/// A server running in this process.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    /// The first admin key, when this start created the installation.
    pub bootstrap_key: Option<String>,
    /// Where RADIUS listens (UDP), unless it is turned off.
    pub radius_addr: Option<SocketAddr>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    radius: Option<crate::radius::Listener>,
}

impl Running {
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        if let Some(radius) = self.radius.take() {
            radius.stop().await;
        }
        self.state.ichido.store.close().await;
    }

    /// Waits until the server stops (on SIGINT/SIGTERM when `serve` runs it).
    pub async fn wait(self) -> anyhow::Result<()> {
        let served = self.task.await;
        if let Some(radius) = self.radius {
            radius.stop().await;
        }
        served??;
        Ok(())
    }
}

pub async fn start(
    config: Config,
    clock: Arc<dyn Clock>,
    settings: Settings,
) -> anyhow::Result<Running> {
    let ichido = open(&config, clock, settings).await?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    let state = state(ichido, config);
    if let Some(limiter) = state.limiter.clone() {
        // Forget addresses that went quiet, so a scan of many sources cannot grow the table forever.
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                limiter.retain_recent();
                if Arc::strong_count(&limiter) == 1 {
                    break;
                }
            }
        });
    }
    crate::delivery::notifier::spawn(&state)?;
    reload_keyring_on_hangup(&state);
    log_audit_checkpoints(&state);
    prune_signin_history_daily(&state);
    let radius = crate::radius::start(&state).await?;
    let radius_addr = radius.as_ref().map(|r| r.addr);
    // Only once every listener is bound: a start that fails before this
    // point must not create a key nobody was shown.
    let bootstrap_key = state
        .ichido
        .bootstrap_admin_key()
        .await?
        .map(|k| k.secret.expose().to_owned());
    let app =
        crate::http::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                tokio::select! {
                    _ = rx => {}
                    _ = shutdown_signal() => {}
                }
            })
            .await
    });
    Ok(Running {
        addr,
        state,
        bootstrap_key,
        radius_addr,
        shutdown: Some(tx),
        task,
        radius,
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
