//! SQLite and PostgreSQL behind the domain's `Store` port.
//!
//! One set of queries serves both backends through sqlx's `Any` driver: both
//! accept `$N` parameters (SQLite numbers them by first appearance, so every
//! query uses them in ascending order), `RETURNING`, and 64-bit integers for
//! every number and timestamp. What differs — the schema's column types and
//! connection tuning — lives in `migrations/<backend>` and `connect.rs`; the
//! one exception is the hot path in `validation.rs`, one round trip written
//! once per backend (SQLite chains statements, PostgreSQL uses CTEs).

mod api_keys;
mod audit;
mod audit_rekey;
mod challenges;
mod connect;
mod migrate;
mod recovery;
mod reset;
mod rows;
mod signin;
mod store_impl;
mod tokens;
mod two_step;
mod users;
mod validation;
pub mod work;
mod writer;

pub use connect::{Backend, Durability, redact_url};
pub use writer::Health as WriterHealth;

use sqlx::AnyPool;

/// A handle on the database: cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    /// Reads run here, concurrently.
    read: AnyPool,
    /// The pool of the group-commit writer and of migrations. On SQLite it
    /// has a single connection; on PostgreSQL it is the same pool as `read`.
    write: AnyPool,
    writer: writer::Writer,
    backend: Backend,
}

impl Db {
    /// Runs a write in the next group commit, in a savepoint; see `writer`.
    pub(crate) async fn write<T, F>(&self, f: F) -> ichido_domain::store::Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(
                &'c mut writer::Tx,
            )
                -> futures_core::future::BoxFuture<'c, ichido_domain::store::Result<T>>
            + Send
            + 'static,
    {
        self.writer.write(writer::Isolation::Savepoint, f).await
    }

    /// Tests only: the next write commits, but its caller hears an error,
    /// as when a COMMIT's acknowledgement is lost.
    #[cfg(feature = "test-hooks")]
    pub fn lose_next_commit_ack(&self) {
        self.writer
            .lose_ack
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the group-commit writer runs; see `writer`.
    pub fn writer_health(&self) -> &WriterHealth {
        self.writer.health()
    }

    /// Test hook: kills the writer task and keeps it down until the returned
    /// sender is dropped; it is then started again.
    #[cfg(feature = "test-hooks")]
    pub async fn kill_writer(&self) -> tokio::sync::oneshot::Sender<()> {
        self.writer.kill().await
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

pub(crate) fn backend_err(e: sqlx::Error) -> ichido_domain::StoreError {
    if let sqlx::Error::Database(d) = &e
        && d.is_unique_violation()
    {
        return ichido_domain::StoreError::Conflict(d.message().to_owned());
    }
    ichido_domain::StoreError::Backend(e.to_string())
}
