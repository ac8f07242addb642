//! The `ichido` binary: server, administration and token tools.

use clap::{Parser, Subcommand};
use ichido_server::config::ConfigArgs;

mod commands;

#[derive(Parser)]
#[command(
    name = "ichido",
    version,
    about = "Self-hosted multi-factor authentication server"
)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (creates its data directory, database and master key on first start).
    Serve(commands::serve::ServeArgs),
    /// Create API keys for applications, gateways and administrators.
    #[command(subcommand)]
    AdminKey(commands::admin_key::AdminKeyCommand),
    /// Manage the master key that seals token seeds.
    #[command(subcommand)]
    Keys(commands::keys::KeysCommand),
    /// Verify or export the hash-chained audit log.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
    /// Print a one-time password (HOTP, TOTP or OCRA), like oathtool.
    #[command(subcommand)]
    Code(commands::code::CodeCommand),
    /// Print an otpauth:// Key URI and optionally write its QR code.
    Uri(commands::uri::UriArgs),
    /// Import hardware tokens from seed files.
    #[command(subcommand)]
    Tokens(commands::tokens::TokensCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => commands::serve::run(&cli.config, args),
        Command::AdminKey(cmd) => commands::admin_key::run(&cli.config, cmd),
        Command::Keys(cmd) => commands::keys::run(&cli.config, cmd),
        Command::Audit(cmd) => commands::audit::run(&cli.config, cmd),
        Command::Code(cmd) => commands::code::run(cmd),
        Command::Uri(args) => commands::uri::run(args),
        Command::Tokens(cmd) => commands::tokens::run(&cli.config, cmd),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ichido: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
