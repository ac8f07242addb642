use std::io::Write;
use std::path::PathBuf;

use ichido_domain::Store;
use ichido_domain::audit::verify::verify_log;
use ichido_domain::audit::{ChainKey, Checkpoint};
use ichido_server::config::ConfigArgs;

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Check the keyed hash chain and its head: exits non-zero naming the
    /// first edited, inserted or deleted event, or where the log was cut.
    Verify {
        /// A checkpoint file written by `ichido audit checkpoint` (repeatable):
        /// the log must still reach each checkpoint and agree with it.
        #[arg(long = "checkpoint", value_name = "FILE")]
        checkpoints: Vec<PathBuf>,
    },
    /// Verify the log, then append a signed line naming its head to a file
    /// (default: standard output). Keep it where the database's writers
    /// cannot reach it.
    Checkpoint {
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Write every event as JSON lines, oldest first.
    Export {
        /// File to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

const PAGE: i64 = 5000;

pub fn run(args: &ConfigArgs, cmd: AuditCommand) -> anyhow::Result<()> {
    let config = super::load_config(args)?;
    super::runtime()?.block_on(async move {
        let ichido = super::open(&config).await?;
        let store = &ichido.store;
        let key = ChainKey::from_keyring(&ichido.keyring().current());
        match cmd {
            AuditCommand::Verify { checkpoints } => {
                let mut all = Vec::new();
                for path in &checkpoints {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                    let found = Checkpoint::parse_lines(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                    if found.is_empty() {
                        anyhow::bail!("{}: no checkpoint in this file", path.display());
                    }
                    all.extend(found);
                }
                let verified = verify_log(store, &key, &all).await?;
                println!(
                    "audit log intact: {} events, head {}",
                    verified.events, verified.head.hash
                );
                if !all.is_empty() {
                    println!("agrees with {} checkpoints", all.len());
                }
                Ok(())
            }
            AuditCommand::Checkpoint { out } => {
                let verified = verify_log(store, &key, &[]).await?;
                let line = Checkpoint::sign(&key, &verified.head, ichido.clock().now()).to_line();
                match out {
                    Some(p) => {
                        let mut f = std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(&p)
                            .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
                        writeln!(f, "{line}")?;
                        f.sync_all()?;
                    }
                    None => println!("{line}"),
                }
                Ok(())
            }
            AuditCommand::Export { out } => {
                let mut w: Box<dyn Write> = match out {
                    Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p)?)),
                    None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
                };
                let mut after = 0;
                loop {
                    let page = store.audit_scan(after, PAGE).await?;
                    for r in &page {
                        serde_json::to_writer(&mut w, r)?;
                        w.write_all(b"\n")?;
                    }
                    match page.last() {
                        Some(last) => after = last.seq,
                        None => break,
                    }
                }
                w.flush()?;
                Ok(())
            }
        }
    })
}
