//! Group commit: every write transaction of this process goes through one
//! task that takes whatever writes are queued, runs them in one database
//! transaction, commits once, and only then answers each caller. One fsync (SQLite) or one commit (PostgreSQL) then carries many
//! validations instead of one.
//!
//! The batch reads the audit chain's head once, right after `BEGIN`, and
//! writes it back once before `COMMIT`; appends in between only insert their
//! row. On PostgreSQL that read takes the head row's lock first, so every
//! writer on every node locks in the same order (head, then rows) and two
//! nodes' batches queue instead of deadlocking.
//!
//! A write that may fail in the ordinary course (a name already taken, a
//! state that changed) runs in a savepoint and is rolled back alone, with the
//! head as it stood before it; the others in the batch still commit. The two
//! writes of the hot path cannot fail that way, so they run without one (a
//! savepoint is a round trip of its own); should one fail all the same, the
//! whole batch is rolled back and every caller in it gets the error. A
//! caller never hears "accepted" before the commit that makes it durable.

use futures_core::future::BoxFuture;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Row};
use tokio::sync::{mpsc, oneshot};

use crate::backend_err;
use ichido_domain::StoreError;
use ichido_domain::store::Result;

/// The most writes one transaction carries; bounds how long the batch holds
/// the database and how much one failed commit affects.
const MAX_BATCH: usize = 256;

/// The audit chain's last event as the open transaction sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) seq: i64,
    pub(crate) hash: [u8; 32],
}

/// What a write runs on: the batch's connection and the audit head.
pub(crate) struct Tx {
    conn: PoolConnection<Any>,
    pub(crate) head: Head,
}

impl Tx {
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

/// How a backend opens a batch and locks the audit head.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dialect {
    pub(crate) begin: &'static str,
    pub(crate) read_head: &'static str,
}

type Finish = Box<dyn FnOnce(Result<()>) + Send>;

/// A write: runs on the batch's transaction, says whether it succeeded (keep
/// its savepoint) and how to answer its caller once the commit is known.
type Run = Box<dyn for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, (bool, Finish)> + Send>;

struct Job {
    run: Run,
    isolation: Isolation,
}

/// What a failure of the write means for the rest of its batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Isolation {
    /// In a savepoint: it fails alone.
    Savepoint,
    /// Writes that fail only when the database does: a failure ends the batch.
    None,
}

#[derive(Clone, Debug)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
    /// Tests only: the next write that commits answers with an error, as
    /// when a COMMIT's acknowledgement is lost on the way back.
    #[cfg(feature = "fault-injection")]
    pub(crate) lose_ack: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Writer {
    pub(crate) fn spawn(pool: AnyPool, dialect: Dialect) -> Writer {
        let (jobs, rx) = mpsc::channel::<Job>(4 * MAX_BATCH);
        tokio::spawn(run(pool, dialect, rx));
        Writer {
            jobs,
            #[cfg(feature = "fault-injection")]
            lose_ack: Default::default(),
        }
    }

    /// Runs `f` in the next batch and returns its result once committed.
    pub(crate) async fn write<T, F>(&self, isolation: Isolation, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        crate::work::count(|w| w.writes += 1);
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let run: Run = Box::new(move |conn| {
            Box::pin(async move {
                let outcome = f(conn).await;
                let ok = outcome.is_ok();
                let finish: Finish = Box::new(move |commit: Result<()>| {
                    let _ = tx.send(commit.and(outcome));
                });
                (ok, finish)
            })
        });
        let job = Job { run, isolation };
        self.jobs.send(job).await.map_err(|_| stopped())?;
        let result = rx.await.map_err(|_| stopped())?;
        #[cfg(feature = "fault-injection")]
        if result.is_ok()
            && self
                .lose_ack
                .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(StoreError::Backend(
                "the commit's acknowledgement was lost".into(),
            ));
        }
        result
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("the database writer has stopped".into())
}

