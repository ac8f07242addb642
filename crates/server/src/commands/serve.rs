use std::net::SocketAddr;
use std::sync::Arc;

use ichido_domain::SystemClock;
use ichido_domain::service::Settings;
use ichido_server::config::ConfigArgs;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address of the HTTP API (default 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// UDP address of the RADIUS server (default 127.0.0.1:1812); "" or "off" turns it off.
    #[arg(long, value_name = "ADDR")]
    radius_listen: Option<String>,
}

pub fn run(args: &ConfigArgs, serve: ServeArgs) -> anyhow::Result<()> {
    let mut config = super::load_config(args)?;
    if let Some(listen) = serve.listen {
        config.listen = listen;
    }
    if let Some(radius) = &serve.radius_listen {
        config.radius.listen = ichido_server::config::parse_listen(radius)
            .map_err(|e| anyhow::anyhow!("--radius-listen: {e}"))?;
    }
    super::runtime()?.block_on(async move {
        let settings = Settings { default_issuer: config.issuer.clone(), ..Settings::default() };
        let running = ichido_server::app::start(config.clone(), Arc::new(SystemClock), settings).await?;
        if let Some(key) = &running.bootstrap_key {
            // Printed once, on stdout, so it can be captured by whoever started the server.
            println!("First start: an admin API key was created. It is shown only now; store it safely:");
            println!();
            println!("    {key}");
            println!();
            println!("Use it as `Authorization: Bearer <key>`. Create more with `ichido admin-key create`.");
        }
        tracing::info!(
            listen = %running.addr,
            radius = %running.radius_addr.map_or_else(|| "off".to_owned(), |a| a.to_string()),
            database = %ichido_store::redact_url(&config.database_url()),
            "ichido is serving"
        );
        running.wait().await
    })
}
