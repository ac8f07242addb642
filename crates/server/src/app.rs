//! Wiring: configuration in, a running server out. Tests start it the same
//! way as `ichido serve`, on 127.0.0.1:0 with a clock they can move.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ichido_crypto::Keyring;
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
    pub api_keys: ApiKeyCache,
    pub metrics: Arc<Metrics>,
    pub limiter: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
}

/// Remembers authenticated keys for a short while so a busy gateway does not
/// cost a database read per request. Keyed by the keyed hash, never the key.
#[derive(Clone, Default)]
pub struct ApiKeyCache(Arc<Mutex<HashMap<String, (ApiKey, Instant)>>>);

const API_KEY_TTL: Duration = Duration::from_secs(30);

impl ApiKeyCache {
    pub async fn authenticate(
        &self,
        ichido: &Ichido<Db>,
        secret: &str,
    ) -> Result<Option<ApiKey>, Error> {
        let Some(hash) = ichido.api_key_hash(secret) else {
            return Ok(None);
        };
        if let Some((key, at)) = self.0.lock().map_err(|_| poisoned())?.get(&hash)
            && at.elapsed() < API_KEY_TTL
        {
            return Ok(Some(key.clone()));
        }
        let found = ichido.store_api_key_by_hash(&hash).await?;
        if let Some(key) = &found {
            let mut cache = self.0.lock().map_err(|_| poisoned())?;
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(hash, (key.clone(), Instant::now()));
        }
        Ok(found)
    }
}

fn poisoned() -> Error {
    Error::Store(ichido_domain::StoreError::Backend(
        "api key cache poisoned".into(),
    ))
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
    let db = Db::connect(&config.database_url(), durability)
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
        Arc::new(keyring),
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
    .with_password_pool(Arc::new(passwords)))
}

pub fn load_keyring(config: &Config) -> anyhow::Result<Keyring> {
    if let Some(v) = &config.master_key {
        return Keyring::from_env_value(v)
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
        api_keys: ApiKeyCache::default(),
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