async fn run(pool: AnyPool, dialect: Dialect, mut rx: mpsc::Receiver<Job>) {
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
        let opened = match pool.acquire().await {
            Ok(conn) => begin(conn, dialect).await,
            Err(e) => Err(backend_err(e)),
        };
        match opened {
            Ok(mut tx) => commit_batch(&mut tx, jobs).await,
            Err(err) => {
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

async fn begin(mut conn: PoolConnection<Any>, dialect: Dialect) -> Result<Tx> {
    conn.execute(dialect.begin).await.map_err(backend_err)?;
    match read_head(&mut conn, dialect).await {
        Ok(head) => Ok(Tx { conn, head }),
        Err(e) => {
            let _ = conn.execute("ROLLBACK").await;
            Err(e)
        }
    }
}

async fn read_head(conn: &mut AnyConnection, dialect: Dialect) -> Result<Head> {
    let row = sqlx::query(dialect.read_head)
        .fetch_one(&mut *conn)
        .await
        .map_err(backend_err)?;
    let seq: i64 = row.try_get("seq").map_err(backend_err)?;
    let hex_hash: String = row.try_get("hash").map_err(backend_err)?;
    let mut hash = [0u8; 32];
    hex::decode_to_slice(&hex_hash, &mut hash)
        .map_err(|_| StoreError::Backend("audit head hash is corrupt".into()))?;
    Ok(Head { seq, hash })
}

/// Writes the head back if the batch appended to the chain, then commits.
async fn finish_tx(tx: &mut Tx, start: Head) -> Result<()> {
    if tx.head != start {
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(tx.head.seq)
            .bind(hex::encode(tx.head.hash))
            .execute(tx.conn())
            .await
            .map_err(backend_err)?;
    }
    tx.conn().execute("COMMIT").await.map_err(backend_err)?;
    Ok(())
}

/// Where the batch stands between two jobs: in no savepoint, or in one
/// whose job succeeded (keep it) or failed (roll it back).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Savepoint {
    Closed,
    Keep,
    Discard,
}

impl Savepoint {
    /// The statement that ends this savepoint, and opens the next one if
    /// `reopen`: one round trip between two isolated jobs instead of two.
    fn end(self, reopen: bool) -> Option<&'static str> {
        match (self, reopen) {
            (Savepoint::Closed, false) => None,
            (Savepoint::Closed, true) => Some("SAVEPOINT write"),
            (Savepoint::Keep, false) => Some("RELEASE SAVEPOINT write"),
            (Savepoint::Keep, true) => Some("RELEASE SAVEPOINT write; SAVEPOINT write"),
            (Savepoint::Discard, false) => {
                Some("ROLLBACK TO SAVEPOINT write; RELEASE SAVEPOINT write")
            }
            (Savepoint::Discard, true) => {
                Some("ROLLBACK TO SAVEPOINT write; RELEASE SAVEPOINT write; SAVEPOINT write")
            }
        }
    }
}

async fn commit_batch(tx: &mut Tx, jobs: Vec<Job>) {
    let start = tx.head;
    let mut finishes: Vec<Finish> = Vec::with_capacity(jobs.len());
    let mut savepoint = Savepoint::Closed;
    // A lone job needs no savepoint: the transaction is its own.
    let lone = jobs.len() == 1;
    let mut ended = Ok(());
    for job in jobs {
        let isolated = job.isolation == Isolation::Savepoint && !lone;
        if let Some(stmt) = savepoint.end(isolated)
            && let Err(e) = tx.conn().execute(stmt).await
        {
            // The transaction is in an unknown state: give up on all of it.
            let err = backend_err(e);
            fail_unrun(job, &err);
            ended = Err(err);
            break;
        }
        let before = tx.head;
        let (ok, finish) = (job.run)(tx).await;
        savepoint = match (isolated, ok) {
            (false, true) => Savepoint::Closed,
            (true, true) => Savepoint::Keep,
            (true, false) => Savepoint::Discard,
            (false, false) => {
                // Part of this write may have happened: none of the batch may.
                finish(Ok(()));
                ended = Err(StoreError::Backend(
                    "a write in the same transaction failed; nothing was written".into(),
                ));
                break;
            }
        };
        if ok {
            finishes.push(finish);
        } else {
            tx.head = before;
            // A failed write answers with its own error right away: nothing
            // of it will be committed either way.
            finish(Ok(()));
        }
    }
    if ended.is_ok()
        && let Some(stmt) = savepoint.end(false)
    {
        ended = tx
            .conn()
            .execute(stmt)
            .await
            .map(|_| ())
            .map_err(backend_err);
    }
    let committed = match ended {
        Ok(()) => finish_tx(tx, start).await,
        Err(e) => Err(e),
    };
    if committed.is_err() {
        let _ = tx.conn().execute("ROLLBACK").await;
    }
    for f in finishes {
        f(committed.clone());
    }
}
