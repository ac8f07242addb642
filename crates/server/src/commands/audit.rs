use std::io::Write;

use ichido_domain::Store;
use ichido_domain::audit::ChainVerifier;
use ichido_server::config::ConfigArgs;

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain: exits non-zero naming the first edited, inserted or deleted event.
    Verify,
    /// Write every event as JSON lines, oldest first.
    Export {
        /// File to write (default: standard output).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

const PAGE: i64 = 5000;

pub fn run(args: &ConfigArgs, cmd: AuditCommand) -> anyhow::Result<()> {
    let config = super::load_config(args)?;
    super::runtime()?.block_on(async move {
        let ichido = super::open(&config).await?;
        let store = &ichido.store;
        match cmd {
            AuditCommand::Verify => {
                let (head, _) = store.audit_head().await?;
                let mut verifier = ChainVerifier::default();
                let mut after = 0;
                loop {
                    let page = store.audit_scan(after, PAGE).await?;
                    for r in &page {
                        verifier.check(r)?;
                    }
                    match page.last() {
                        Some(last) => after = last.seq,
                        None => break,
                    }
                }
                let n = verifier.finish(head)?;
                println!("audit log intact: {n} events");
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
