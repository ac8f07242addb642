//! Where Argon2id runs. One evaluation takes tens of milliseconds of a whole
//! core; run on an async worker it stalls every other task on that worker
//! (code checks, the group-commit writer, the RADIUS receive loop). The
//! domain hands each evaluation to a [`PasswordPool`] port; the server's
//! adapter runs it on a bounded set of blocking threads, so a flood of
//! passwords queues for those threads and never for the ones that check codes.

use std::future::Future;
use std::pin::Pin;

use ichido_crypto::password::{self, Cost, PasswordError};
use zeroize::Zeroizing;

/// One Argon2id evaluation, ready to run on any thread.
pub struct PasswordJob {
    password: Zeroizing<String>,
    /// The stored PHC string; `None` spends the same work on a dummy hash.
    hash: Option<String>,
    cost: Cost,
}

impl PasswordJob {
    pub fn new(password: &str, hash: Option<&str>, cost: Cost) -> Self {
        PasswordJob {
            password: Zeroizing::new(password.to_owned()),
            hash: hash.map(str::to_owned),
            cost,
        }
    }

    /// Exactly one Argon2id evaluation, whether or not there is a hash.
    pub fn run(self) -> bool {
        match &self.hash {
            Some(h) => password::verify(&self.password, h),
            None => password::dummy_verify(&self.password, self.cost),
        }
    }
}

/// A new password to hash for storage (one Argon2id evaluation too).
pub struct HashJob {
    password: Zeroizing<String>,
    cost: Cost,
}

impl HashJob {
    pub fn new(password: &str, cost: Cost) -> Self {
        HashJob {
            password: Zeroizing::new(password.to_owned()),
            cost,
        }
    }

    pub fn run(self) -> Result<String, PasswordError> {
        password::hash_with(&self.password, self.cost)
    }
}

pub type PasswordFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Runs password evaluations off the caller's thread.
pub trait PasswordPool: Send + Sync + 'static {
    fn verify(&self, job: PasswordJob) -> PasswordFuture<bool>;
    fn hash(&self, job: HashJob) -> PasswordFuture<Result<String, PasswordError>>;
}

/// Runs the evaluation on the calling thread: for command-line tools, which
/// have nothing else to keep responsive.
#[derive(Clone, Copy, Debug, Default)]
pub struct Inline;

impl PasswordPool for Inline {
    fn verify(&self, job: PasswordJob) -> PasswordFuture<bool> {
        Box::pin(std::future::ready(job.run()))
    }
    fn hash(&self, job: HashJob) -> PasswordFuture<Result<String, PasswordError>> {
        Box::pin(std::future::ready(job.run()))
    }
}
