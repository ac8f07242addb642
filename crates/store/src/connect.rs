use std::str::FromStr;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use crate::writer::{Dialect, Writer};
use crate::{Db, backend_err};
use ichido_domain::StoreError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How SQLite commits. `Full` survives power loss; `Normal` (WAL) survives a
/// crash of the process but may lose the last commits on power loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    #[default]
    Full,
    Normal,
}

impl FromStr for Durability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "full" => Ok(Durability::Full),
            "normal" => Ok(Durability::Normal),
            other => Err(format!(
                "durability must be \"full\" or \"normal\", not {other:?}"
            )),
        }
    }
}

impl Db {
    /// Opens (creating if needed) the database at `url` and brings its schema
    /// up to date. `sqlite://path`, `sqlite::memory:` or `postgres://…`.
    pub async fn connect(url: &str, durability: Durability) -> Result<Db, StoreError> {
        sqlx::any::install_default_drivers();
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .map_err(backend_err)?;
            Db {
                read: pool.clone(),
                writer: Writer::spawn(
                    pool.clone(),
                    Dialect {
                        begin: "BEGIN",
                        read_head: "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
                    },
                ),
                write: pool,
                backend: Backend::Postgres,
            }
        } else if url.starts_with("sqlite:") {
            let memory = url.contains(":memory:") || url.contains("mode=memory");
            let url = if memory || url.contains('?') {
                url.to_owned()
            } else {
                format!("{url}?mode=rwc")
            };
            let sync = match durability {
                Durability::Full => "FULL",
                Durability::Normal => "NORMAL",
            };
            // A SQLite connection is a file in this process: pinging it before
            // each use (sqlx's default) is one more thread round trip per
            // query and finds nothing.
            let opts = move || {
                AnyPoolOptions::new()
                    .test_before_acquire(false)
                    .after_connect(move |conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            if !memory {
                                conn.execute("PRAGMA journal_mode = WAL").await?;
                            }
                            conn.execute(format!("PRAGMA synchronous = {sync}").as_str())
                                .await?;
                            Ok(())
                        })
                    })
            };
            // An in-memory database lives in its one connection.
            let write = opts()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect(&url)
                .await
                .map_err(backend_err)?;
            let read = if memory {
                write.clone()
            } else {
                opts()
                    .max_connections(8)
                    .connect(&url)
                    .await
                    .map_err(backend_err)?
            };
            Db {
                read,
                // The write lock is taken at BEGIN, so a batch never fails
                // half-way on a lock upgrade.
                writer: Writer::spawn(
                    write.clone(),
                    Dialect {
                        begin: "BEGIN IMMEDIATE",
                        read_head: "SELECT seq, hash FROM audit_head WHERE id = 1",
                    },
                ),
                write,
                backend: Backend::Sqlite,
            }
        } else {
            return Err(StoreError::Backend(format!(
                "unsupported database URL (expected sqlite:// or postgres://): {}",
                redact_url(url)
            )));
        };
        crate::migrate::run(&db).await?;
        Ok(db)
    }

    pub(crate) fn reader(&self) -> &AnyPool {
        crate::work::count(|w| w.reads += 1);
        &self.read
    }

    pub(crate) fn writer(&self) -> &AnyPool {
        &self.write
    }
}

/// The URL without its password, fit for an error message.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}
