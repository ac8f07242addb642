//! How often a dropped packet is written to the audit log. Every drop is
//! counted in the metrics, but a flood from unknown or spoofed addresses
//! must not fill the log: at most one event per source address and reason
//! every `PER_SOURCE`, and at most `PER_WINDOW` events in all per window.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const PER_SOURCE: Duration = Duration::from_secs(10);
pub const PER_WINDOW: u32 = 100;

struct Inner {
    last: HashMap<(IpAddr, &'static str), Instant>,
    window_start: Option<Instant>,
    in_window: u32,
}

pub struct RefusalLog(Mutex<Inner>);

impl Default for RefusalLog {
    fn default() -> Self {
        RefusalLog(Mutex::new(Inner {
            last: HashMap::new(),
            window_start: None,
            in_window: 0,
        }))
    }
}

impl RefusalLog {
    /// Whether this drop should be audited; remembers that it was.
    pub fn should_record(&self, ip: IpAddr, reason: &'static str, now: Instant) -> bool {
        let mut inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let window_over = inner
            .window_start
            .is_none_or(|s| now.saturating_duration_since(s) >= PER_SOURCE);
        if window_over {
            inner.window_start = Some(now);
            inner.in_window = 0;
            inner
                .last
                .retain(|_, at| now.saturating_duration_since(*at) < PER_SOURCE);
        }
        if inner.in_window >= PER_WINDOW {
            return false;
        }
        let recent = inner.last.get(&(ip, reason));
        if recent.is_some_and(|at| now.saturating_duration_since(*at) < PER_SOURCE) {
            return false;
        }
        inner.last.insert((ip, reason), now);
        inner.in_window += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn one_event_per_source_and_reason_per_period() {
        let log = RefusalLog::default();
        let t = Instant::now();
        assert!(log.should_record(ip(1), "unknown_client", t));
        assert!(!log.should_record(ip(1), "unknown_client", t + Duration::from_secs(9)));
        assert!(log.should_record(ip(1), "malformed", t + Duration::from_secs(9)));
        assert!(log.should_record(ip(2), "unknown_client", t));
        assert!(log.should_record(ip(1), "unknown_client", t + PER_SOURCE));
    }

    #[test]
    fn many_sources_are_capped_in_all() {
        let log = RefusalLog::default();
        let t = Instant::now();
        let recorded = (0..=255u8)
            .flat_map(|a| (0..4u8).map(move |b| IpAddr::from([10, 0, b, a])))
            .filter(|ip| log.should_record(*ip, "unknown_client", t))
            .count();
        assert_eq!(recorded, PER_WINDOW as usize);
        assert!(log.should_record(ip(1), "unknown_client", t + PER_SOURCE));
    }
}
