use ichido_domain::audit::Context;
use ichido_domain::user::Role;
use ichido_server::config::ConfigArgs;

#[derive(clap::Subcommand)]
pub enum AdminKeyCommand {
    /// Create an API key and print it (shown only once).
    Create {
        /// admin: everything; helpdesk: read, disable, unlock; validator: /v1/validate only.
        #[arg(long, value_parser = ["admin", "helpdesk", "validator"])]
        role: String,
        /// A name for the audit log, e.g. the gateway that will use it.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

pub fn run(args: &ConfigArgs, cmd: AdminKeyCommand) -> anyhow::Result<()> {
    let config = super::load_config(args)?;
    let AdminKeyCommand::Create { role, name } = cmd;
    let role = Role::parse(&role).ok_or_else(|| anyhow::anyhow!("unknown role {role}"))?;
    super::runtime()?.block_on(async move {
        let ichido = super::open(&config).await?;
        let key = ichido.create_api_key(&Context::cli(), &name, role).await?;
        println!("{}", key.secret.expose());
        Ok(())
    })
}
