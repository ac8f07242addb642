//! The password pool: Argon2id evaluations on tokio's blocking threads, at
//! most `threads` at once. Waiting for a thread is an async wait, so a flood
//! of passwords queues here while the async workers go on checking codes,
//! committing batches and reading RADIUS packets.

use std::sync::Arc;

use ichido_crypto::password::PasswordError;
use ichido_domain::password::{HashJob, PasswordFuture, PasswordJob, PasswordPool};
use tokio::sync::Semaphore;

pub struct BlockingPasswords {
    permits: Arc<Semaphore>,
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
        BlockingPasswords {
            permits: Arc::new(Semaphore::new(threads)),
        }
    }

    fn run<T: Send + 'static>(
        &self,
        default: T,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> PasswordFuture<T> {
        ichido_store::work::count(|w| w.password_hashes += 1);
        let permits = self.permits.clone();
        Box::pin(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return default;
            };
            tokio::task::spawn_blocking(work).await.unwrap_or(default)
        })
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
