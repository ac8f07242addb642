//! TOTP, the time-based one-time password of RFC 6238.

use crate::mac::CounterMac;
use crate::window::signed_distance;
use crate::{Algorithm, Code, Digits, Hotp, Secret, Verified, Window};

/// TOTP parameters (RFC 6238 §4): hash, digits, time step `X` in seconds and epoch `T0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Totp {
    /// HMAC hash function (RFC 6238 §1.2).
    pub algorithm: Algorithm,
    /// Digits of each value (RFC 4226 §5.3).
    pub digits: Digits,
    /// Time step `X` in seconds, greater than 0 (RFC 6238 §4.1). [`Totp::new`] rejects 0; a
    /// struct literal with 0 is treated as 1 so that no input can divide by zero.
    pub period: u64,
    /// Unix time `T0` at which steps start counting (RFC 6238 §4.1).
    pub t0: u64,
}

/// TOTP parameters that RFC 6238 §4.1 does not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// A time step of zero seconds.
    #[error("period 0: RFC 6238 §4.1 requires a time step X of at least 1 second")]
    ZeroPeriod,
}

impl Default for Totp {
    /// SHA-1, 6 digits, `X = 30`, `T0 = 0` (RFC 6238 §4.1 defaults).
    fn default() -> Self {
        Totp {
            algorithm: Algorithm::Sha1,
            digits: Digits::SIX,
            period: 30,
            t0: 0,
        }
    }
}

impl Totp {
    /// Validated TOTP parameters (RFC 6238 §4.1: `X > 0`).
    pub fn new(
        algorithm: Algorithm,
        digits: Digits,
        period: u64,
        t0: u64,
    ) -> Result<Totp, TotpError> {
        if period == 0 {
            return Err(TotpError::ZeroPeriod);
        }
        Ok(Totp {
            algorithm,
            digits,
            period,
            t0,
        })
    }

    /// `T = floor((unix_time - T0) / X)` (RFC 6238 §4.2); times before `T0` count as step 0.
    pub fn step(&self, unix_time: u64) -> u64 {
        unix_time.saturating_sub(self.t0) / self.period.max(1)
    }

    /// `TOTP = HOTP(K, T)` for the step containing `unix_time` (RFC 6238 §4.2).
    pub fn generate(&self, secret: &Secret, unix_time: u64) -> Code {
        self.generate_at_step(secret, self.step(unix_time))
    }

    /// `TOTP = HOTP(K, T)` for a given step `T` (RFC 6238 §4.2).
    pub fn generate_at_step(&self, secret: &Secret, step: u64) -> Code {
        self.hotp().generate(secret, step)
    }

    /// Verification over a window (RFC 6238 §5.2) with learned drift (RFC 6238 §6): checks steps
    /// `now_step + drift - behind ..= now_step + drift + ahead`, skipping every step `<= after`
    /// (the last accepted step, so a code is never accepted twice), keying the HMAC once. Returns
    /// the matched step and `drift = matched_step - now_step`.
    pub fn verify(
        &self,
        secret: &Secret,
        code: &Code,
        unix_time: u64,
        window: Window,
        drift: i64,
        after: Option<u64>,
    ) -> Option<Verified> {
        let hotp = self.hotp();
        let submitted = hotp.submitted_value(code)?;
        let now_step = self.step(unix_time);
        // The window, intersected with the representable steps 0 ..= u64::MAX.
        let center = i128::from(now_step) + i128::from(drift);
        let (low, high) = (
            center - i128::from(window.behind),
            center + i128::from(window.ahead),
        );
        if high < 0 || low > i128::from(u64::MAX) {
            return None;
        }
        let mut low = low.max(0) as u64;
        let high = high.min(i128::from(u64::MAX)) as u64;
        if let Some(last) = after {
            if last >= high {
                return None;
            }
            low = low.max(last + 1);
        }
        if low > high {
            return None;
        }
        let mac = CounterMac::new(self.algorithm, secret.as_bytes());
        hotp.find_counter(&mac, low, high, submitted)
            .map(|step| Verified {
                counter: step,
                drift: signed_distance(step, now_step),
            })
    }

    fn hotp(&self) -> Hotp {
        Hotp {
            algorithm: self.algorithm,
            digits: self.digits,
        }
    }
}
