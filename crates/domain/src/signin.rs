//! Sign-in for applications: one decision per attempt (accept, challenge
//! with the factors the user can answer, reject), devices the user chose to
//! remember, and the history of the decisions.
//!
//! A remembered device holds a token `<id>.<secret>`; only a keyed hash of
//! it is stored. Each use replaces the secret, and the one before is kept so
//! that its reuse — a copy of the token taken before the last use — revokes
//! the device. Trust skips the second factor, never the password.

use std::future::Future;
use std::net::IpAddr;

use crate::audit::Event;
use crate::clock::Timestamp;
use crate::error::StoreError;

pub type Result<T> = std::result::Result<T, StoreError>;

/// Whether a device's network vouches for another device of the same user.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strength {
    /// Only a remembered device skips the second factor.
    #[default]
    Strong,
    /// Also a new device in the network (/24, /64) of a device of the user
    /// still trusted.
    Weak,
}

/// How long sign-ins wait and devices stay trusted.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SigninPolicy {
    /// How long a challenged sign-in waits for its answer.
    pub answer_seconds: i64,
    /// A remembered device is trusted at most this long after it was first
    /// remembered.
    pub device_days: i64,
    /// … and no longer than this after its last use.
    pub idle_days: i64,
    /// Decisions older than this leave the history.
    pub history_days: i64,
    /// `strong`: a new device always answers a second factor; `weak`: not
    /// from the network of a trusted device.
    pub strength: Strength,
}

impl Default for SigninPolicy {
    fn default() -> Self {
        SigninPolicy {
            answer_seconds: 300,
            device_days: 30,
            idle_days: 14,
            history_days: 365,
            strength: Strength::Strong,
        }
    }
}

impl SigninPolicy {
    pub fn check(&self) -> std::result::Result<(), String> {
        if !(30..=3600).contains(&self.answer_seconds) {
            return Err("signin.answer_seconds must be 30-3600".into());
        }
        if !(1..=365).contains(&self.device_days) || !(1..=365).contains(&self.idle_days) {
            return Err("signin.device_days and signin.idle_days must be 1-365".into());
        }
        if !(1..=3650).contains(&self.history_days) {
            return Err("signin.history_days must be 1-3650".into());
        }
        Ok(())
    }
}

/// A sign-in waiting for its second factor. `id_hash` is a keyed hash of
/// the id handed to the application, never the id itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingSignin {
    pub id_hash: String,
    pub user_id: i64,
    pub username: String,
    pub app: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// The factors offered, comma-separated: `totp,email,backup`.
    pub factors: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl PendingSignin {
    pub fn offers(&self, factor: &str) -> bool {
        self.factors.split(',').any(|f| f == factor)
    }
}

/// A remembered device as stored: hashes only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub user_id: i64,
    pub secret_hash: String,
    /// The hash of the secret before the last use.
    pub previous_hash: Option<String>,
    /// Taken from the user agent it was remembered from.
    pub name: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub last_ip: Option<String>,
    /// The absolute end of its trust.
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub revoked_reason: Option<String>,
}

impl Device {
    /// When its trust ends at the latest, idle or not.
    pub fn trusted_until(&self, policy: &SigninPolicy) -> Timestamp {
        let idle = self.last_seen_at.plus_secs(policy.idle_days * 86_400);
        Timestamp(idle.0.min(self.expires_at.0))
    }

    /// Not revoked, and neither past its lifetime nor idle too long.
    pub fn is_trusted(&self, now: Timestamp, policy: &SigninPolicy) -> bool {
        self.revoked_at.is_none() && now < self.trusted_until(policy)
    }
}

/// One decision, as the history shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigninRecord {
    pub user_id: i64,
    pub at: Timestamp,
    /// `accept`, `challenge` or `reject`.
    pub result: String,
    pub app: String,
    pub client_ip: Option<String>,
    pub device_name: Option<String>,
    /// The device was not one the user had remembered.
    pub new_device: bool,
    /// What the second step was answered with: `device`, `totp`, `backup` …
    pub factor: Option<String>,
}

/// A device's secret replaced on use: only if it still has `old_hash`.
#[derive(Clone, Debug)]
pub struct Rotation {
    pub device_id: String,
    pub old_hash: String,
    pub new_hash: String,
    pub ip: Option<String>,
    pub now: Timestamp,
}

