//! The password pool: Argon2id evaluations on a few threads of their own,
//! started once. Handing a job over is an async wait, so a flood of
//! passwords queues here while the async workers go on checking codes,
//! committing batches and reading RADIUS packets.
//!
//! Why not tokio's `spawn_blocking` behind a semaphore: that runs each job
//! on whichever blocking thread is free, and every thread keeps Argon2's
//! working memory (19 MiB, see `ichido_crypto::password`); under a flood the
//! process grew to ~345 MiB (bench/ab.sh). A fixed set of threads keeps it
//! to one working memory per thread: 42 MiB under the same flood. It is a
//! few lines, so no thread-pool crate is pulled in for it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};

use ichido_crypto::password::PasswordError;
use ichido_domain::password::{HashJob, PasswordFuture, PasswordJob, PasswordPool};
use tokio::sync::{mpsc, oneshot};

type Task = Box<dyn FnOnce() + Send>;

/// Jobs waiting for a thread, beyond which callers wait to hand theirs over.
const QUEUE: usize = 1024;

pub struct BlockingPasswords {
    jobs: mpsc::Sender<Task>,
}

impl BlockingPasswords {
    /// `threads` evaluations at once; 0 means half the cores (at least one),
    /// which leaves the other half to everything else under a flood.
    pub fn new(threads: usize) -> Self {
        let threads = match threads {
            0 => std::thread::available_parallelism()
                .map_or(1, |n| n.get() / 2)
                .max(1),
            n => n,
        };
        let (jobs, rx) = mpsc::channel::<Task>(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            let started = std::thread::Builder::new()
                .name(format!("ichido-password-{i}"))
                .spawn(move || work_loop(&rx));
            if let Err(e) = started {
                tracing::error!(error = %e, "could not start a password thread");
            }
        }
        BlockingPasswords { jobs }
    }

    fn run<T: Send + 'static>(
        &self,
        default: T,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> PasswordFuture<T> {
        ichido_store::work::count(|w| w.password_hashes += 1);
        let jobs = self.jobs.clone();
        Box::pin(async move {
            let (done, answer) = oneshot::channel();
            let task: Task = Box::new(move || {
                // A job that panics answers nothing; the thread lives on.
                if let Ok(out) = catch_unwind(AssertUnwindSafe(work)) {
                    let _ = done.send(out);
                }
            });
            if jobs.send(task).await.is_err() {
                return default;
            }
            answer.await.unwrap_or(default)
        })
    }
}

/// Takes jobs until every sender is gone (the server stopped).
fn work_loop(rx: &Mutex<mpsc::Receiver<Task>>) {
    loop {
        let task = rx.lock().unwrap_or_else(|e| e.into_inner()).blocking_recv();
        match task {
            Some(task) => task(),
            None => return,
        }
    }
}

impl PasswordPool for BlockingPasswords {
    fn verify(&self, job: PasswordJob) -> PasswordFuture<bool> {
        self.run(false, move || job.run())
    }
    fn hash(&self, job: HashJob) -> PasswordFuture<Result<String, PasswordError>> {
        self.run(Err(PasswordError::Hashing), move || job.run())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn thread_name() -> String {
        std::thread::current().name().unwrap_or_default().to_owned()
    }

    #[tokio::test]
    async fn every_job_runs_on_one_of_the_pools_own_threads() {
        let pool = BlockingPasswords::new(2);
        let runs: Vec<_> = (0..32)
            .map(|_| pool.run(String::new(), thread_name))
            .collect();
        let mut names = HashSet::new();
        for run in runs {
            names.insert(run.await);
        }
        assert!(names.len() <= 2, "{names:?}");
        assert!(
            names.iter().all(|n| n.starts_with("ichido-password-")),
            "{names:?}"
        );
    }

    #[tokio::test]
    async fn a_job_that_panics_answers_the_default_and_the_thread_goes_on() {
        let pool = BlockingPasswords::new(1);
        let panicked = pool.run(7, || panic!("a job that fails")).await;
        assert_eq!(panicked, 7);
        assert_eq!(pool.run(0, || 42).await, 42);
    }
}
