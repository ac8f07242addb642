//! Password and PIN hashing: Argon2id (RFC 9106) in PHC strings.
//!
//! The default cost is OWASP's recommended minimum for Argon2id: 19 MiB of
//! memory, 2 passes, 1 lane. Each hash has its own 128-bit random salt (the
//! RFC 9106 recommendation), so equal passwords never share a hash. The PHC
//! string records algorithm, version, cost and salt, so a later change of
//! [`Cost`] leaves existing hashes verifiable.

use std::cell::RefCell;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

/// Salt length in bytes: 128 bits.
const SALT_LEN: usize = 16;

/// Upper bounds on the cost of a hash this module makes or checks. A stored
/// string beyond them is not one of ours, and honouring it could take a
/// gigabyte of memory or minutes per request.
const MAX_MEMORY_KIB: u32 = 1024 * 1024;
const MAX_ITERATIONS: u32 = 32;
const MAX_PARALLELISM: u32 = 16;

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cost {
    /// Memory in KiB (Argon2 `m`).
    pub memory_kib: u32,
    /// Number of passes (Argon2 `t`).
    pub iterations: u32,
    /// Lanes (Argon2 `p`).
    pub parallelism: u32,
}

impl Default for Cost {
    /// OWASP Password Storage Cheat Sheet: m=19456 KiB, t=2, p=1.
    fn default() -> Self {
        Cost {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl Cost {
    /// The smallest cost Argon2 accepts (m=8 KiB, t=1, p=1). Only for tests:
    /// it offers no protection against guessing.
    pub fn fast_for_tests() -> Self {
        Cost {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        }
    }

    fn params(self) -> Result<Params, PasswordError> {
        if self.memory_kib > MAX_MEMORY_KIB
            || self.iterations > MAX_ITERATIONS
            || self.parallelism > MAX_PARALLELISM
        {
            return Err(PasswordError::InvalidCost(format!(
                "at most m={MAX_MEMORY_KIB} KiB, t={MAX_ITERATIONS}, p={MAX_PARALLELISM}"
            )));
        }
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| PasswordError::InvalidCost(e.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("invalid Argon2 cost: {0}")]
    InvalidCost(String),
    #[error("password hashing failed")]
    Hashing,
}

/// Hashes `password` with the default [`Cost`] into a PHC string
/// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
pub fn hash(password: &str) -> Result<String, PasswordError> {
    hash_with(password, Cost::default())
}

/// Hashes `password` with the given cost.
pub fn hash_with(password: &str, cost: Cost) -> Result<String, PasswordError> {
    let params = cost.params()?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt_bytes = crate::random::bytes(SALT_LEN);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| PasswordError::Hashing)?;
    let mut out = Zeroizing::new([0u8; Params::DEFAULT_OUTPUT_LEN]);
    evaluate(&argon2, password.as_bytes(), &salt_bytes, &mut out[..])
        .map_err(|()| PasswordError::Hashing)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|_| PasswordError::Hashing)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out[..]).map_err(|_| PasswordError::Hashing)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc`. Anything that is not an
/// Argon2id hash within the cost bounds — malformed, another algorithm, an
/// absurd cost — is `false`, never a panic. The final comparison is constant
/// time.
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    if parsed.algorithm != Algorithm::Argon2id.ident() {
        return false;
    }
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_MEMORY_KIB
        || params.t_cost() > MAX_ITERATIONS
        || params.p_cost() > MAX_PARALLELISM
    {
        return false;
    }
    let Ok(version) = Version::try_from(parsed.version.unwrap_or(0x13)) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = Zeroizing::new(vec![0u8; expected.len()]);
    let argon2 = Argon2::new(Algorithm::Argon2id, version, params);
    if evaluate(&argon2, password.as_bytes(), salt, &mut out).is_err() {
        return false;
    }
    // `Output`'s equality is constant time.
    Output::new(&out).is_ok_and(|got| got == expected)
}

thread_local! {
    /// Argon2's working memory (19 MiB at the default cost), kept for the
    /// thread's life and wiped after each use. Allocated and freed per
    /// evaluation instead, it stayed behind in every allocator arena that
    /// met one: a flood of passwords took the server from 20 to over
    /// 200 MiB (bench/ab.sh).
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// One Argon2 evaluation into `out`, on this thread's working memory.
fn evaluate(argon2: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), ()> {
    let blocks = argon2.params().block_count();
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::new());
        }
        let result =
            argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks]);
        memory[..blocks].iter_mut().for_each(Zeroize::zeroize);
        result.map_err(|_| ())
    })
}

/// Spends the time of one [`verify`] at `cost` and returns `false`.
///
/// For callers that have no hash to check against (an unknown user, a user
/// without a password): calling this instead of returning at once keeps the
/// response time from telling which case happened. Hashing and verifying cost
/// the same one Argon2 evaluation.
pub fn dummy_verify(password: &str, cost: Cost) -> bool {
    if let Ok(params) = cost.params() {
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; Params::DEFAULT_OUTPUT_LEN]);
        let _ = evaluate(&argon2, password.as_bytes(), &[0u8; SALT_LEN], &mut out[..]);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(password: &str) -> String {
        hash_with(password, Cost::fast_for_tests()).unwrap()
    }

    #[test]
    fn right_password_verifies_and_wrong_one_does_not() {
        let phc = fast("correct horse");
        assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
        assert!(verify("correct horse", &phc));
        assert!(!verify("correct horsE", &phc));
        assert!(!verify("", &phc));
    }

    /// Hashes made by argon2-cffi (the reference C implementation), with
    /// other lengths, lanes and a non-ASCII password than ours.
    #[test]
    fn hashes_from_the_reference_implementation_verify() {
        let cases = [
            (
                "correct horse battery staple",
                "$argon2id$v=19$m=64,t=2,p=1$I02O+BfELP9s+xrSdt8bHQ$xZ+hWuUAsb+rF266OsSAmgeicJ6SIey4IfEe87l8HoI",
            ),
            (
                "パスワード",
                "$argon2id$v=19$m=32,t=1,p=2$rjRfQTAJ3l1TkBM4$Mjwz+vR8FtHq2rO1FvvRBxxtWkaL/Bbj",
            ),
        ];
        for (password, phc) in cases {
            assert!(verify(password, phc), "{phc}");
            assert!(!verify("wrong", phc), "{phc}");
        }
    }

    #[test]
    fn hashes_we_make_pass_the_argon2_crates_own_verifier() {
        use argon2::password_hash::PasswordVerifier;
        for phc in [fast("pw"), hash("pw").unwrap()] {
            let parsed = PasswordHash::new(&phc).unwrap();
            assert!(Argon2::default().verify_password(b"pw", &parsed).is_ok());
            assert!(Argon2::default().verify_password(b"px", &parsed).is_err());
        }
    }

    #[test]
    fn a_thread_verifies_after_a_larger_evaluation_on_its_memory() {
        let small = fast("small");
        assert!(verify("pw", &hash("pw").unwrap()));
        assert!(verify("small", &small));
    }

    #[test]
    fn equal_passwords_get_different_salts() {
        assert_ne!(fast("pin1234"), fast("pin1234"));
    }

    #[test]
    fn default_cost_is_the_owasp_recommendation() {
        assert_eq!(
            Cost::default(),
            Cost {
                memory_kib: 19_456,
                iterations: 2,
                parallelism: 1
            }
        );
    }

    #[test]
    fn default_cost_hash_records_its_parameters() {
        let phc = hash("pw").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("pw", &phc));
    }

    #[test]
    fn malformed_or_foreign_hashes_are_false() {
        let phc = fast("pw");
        let mut cases = vec![
            String::new(),
            "pw".to_owned(),
            "$".to_owned(),
            "$argon2id$".to_owned(),
            "$argon2id$v=19$m=8,t=1,p=1$$".to_owned(),
            phc[..phc.len() - 5].to_owned(),
            phc.replace("argon2id", "argon2i"),
            phc.replace("argon2id", "scrypt"),
            phc.replace("m=8,", "m=4294967295,"),
            phc.replace("m=8,", "m=2097152,"),
            phc.replace("t=1,", "t=1000,"),
            phc.replace("m=8,", "m=x,"),
            phc.replace("$v=19", "$v=99"),
        ];
        cases.push(format!("{phc}x"));
        for bad in cases {
            assert!(!verify("pw", &bad), "{bad}");
        }
    }

    #[test]
    fn costs_beyond_argon2_or_our_bounds_are_refused() {
        let huge = Cost {
            memory_kib: MAX_MEMORY_KIB + 1,
            ..Cost::default()
        };
        let tiny = Cost {
            memory_kib: 1,
            ..Cost::default()
        };
        let no_passes = Cost {
            iterations: 0,
            ..Cost::default()
        };
        for cost in [huge, tiny, no_passes] {
            assert!(matches!(
                hash_with("pw", cost),
                Err(PasswordError::InvalidCost(_))
            ));
        }
    }

    #[test]
    fn dummy_verify_is_always_false() {
        assert!(!dummy_verify("pw", Cost::fast_for_tests()));
    }
}
