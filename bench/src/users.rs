//! The enrolled users and their seeds, and the codes computed from them:
//! valid ones that were never used before, and wrong ones that cannot match.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use ichido_otp::{Code, Hotp, Secret, Totp};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The HOTP look-ahead and TOTP window the servers use by default; wrong
/// codes stay clear of twice that, so none can match by chance.
const HOTP_LOOK_AHEAD: u64 = 10;
const TOTP_PERIOD: u64 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Hotp,
    Totp,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Hotp => "hotp",
            Kind::Totp => "totp",
        }
    }
}

/// One user with one SHA-1, 6-digit token, as written to the users file.
#[derive(Clone, Serialize, Deserialize)]
pub struct EnrolledUser {
    pub username: String,
    pub kind: Kind,
    /// The seed, base32 as the enrollment answer gave it.
    pub secret: String,
    /// HOTP: the next counter not yet used. TOTP: the first time step not
    /// yet used.
    pub next: u64,
}

/// The users file: what `enroll` writes and every load run reads and
/// updates, so that a code is never sent twice across runs.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct UserFile {
    pub users: Vec<EnrolledUser>,
}

impl UserFile {
    pub fn load(path: &Path) -> anyhow::Result<UserFile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(self)?)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}

/// A user during a run: the seed decoded once, and how many wrong codes in
/// a row it has been sent (kept below the lockout limit).
pub struct LiveUser {
    pub username: String,
    pub kind: Kind,
    pub secret: Secret,
    pub next: u64,
    pub wrong_in_a_row: u32,
}

impl LiveUser {
    pub fn new(u: &EnrolledUser) -> anyhow::Result<LiveUser> {
        let secret = Secret::from_base32(&u.secret)
            .map_err(|e| anyhow::anyhow!("user {}: bad seed: {e}", u.username))?;
        Ok(LiveUser {
            username: u.username.clone(),
            kind: u.kind,
            secret,
            next: u.next,
            wrong_in_a_row: 0,
        })
    }

    pub fn to_enrolled(&self) -> EnrolledUser {
        EnrolledUser {
            username: self.username.clone(),
            kind: self.kind,
            secret: self.secret.to_base32(),
            next: self.next,
        }
    }

    /// The next valid code, never sent before; `None` for a TOTP user whose
    /// current step is already used.
    pub fn take_valid(&mut self, unix: u64) -> Option<String> {
        let code = match self.kind {
            Kind::Hotp => {
                let c = hotp(&self.secret, self.next);
                self.next += 1;
                c
            }
            Kind::Totp => {
                let step = unix / TOTP_PERIOD;
                if step < self.next {
                    return None;
                }
                self.next = step + 1;
                Totp::default()
                    .generate_at_step(&self.secret, step)
                    .to_string()
            }
        };
        self.wrong_in_a_row = 0;
        Some(code)
    }

    /// A code that matches none of the values the server could accept now.
    pub fn wrong_code(&mut self, unix: u64, rng: &mut impl Rng) -> String {
        let near: Vec<String> = match self.kind {
            Kind::Hotp => (self.next..self.next + 2 * HOTP_LOOK_AHEAD + 1)
                .map(|c| hotp(&self.secret, c))
                .collect(),
            Kind::Totp => {
                let step = unix / TOTP_PERIOD;
                (step.saturating_sub(2)..=step + 2)
                    .map(|s| {
                        Totp::default()
                            .generate_at_step(&self.secret, s)
                            .to_string()
                    })
                    .collect()
            }
        };
        self.wrong_in_a_row += 1;
        loop {
            let candidate = format!("{:06}", rng.gen_range(0..1_000_000u32));
            if !near.contains(&candidate) {
                return candidate;
            }
        }
    }

    /// The TOTP step from which this user can be sent a valid code again.
    pub fn ready_step(&self) -> u64 {
        match self.kind {
            Kind::Hotp => 0,
            Kind::Totp => self.next,
        }
    }
}

/// `HOTP(K, C)` with SHA-1 and 6 digits (RFC 4226 §5.3).
pub fn hotp(secret: &Secret, counter: u64) -> String {
    Hotp::default().generate(secret, counter).to_string()
}

/// The current TOTP code of a seed (SHA-1, 6 digits, 30 s).
pub fn totp_now(secret: &Secret) -> (String, u64) {
    let step = unix_now() / TOTP_PERIOD;
    let code: Code = Totp::default().generate_at_step(secret, step);
    (code.to_string(), step)
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(kind: Kind) -> LiveUser {
        LiveUser {
            username: "u".into(),
            kind,
            secret: Secret::new(b"12345678901234567890".to_vec()),
            next: 1,
            wrong_in_a_row: 0,
        }
    }

    #[test]
    fn hotp_codes_follow_rfc4226_and_advance() {
        let mut u = user(Kind::Hotp);
        assert_eq!(u.take_valid(0).as_deref(), Some("287082"));
        assert_eq!(u.take_valid(0).as_deref(), Some("359152"));
        assert_eq!(u.next, 3);
    }

    #[test]
    fn totp_user_gets_one_code_per_step() {
        let mut u = user(Kind::Totp);
        assert!(u.take_valid(59).is_some());
        assert!(u.take_valid(59).is_none());
        assert!(u.take_valid(60).is_some());
    }

    #[test]
    fn wrong_code_never_matches_the_window() {
        let mut rng = rand::thread_rng();
        let mut u = user(Kind::Hotp);
        let near: Vec<String> = (1..22).map(|c| hotp(&u.secret, c)).collect();
        for _ in 0..200 {
            assert!(!near.contains(&u.wrong_code(0, &mut rng)));
        }
    }
}
