//! `ichido tokens import`: hardware tokens from a seed file, all or nothing.

use anyhow::{Context, anyhow};
use ichido_domain::audit::Context as AuditContext;
use ichido_server::config::ConfigArgs;
use ichido_server::import::{self, Format};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum FileFormat {
    /// `serial, secret, type, digits, period/counter` per line.
    Csv,
    /// PSKC (RFC 6030), plaintext or encrypted with a pre-shared key.
    Pskc,
}

#[derive(clap::Subcommand)]
pub enum TokensCommand {
    /// Import hardware tokens; they stay unassigned until given to a user.
    Import {
        #[arg(long, value_enum)]
        format: FileFormat,
        /// The pre-shared key of an encrypted PSKC file, hex.
        #[arg(long, value_name = "HEX")]
        psk_hex: Option<String>,
        /// The seed file.
        file: std::path::PathBuf,
    },
}

pub fn run(args: &ConfigArgs, cmd: TokensCommand) -> anyhow::Result<()> {
    let TokensCommand::Import {
        format,
        psk_hex,
        file,
    } = cmd;
    let content = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let psk = psk_hex
        .as_deref()
        .map(hex::decode)
        .transpose()
        .map_err(|_| anyhow!("--psk-hex is not hex"))?;
    let format = match format {
        FileFormat::Csv => Format::Csv,
        FileFormat::Pskc => Format::Pskc,
    };
    let tokens = import::parse(format, &content, psk.as_deref())
        .map_err(|e| anyhow!("{}: {e}; nothing was imported", file.display()))?;
    let config = super::load_config(args)?;
    super::runtime()?.block_on(async move {
        let ichido = super::open(&config).await?;
        let n = ichido
            .import_tokens(&AuditContext::cli(), tokens)
            .await
            .map_err(|e| anyhow!("{}: {e}; nothing was imported", file.display()))?;
        println!("imported {n} tokens (unassigned)");
        Ok(())
    })
}