pub trait SigninStore: Send + Sync {
    /// Keeps a pending sign-in (and deletes those expired at its creation),
    /// with its history row and its event.
    fn open_signin(
        &self,
        pending: &PendingSignin,
        record: &SigninRecord,
        ev: &Event,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Spends the pending sign-in, whatever comes of it: the row as it was,
    /// once; `None` if it never existed or was taken before, on any node.
    fn take_signin(
        &self,
        id_hash: &str,
    ) -> impl Future<Output = Result<Option<PendingSignin>>> + Send;
    /// Appends a decision to the history, with its event, and stores a
    /// newly remembered device in the same transaction.
    fn record_signin(
        &self,
        record: &SigninRecord,
        device: Option<&Device>,
        ev: &Event,
    ) -> impl Future<Output = Result<()>> + Send;
    fn device(&self, id: &str) -> impl Future<Output = Result<Option<Device>>> + Send;
    /// Every device of the user, revoked ones too, newest first.
    fn devices_of_user(&self, user_id: i64) -> impl Future<Output = Result<Vec<Device>>> + Send;
    /// Replaces the secret of a device not revoked that still has
    /// `old_hash`, and appends the decision; false (nothing written) when
    /// another use replaced it first.
    fn rotate_device(
        &self,
        r: &Rotation,
        record: &SigninRecord,
        ev: &Event,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Revokes the user's devices not yet revoked — one, or all when
    /// `device_id` is `None` — with the event; how many.
    fn revoke_devices(
        &self,
        user_id: i64,
        device_id: Option<&str>,
        reason: &str,
        now: Timestamp,
        ev: &Event,
    ) -> impl Future<Output = Result<u64>> + Send;
    /// Locks the account until `until` and revokes every device of it
    /// ("this wasn't me"), with the event.
    fn lock_account(
        &self,
        user_id: i64,
        until: Timestamp,
        now: Timestamp,
        ev: &Event,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The user's decisions, newest first, before the row `before` if given.
    fn signins_of_user(
        &self,
        user_id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<(i64, SigninRecord)>>> + Send;
    /// Deletes the history's decisions taken before `before`; how many.
    fn prune_signins(&self, before: Timestamp) -> impl Future<Output = Result<u64>> + Send;
}

/// Two addresses in one network as `weak` sign-in counts it: the same /24
/// for IPv4, the same /64 for IPv6 (an IPv4-mapped IPv6 address is its
/// IPv4 address). False when either is not an address.
pub fn same_network(a: &str, b: &str) -> bool {
    let parse = |s: &str| s.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
    match (parse(a), parse(b)) {
        (Some(IpAddr::V4(a)), Some(IpAddr::V4(b))) => a.octets()[..3] == b.octets()[..3],
        (Some(IpAddr::V6(a)), Some(IpAddr::V6(b))) => a.octets()[..8] == b.octets()[..8],
        _ => false,
    }
}

/// A short name for a device from its user agent: the browser and the
/// system, e.g. `Firefox on Linux`; `unknown device` when nothing is known.
pub fn device_name(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|u| !u.trim().is_empty()) else {
        return "unknown device".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .into_iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Macintosh", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => s.to_owned(),
        (None, None) => ua.chars().take(40).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_named_after_its_browser_and_system() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(device_name(Some(firefox)), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
                      (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(device_name(Some(chrome)), "Chrome on Windows");
        assert_eq!(device_name(None), "unknown device");
        assert_eq!(device_name(Some("agent-x")), "agent-x");
    }

    #[test]
    fn one_network_is_a_slash_24_or_a_slash_64() {
        assert!(same_network("192.0.2.7", "192.0.2.250"));
        assert!(!same_network("192.0.2.7", "192.0.3.7"));
        assert!(same_network("2001:db8:1:2::1", "2001:db8:1:2:ffff::9"));
        assert!(!same_network("2001:db8:1:2::1", "2001:db8:1:3::1"));
        assert!(same_network("::ffff:192.0.2.7", "192.0.2.8"));
        assert!(!same_network("192.0.2.7", "::ffff:c000:207:1"));
        assert!(!same_network("192.0.2.7", "not an address"));
    }

    #[test]
    fn trust_ends_at_the_lifetime_or_after_idling_whichever_is_first() {
        let policy = SigninPolicy::default();
        let day = 86_400;
        let d = Device {
            id: "d".into(),
            user_id: 1,
            secret_hash: "h".into(),
            previous_hash: None,
            name: "n".into(),
            created_at: Timestamp::from_secs(0),
            last_seen_at: Timestamp::from_secs(20 * day),
            last_ip: None,
            expires_at: Timestamp::from_secs(30 * day),
            revoked_at: None,
            revoked_reason: None,
        };
        assert!(d.is_trusted(Timestamp::from_secs(30 * day - 1), &policy));
        assert!(!d.is_trusted(Timestamp::from_secs(30 * day), &policy));
        let idle = Device {
            last_seen_at: Timestamp::from_secs(day),
            ..d.clone()
        };
        assert!(!idle.is_trusted(Timestamp::from_secs(15 * day), &policy));
        let revoked = Device {
            revoked_at: Some(Timestamp::from_secs(day)),
            ..d
        };
        assert!(!revoked.is_trusted(Timestamp::from_secs(2 * day), &policy));
    }
}
