//! Verification windows and their result: which counter matched, never a bare bool.

/// How many time steps before and after the expected one a TOTP verification accepts
/// (RFC 6238 §5.2: "at most one time step is allowed as the network delay").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    /// Steps accepted before the expected step.
    pub behind: u64,
    /// Steps accepted after the expected step.
    pub ahead: u64,
}

impl Window {
    /// Only the expected step (RFC 6238 §5.2 with no delay allowed).
    pub const EXACT: Window = Window {
        behind: 0,
        ahead: 0,
    };

    /// The same number of steps on both sides (RFC 6238 §5.2).
    pub fn symmetric(steps: u64) -> Window {
        Window {
            behind: steps,
            ahead: steps,
        }
    }
}

impl Default for Window {
    /// One step on each side, the RFC 6238 §5.2 recommendation.
    fn default() -> Self {
        Window::symmetric(1)
    }
}

/// A successful verification: the counter or time step that matched, and how far it was from the
/// expected one (RFC 4226 §7.4 look-ahead, RFC 6238 §6 drift). Store `counter` as the last accepted
/// value so that the same code is never accepted again (RFC 4226 §7.2, RFC 6238 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Verified {
    /// The matched HOTP counter or TOTP time step.
    pub counter: u64,
    /// Matched minus expected: HOTP `counter - start` (≥ 0), TOTP `step - now_step` (signed).
    pub drift: i64,
}

/// `a - b` as a signed drift, saturating at the `i64` range.
pub(crate) fn signed_distance(a: u64, b: u64) -> i64 {
    let diff = i128::from(a) - i128::from(b);
    diff.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}
