//! HOTP, the HMAC-based one-time password of RFC 4226.

use subtle::ConstantTimeEq;

use crate::mac::{BATCH, CounterMac, modulus};
use crate::window::signed_distance;
use crate::{Algorithm, Code, Digits, Secret, Verified};

/// HOTP parameters (RFC 4226 §5): the hash of the HMAC and the number of digits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Hotp {
    /// HMAC hash function; RFC 4226 §5.2 uses SHA-1, RFC 6238 §1.2 adds SHA-256 and SHA-512.
    pub algorithm: Algorithm,
    /// Digits of each value (RFC 4226 §5.3).
    pub digits: Digits,
}

impl Hotp {
    /// HOTP parameters (RFC 4226 §5).
    pub fn new(algorithm: Algorithm, digits: Digits) -> Hotp {
        Hotp { algorithm, digits }
    }

    /// `HOTP(K, C) = Truncate(HMAC(K, C)) mod 10^Digit` (RFC 4226 §5.3).
    pub fn generate(&self, secret: &Secret, counter: u64) -> Code {
        self.code_of(CounterMac::value_once(
            self.algorithm,
            secret.as_bytes(),
            counter,
        ))
    }

    /// Look-ahead verification (RFC 4226 §7.4): tries counters `start ..= start + look_ahead`,
    /// keying the HMAC once per call, and returns the first counter whose value equals `code`
    /// with `drift = counter - start`. The caller must then store `counter + 1` as the next
    /// `start`, so that the code is never accepted again (RFC 4226 §7.2).
    pub fn verify(
        &self,
        secret: &Secret,
        code: &Code,
        start: u64,
        look_ahead: u64,
    ) -> Option<Verified> {
        let submitted = self.submitted_value(code)?;
        let mac = CounterMac::new(self.algorithm, secret.as_bytes());
        let end = start.saturating_add(look_ahead);
        self.find_counter(&mac, start, end, submitted)
            .map(|counter| Verified {
                counter,
                drift: signed_distance(counter, start),
            })
    }

    /// Resynchronization with two consecutive codes (RFC 4226 §7.4): finds `c` in
    /// `start ..= start + look_ahead` with `first` at `c` and `second` at `c + 1`, and returns
    /// `counter = c + 1` (the last one used) with `drift = c + 1 - start`.
    pub fn resync(
        &self,
        secret: &Secret,
        first: &Code,
        second: &Code,
        start: u64,
        look_ahead: u64,
    ) -> Option<Verified> {
        let first = self.submitted_value(first)?;
        let second = self.submitted_value(second)?;
        if start == u64::MAX {
            return None;
        }
        let mac = CounterMac::new(self.algorithm, secret.as_bytes());
        let last = start.saturating_add(look_ahead).min(u64::MAX - 1) + 1;
        let mut previous_was_first = self.matches(&mac, start, first);
        for counter in start + 1..=last {
            let value = self.value_at(&mac, counter);
            let is_second: bool = value.ct_eq(&second).into();
            if previous_was_first && is_second {
                return Some(Verified {
                    counter,
                    drift: signed_distance(counter, start),
                });
            }
            previous_was_first = value.ct_eq(&first).into();
        }
        None
    }

    /// The value of a submitted code of the right length (RFC 4226 §5.3 `Digit`).
    pub(crate) fn submitted_value(&self, code: &Code) -> Option<u64> {
        (code.len() == usize::from(self.digits.get())).then(|| code.value())
    }

    /// The first counter of `first ..= last` whose value equals `submitted`, compared in constant
    /// time (RFC 4226 §7.2), signing [`BATCH`] counters at a time.
    pub(crate) fn find_counter(
        &self,
        mac: &CounterMac,
        first: u64,
        last: u64,
        submitted: u64,
    ) -> Option<u64> {
        let modulus = modulus(usize::from(self.digits.get()));
        let mut start = first;
        loop {
            let remaining = last.checked_sub(start)?;
            let count = remaining.min(BATCH as u64 - 1) as usize + 1;
            let values = mac.values(start, count);
            for (i, value) in values[..count].iter().enumerate() {
                if bool::from((u64::from(*value) % modulus).ct_eq(&submitted)) {
                    return Some(start + i as u64);
                }
            }
            if remaining < BATCH as u64 {
                return None;
            }
            start += BATCH as u64;
        }
    }

    /// Constant-time comparison of one candidate counter with the submitted value (RFC 4226 §7.2).
    pub(crate) fn matches(&self, mac: &CounterMac, counter: u64, submitted: u64) -> bool {
        self.value_at(mac, counter).ct_eq(&submitted).into()
    }

    /// `Snum mod 10^Digit` for one counter (RFC 4226 §5.3).
    fn value_at(&self, mac: &CounterMac, counter: u64) -> u64 {
        u64::from(mac.counter_value(counter)) % modulus(usize::from(self.digits.get()))
    }

    pub(crate) fn code_of(&self, snum: u32) -> Code {
        let digits = usize::from(self.digits.get());
        Code::from_value(u64::from(snum) % modulus(digits), digits)
    }
}
