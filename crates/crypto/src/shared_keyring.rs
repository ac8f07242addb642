//! The keyring a running server holds, which follows its key file.
//!
//! `ichido keys rotate` adds a key to the file and re-seals every seed under
//! it while servers keep running. A server that meets a sealed value naming a
//! key id it does not have reads the file again, at most once a second and
//! one reader at a time, and retries; SIGHUP asks for the same. Readers take
//! an `Arc` of the current keyring, so a reload never blocks them.
//!
//! A reload that would change the hash key is refused: every keyed hash in
//! the database (API keys, backup codes, the audit chain) depends on it.

use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::keyed_hash::KeyedHasher;
use crate::keyring::{KeyError, KeyId, Keyring};
use crate::seal::{SealError, Sealed};
use crate::secret::SecretBytes;

/// At most one reload on an unknown key id per this interval, so a row
/// sealed under a key that really is gone cannot make every request read
/// the file.
const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

type Source = Box<dyn Fn() -> Result<Keyring, KeyError> + Send + Sync>;

pub struct SharedKeyring {
    ring: RwLock<Arc<Keyring>>,
    /// Where the keyring comes from again; `None` when it cannot change
    /// (a value from the environment).
    source: Option<Source>,
    /// When the last reload on an unknown key id ran; held while one runs.
    last_reload: Mutex<Option<Instant>>,
}

impl SharedKeyring {
    /// A keyring that never changes.
    pub fn fixed(ring: Keyring) -> SharedKeyring {
        SharedKeyring {
            ring: RwLock::new(Arc::new(ring)),
            source: None,
            last_reload: Mutex::new(None),
        }
    }

    /// A keyring read again from `source` when needed.
    pub fn reloading(
        ring: Keyring,
        source: impl Fn() -> Result<Keyring, KeyError> + Send + Sync + 'static,
    ) -> SharedKeyring {
        SharedKeyring {
            source: Some(Box::new(source)),
            ..SharedKeyring::fixed(ring)
        }
    }

    /// The keyring as it stands now.
    pub fn current(&self) -> Arc<Keyring> {
        self.ring.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// See [`Keyring::seal`].
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Sealed {
        self.current().seal(plaintext, aad)
    }

    /// See [`Keyring::open`]; a key id this keyring does not know makes it
    /// read its source again (rate-limited) before giving up.
    pub fn open(&self, sealed: &Sealed, aad: &[u8]) -> Result<SecretBytes, SealError> {
        match self.current().open(sealed, aad) {
            Err(SealError::UnknownKey(id)) if self.reload_for(&id) => {
                self.current().open(sealed, aad)
            }
            other => other,
        }
    }

    /// See [`Keyring::hasher`].
    pub fn hasher(&self, purpose: &str) -> KeyedHasher {
        self.current().hasher(purpose)
    }

    /// Reads the source again now (SIGHUP). `Ok(false)` when there is none.
    pub fn reload(&self) -> Result<bool, KeyError> {
        let Some(source) = &self.source else {
            return Ok(false);
        };
        let fresh = source()?;
        if !fresh.same_hash_key(&self.current()) {
            return Err(KeyError::Format(
                "the reloaded keyring has a different hash key; kept the one loaded".into(),
            ));
        }
        *self.ring.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
        Ok(true)
    }

    /// Reloads for a value sealed under `id`, unless another reload just ran
    /// (or runs: this waits for it). Whether the keyring now has `id`.
    fn reload_for(&self, id: &KeyId) -> bool {
        if self.source.is_none() {
            return false;
        }
        let mut last = self.last_reload.lock().unwrap_or_else(|e| e.into_inner());
        if self.current().created_at(id).is_some() {
            return true;
        }
        if last.is_some_and(|at| at.elapsed() < RELOAD_INTERVAL) {
            return false;
        }
        *last = Some(Instant::now());
        match self.reload() {
            Ok(_) => tracing::info!(key = %id, "reloaded the keyring for an unknown key id"),
            Err(e) => tracing::error!(error = %e, "reloading the keyring failed"),
        }
        self.current().created_at(id).is_some()
    }
}

impl From<Keyring> for SharedKeyring {
    fn from(ring: Keyring) -> Self {
        SharedKeyring::fixed(ring)
    }
}

impl fmt::Debug for SharedKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedKeyring")
            .field("ring", &self.current())
            .field("reloads", &self.source.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A key file on disk, shared by the test and the keyring's source.
    fn counting_source(
        file: Arc<Mutex<Keyring>>,
        reads: Arc<AtomicUsize>,
    ) -> impl Fn() -> Result<Keyring, KeyError> + Send + Sync + 'static {
        move || {
            reads.fetch_add(1, Ordering::SeqCst);
            Ok(file.lock().unwrap().clone())
        }
    }

    #[test]
    fn a_value_sealed_under_a_key_added_later_opens_after_one_reload() {
        let first = Keyring::generate();
        let file = Arc::new(Mutex::new(first.clone()));
        let reads = Arc::new(AtomicUsize::new(0));
        let shared = SharedKeyring::reloading(first, counting_source(file.clone(), reads.clone()));

        // Another process rotates the file and seals under the new key.
        let mut rotated = file.lock().unwrap().clone();
        rotated.rotate();
        *file.lock().unwrap() = rotated.clone();
        let sealed = rotated.seal(b"seed", b"token:secret:S1");

        let opened = shared.open(&sealed, b"token:secret:S1").unwrap();
        assert_eq!(opened.as_bytes(), b"seed");
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        // Known now: no further read.
        shared.open(&sealed, b"token:secret:S1").unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        assert_eq!(shared.seal(b"x", b"a").key_id, *rotated.current_id());
    }

    #[test]
    fn a_key_that_is_really_gone_reads_the_file_at_most_once_a_second() {
        let first = Keyring::generate();
        let reads = Arc::new(AtomicUsize::new(0));
        let file = Arc::new(Mutex::new(first.clone()));
        let shared = SharedKeyring::reloading(first, counting_source(file, reads.clone()));
        // Sealed under `k3`, an id this keyring never had.
        let mut other = Keyring::generate();
        other.rotate();
        other.rotate();
        let stranger = other.seal(b"seed", b"aad");
        for _ in 0..50 {
            assert!(matches!(
                shared.open(&stranger, b"aad"),
                Err(SealError::UnknownKey(_))
            ));
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_reload_that_changes_the_hash_key_is_refused() {
        let first = Keyring::generate();
        let hashed = first.hasher("api-key").hash(b"k");
        let file = Arc::new(Mutex::new(Keyring::generate()));
        let shared = SharedKeyring::reloading(first, counting_source(file, Arc::default()));
        assert!(shared.reload().is_err());
        assert_eq!(shared.hasher("api-key").hash(b"k"), hashed);
    }

    #[test]
    fn a_fixed_keyring_never_reloads() {
        let shared = SharedKeyring::fixed(Keyring::generate());
        assert!(!shared.reload().unwrap());
    }
}
