//! Group commit: every write transaction of this process goes through one
//! task that takes whatever writes are queued, runs each inside a savepoint
//! of one database transaction, commits once, and only then answers each
//! caller. One fsync (SQLite) or one commit holding the audit chain's head row
//! (PostgreSQL) then carries many validations instead of one.
//!
//! A write that fails is rolled back to its savepoint alone; the others in
//! the batch still commit. A caller never hears "accepted" before the commit
//! that makes it durable.

use futures_core::future::BoxFuture;
use sqlx::{AnyConnection, AnyPool, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::backend_err;
use ichido_domain::StoreError;
use ichido_domain::store::Result;

/// The most writes one transaction carries; bounds how long the batch holds
/// the database and how much one failed commit affects.
const MAX_BATCH: usize = 256;

type Finish = Box<dyn FnOnce(Result<()>) + Send>;

/// A write: runs on the batch's connection, says whether it succeeded (keep
/// its savepoint) and how to answer its caller once the commit is known.
type Job = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, (bool, Finish)> + Send>;

#[derive(Clone, Debug)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    pub(crate) fn spawn(pool: AnyPool, begin: &'static str) -> Writer {
        let (jobs, rx) = mpsc::channel::<Job>(4 * MAX_BATCH);
        tokio::spawn(run(pool, begin, rx));
        Writer { jobs }
    }

    /// Runs `f` in the next batch and returns its result once committed.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let outcome = f(conn).await;
                let ok = outcome.is_ok();
                let finish: Finish = Box::new(move |commit: Result<()>| {
                    let _ = tx.send(commit.and(outcome));
                });
                (ok, finish)
            })
        });
        self.jobs.send(job).await.map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("the database writer has stopped".into())
}

async fn run(pool: AnyPool, begin: &'static str, mut rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let jobs = std::mem::take(&mut batch);
        // The connection goes back to the pool between batches, so an
        // in-memory database (one connection) can still serve reads.
        match pool.acquire().await {
            Ok(mut conn) => commit_batch(&mut conn, begin, jobs).await,
            Err(e) => {
                let err = backend_err(e);
                for job in jobs {
                    fail_unrun(job, &err);
                }
            }
        }
    }
}

/// Answers a job that never ran.
fn fail_unrun(_job: Job, err: &StoreError) {
    // Dropping the job drops its reply channel; the caller sees the writer
    // as stopped for this write. Log the cause here, where it is known.
    tracing::error!(error = %err, "database unavailable for a write");
}

async fn commit_batch(conn: &mut AnyConnection, begin: &'static str, jobs: Vec<Job>) {
    if let Err(e) = conn.execute(begin).await {
        let err = backend_err(e);
        for job in jobs {
            fail_unrun(job, &err);
        }
        return;
    }
    let single = jobs.len() == 1;
    let mut finishes: Vec<Finish> = Vec::with_capacity(jobs.len());
    for job in jobs {
        if single {
            let (ok, finish) = job(conn).await;
            if !ok {
                let _ = conn.execute("ROLLBACK").await;
                finish(Ok(()));
                return;
            }
            finishes.push(finish);
            continue;
        }
        if let Err(e) = conn.execute("SAVEPOINT write").await {
            let err = backend_err(e);
            fail_unrun(job, &err);
            continue;
        }
        let (ok, finish) = job(conn).await;
        let end = if ok {
            "RELEASE SAVEPOINT write"
        } else {
            "ROLLBACK TO SAVEPOINT write; RELEASE SAVEPOINT write"
        };
        let mut ended = Ok(());
        for stmt in end.split("; ") {
            if let Err(e) = conn.execute(stmt).await {
                ended = Err(backend_err(e));
                break;
            }
        }
        match ended {
            // A failed write answers with its own error right away: nothing of
            // it will be committed either way.
            Ok(()) if !ok => finish(Ok(())),
            Ok(()) => finishes.push(finish),
            Err(e) => {
                // The transaction is in an unknown state: give up on all of it.
                let _ = conn.execute("ROLLBACK").await;
                finish(Err(e.clone()));
                for f in finishes {
                    f(Err(e.clone()));
                }
                return;
            }
        }
    }
    let committed = conn
        .execute("COMMIT")
        .await
        .map(|_| ())
        .map_err(backend_err);
    if committed.is_err() {
        let _ = conn.execute("ROLLBACK").await;
    }
    for f in finishes {
        f(committed.clone());
    }
}
