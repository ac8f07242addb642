use ichido_domain::audit::Context;
use ichido_domain::user::Role;
use ichido_server::config::ConfigArgs;
use ichido_server::http::wire::rfc3339;

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
    /// List every API key (id, name, role, created, revoked); never a secret.
    List,
    /// Revoke a key by id or name: every node refuses it from the next request on.
    Revoke {
        /// The key's id, or its name when that names exactly one live key.
        key: String,
    },
}

pub fn run(args: &ConfigArgs, cmd: AdminKeyCommand) -> anyhow::Result<()> {
    let config = super::load_config(args)?;
    super::runtime()?.block_on(async move {
        let ichido = super::open(&config).await?;
        match cmd {
            AdminKeyCommand::Create { role, name } => {
                let role =
                    Role::parse(&role).ok_or_else(|| anyhow::anyhow!("unknown role {role}"))?;
                let key = ichido.create_api_key(&Context::cli(), &name, role).await?;
                println!("{}", key.secret.expose());
            }
            AdminKeyCommand::List => {
                println!(
                    "{:>6}  {:<10}  {:<24}  {:<24}  name",
                    "id", "role", "created", "revoked"
                );
                for k in ichido.list_api_keys().await? {
                    let revoked = k.revoked_at.map(rfc3339).unwrap_or_else(|| "-".into());
                    println!(
                        "{:>6}  {:<10}  {:<24}  {:<24}  {}",
                        k.id,
                        k.role.as_str(),
                        rfc3339(k.created_at),
                        revoked,
                        k.name
                    );
                }
            }
            AdminKeyCommand::Revoke { key } => {
                let k = ichido.revoke_api_key(&Context::cli(), &key).await?;
                println!("revoked key {} ({}, {})", k.id, k.name, k.role.as_str());
            }
        }
        Ok(())
    })
}
