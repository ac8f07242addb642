//! The knobs of validation. Defaults follow common practice: TOTP ±1 step,
//! HOTP look-ahead 10, 10 failures lock the user for 10 minutes.

use ichido_otp::Window;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// TOTP steps accepted behind the token's learned position.
    pub totp_behind: u64,
    /// TOTP steps accepted ahead of it.
    pub totp_ahead: u64,
    /// HOTP counters tried after the last accepted one.
    pub hotp_look_ahead: u64,
    /// How far resync searches for two consecutive codes (counters or steps).
    pub resync_window: u64,
    /// Consecutive failures after which the user is locked.
    pub max_failures: i64,
    pub lockout_seconds: i64,
    /// Failures counted on a token since its last accepted code after which
    /// it is no longer tried, until a helpdesk unlocks the user. The user's
    /// lock starts its count afresh after each lock; this one does not, so
    /// it ends a slow guessing campaign that the timed lock only paces.
    pub max_token_failures: i64,
    /// How long an enrolled token may stay pending before activation.
    pub pending_seconds: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            totp_behind: 1,
            totp_ahead: 1,
            hotp_look_ahead: 10,
            resync_window: 1000,
            max_failures: 10,
            lockout_seconds: 600,
            max_token_failures: 50,
            pending_seconds: 600,
        }
    }
}

impl Policy {
    pub fn totp_window(&self) -> Window {
        Window {
            behind: self.totp_behind,
            ahead: self.totp_ahead,
        }
    }
}
