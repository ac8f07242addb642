//! What one request costs: the reads and writes it sends to the database and
//! the password evaluations it runs, counted in a task-local scope around
//! the request. Answers that must look alike (unknown user or wrong
//! password, locked or not) must also cost alike; counting the work per
//! request is how the tests show it without a stopwatch, and how `/metrics`
//! shows it in production. Outside a scope the counters are not kept.
//!
//! It lives here because the store is where reads and writes happen; the
//! server's password pool counts its evaluations through the same scope.

use std::cell::Cell;
use std::future::Future;

tokio::task_local! {
    static WORK: Cell<Work>;
}

/// The work counted in one scope.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Work {
    /// Queries sent on a read connection.
    pub reads: u32,
    /// Writes queued for the group commit.
    pub writes: u32,
    /// Argon2id evaluations, real or dummy.
    pub password_hashes: u32,
}

/// Runs `f`, counting the work it causes on this task.
pub async fn measure<F: Future>(f: F) -> (F::Output, Work) {
    WORK.scope(Cell::new(Work::default()), async move {
        let out = f.await;
        (out, WORK.with(Cell::get))
    })
    .await
}

/// Adds to the current scope's count, if there is one.
pub fn count(add: impl FnOnce(&mut Work)) {
    let _ = WORK.try_with(|cell| {
        let mut w = cell.get();
        add(&mut w);
        cell.set(w);
    });
}
