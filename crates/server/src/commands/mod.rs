//! Subcommands of the `ichido` binary.

pub mod admin_key;
pub mod audit;
pub mod code;
pub mod keys;
pub mod serve;
pub mod tokens;
pub mod uri;

use std::sync::Arc;

use ichido_domain::SystemClock;
use ichido_domain::service::{Ichido, Settings};
use ichido_server::config::{Config, ConfigArgs};
use ichido_store::Db;

/// Loads the configuration and sets up logging, reporting ignored variables.
pub fn load_config(args: &ConfigArgs) -> anyhow::Result<Config> {
    let (config, warnings) = Config::load(args)?;
    ichido_server::logging::init(config.log_format, &config.log_level);
    for w in warnings {
        tracing::warn!("{w}");
    }
    Ok(config)
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Opens the installation the configuration names, for offline commands.
pub async fn open(config: &Config) -> anyhow::Result<Ichido<Db>> {
    let settings = Settings {
        default_issuer: config.issuer.clone(),
        ..Settings::default()
    };
    ichido_server::app::open(config, Arc::new(SystemClock), settings).await
}
