use ichido_server::config::ConfigArgs;

#[derive(clap::Subcommand)]
pub enum KeysCommand {
    /// Add a new master key, make it current and re-seal every token seed under it.
    Rotate,
    /// List the master key ids (never the keys).
    List,
}

pub fn run(args: &ConfigArgs, cmd: KeysCommand) -> anyhow::Result<()> {
    let config = super::load_config(args)?;
    if config.master_key.is_some() {
        anyhow::bail!(
            "the master key comes from the configuration (ICHIDO_MASTER_KEY); rotate it where it is kept"
        );
    }
    let path = config.master_key_path();
    let mut keyring = ichido_server::app::load_keyring(&config)?;
    match cmd {
        KeysCommand::List => {
            for id in keyring.ids() {
                let current = if &id == keyring.current_id() {
                    " (current)"
                } else {
                    ""
                };
                println!("{id}{current}");
            }
            Ok(())
        }
        KeysCommand::Rotate => {
            let new_id = keyring.rotate();
            // The file is saved first: a seed re-sealed under a key that was
            // then lost would be lost with it.
            keyring
                .save(&path)
                .map_err(|e| anyhow::anyhow!("saving {}: {e}", path.display()))?;
            super::runtime()?.block_on(async move {
                let ichido = super::open(&config).await?;
                let n = ichido.reseal_all().await?;
                println!("master key {new_id} is current; re-sealed {n} token seeds");
                Ok(())
            })
        }
    }
}
