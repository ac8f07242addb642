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
//!
//! The task is supervised: should it die (a panic in a write), the callers of
//! its batch get an error, the batch's connection is closed rather than given
//! back with its transaction open, `Health` says so until it runs again, and a
//! new task takes over the same queue.

use futures_core::future::BoxFuture;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Row};
use tokio::sync::{Mutex, mpsc, oneshot};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::backend_err;
use ichido_domain::StoreError;
use ichido_domain::audit::ChainKey;
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
    /// Links each appended event and tags the head.
    pub(crate) key: Arc<ChainKey>,
}

impl Tx {
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        // Dropped by a panic, the transaction is still open: a connection
        // given back so would fail every later BEGIN. Closing it rolls back.
        if std::thread::panicking() {
            self.conn.close_on_drop();
        }
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
    health: Arc<Health>,
    /// Tests only: the next write that commits answers with an error, as
    /// when a COMMIT's acknowledgement is lost on the way back.
    #[cfg(feature = "test-hooks")]
    pub(crate) lose_ack: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Whether the writer task runs, for readiness checks and metrics.
#[derive(Debug, Default)]
pub struct Health {
    down: AtomicBool,
    restarts: AtomicU64,
    /// Test hook: a restart waits for this to resolve.
    #[cfg(feature = "test-hooks")]
    hold: std::sync::Mutex<Option<oneshot::Receiver<()>>>,
}

impl Health {
    /// False from the moment the task dies until its successor runs.
    pub fn is_up(&self) -> bool {
        !self.down.load(Ordering::SeqCst)
    }
    /// How many times the task died and was started again.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::SeqCst)
    }
}

type Queue = Arc<Mutex<mpsc::Receiver<Job>>>;

impl Writer {
    pub(crate) fn spawn(pool: AnyPool, dialect: Dialect, key: ChainKey) -> Writer {
        let (jobs, rx) = mpsc::channel::<Job>(4 * MAX_BATCH);
        let health = Arc::new(Health::default());
        tokio::spawn(supervise(
            pool,
            dialect,
            Arc::new(key),
            Arc::new(Mutex::new(rx)),
            health.clone(),
        ));
        Writer {
            jobs,
            health,
            #[cfg(feature = "test-hooks")]
            lose_ack: Default::default(),
        }
    }

    pub(crate) fn health(&self) -> &Health {
        &self.health
    }

    /// Test hook: makes the task die in its next batch and keeps it down
    /// until the returned sender is dropped.
    #[cfg(feature = "test-hooks")]
    pub(crate) async fn kill(&self) -> oneshot::Sender<()> {
        let (release, hold) = oneshot::channel();
        *self.health.hold.lock().unwrap_or_else(|e| e.into_inner()) = Some(hold);
        let died: Result<()> = self
            .write(Isolation::Savepoint, |_| {
                Box::pin(async { panic!("writer killed by a test hook") })
            })
            .await;
        assert!(died.is_err(), "a killed writer answers no write");
        // The write's answer is dropped while the task unwinds, a moment
        // before the supervisor hears of the death: wait for that moment.
        while self.health.is_up() {
            tokio::task::yield_now().await;
        }
        release
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
        #[cfg(feature = "test-hooks")]
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

/// Runs the writer task, and a new one each time it dies, until every
/// `Writer` handle is gone.
async fn supervise(
    pool: AnyPool,
    dialect: Dialect,
    key: Arc<ChainKey>,
    rx: Queue,
    health: Arc<Health>,
) {
    loop {
        let task = tokio::spawn(run(pool.clone(), dialect, key.clone(), rx.clone()));
        match task.await {
            Ok(()) => return,
            Err(e) => {
                health.down.store(true, Ordering::SeqCst);
                tracing::error!(error = %e, "the database writer died; starting it again");
                #[cfg(feature = "test-hooks")]
                {
                    let hold = health.hold.lock().unwrap_or_else(|e| e.into_inner()).take();
                    if let Some(hold) = hold {
                        let _ = hold.await;
                    }
                }
                health.restarts.fetch_add(1, Ordering::SeqCst);
                health.down.store(false, Ordering::SeqCst);
            }
        }
    }
}

async fn run(pool: AnyPool, dialect: Dialect, key: Arc<ChainKey>, rx: Queue) {
    // Held for the task's life; a panic releases it for the successor.
    let mut rx = rx.lock().await;
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
            Ok(conn) => begin(conn, dialect, key.clone()).await,
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

async fn begin(mut conn: PoolConnection<Any>, dialect: Dialect, key: Arc<ChainKey>) -> Result<Tx> {
    conn.execute(dialect.begin).await.map_err(backend_err)?;
    match read_head(&mut conn, dialect).await {
        Ok(head) => Ok(Tx { conn, head, key }),
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

/// Writes the head back, with its tag, if the batch appended to the chain,
/// then commits.
async fn finish_tx(tx: &mut Tx, start: Head) -> Result<()> {
    if tx.head != start {
        let hash = hex::encode(tx.head.hash);
        let tag = tx.key.head_tag(tx.head.seq, &hash);
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2, tag = $3 WHERE id = 1")
            .bind(tx.head.seq)
            .bind(hash)
            .bind(tag)
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
