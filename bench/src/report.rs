//! What one run measured: counts, a latency histogram, and the server's
//! memory and CPU read from `/proc`.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latencies up to a minute, to three significant digits, in microseconds.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("static histogram bounds")
}

/// The answers of a run, by kind: kept while it goes on, reported after it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Counts {
    pub valid_sent: u64,
    pub valid_accepted: u64,
    pub valid_rejected: u64,
    pub wrong_sent: u64,
    pub wrong_rejected: u64,
    pub wrong_accepted: u64,
    /// Second copies of a valid code sent at the same time as the first.
    pub replays_sent: u64,
    pub replays_accepted: u64,
    /// Requests that got no answer, an error status or an unreadable one.
    pub errors: BTreeMap<String, u64>,
    /// Open loop: ticks with no idle user or over the in-flight bound.
    pub not_sent: u64,
}

impl Counts {
    pub fn error(&mut self, kind: &str) {
        *self.errors.entry(kind.to_owned()).or_default() += 1;
    }

    /// Every request sent, answered or not.
    pub fn requests(&self) -> u64 {
        self.valid_sent + self.wrong_sent + self.replays_sent + self.errors.values().sum::<u64>()
    }

    /// Everything that is not the expected answer.
    pub fn failures(&self) -> u64 {
        self.valid_rejected
            + self.wrong_accepted
            + self.replays_accepted
            + self.errors.values().sum::<u64>()
    }
}

/// What a run keeps while it goes on.
pub struct Stats {
    pub latency: Histogram<u64>,
    pub counts: Counts,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            latency: histogram(),
            counts: Counts::default(),
        }
    }
}

impl Stats {
    pub fn record_latency(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        self.latency.saturating_record(us);
    }
}

/// CPU time and memory of a set of processes at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcSample {
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    pub rss_kib: u64,
    pub peak_rss_kib: u64,
    /// Bytes these processes caused to be written to storage.
    pub write_bytes: u64,
}

/// Clock ticks per second of `/proc/<pid>/stat`; 100 on every Linux this runs on.
pub const TICKS_PER_SECOND: f64 = 100.0;

impl ProcSample {
    /// Sums over `pids` and all their descendants (gunicorn's workers).
    pub fn of(pids: &[u32]) -> ProcSample {
        let mut all = Vec::new();
        for &pid in pids {
            collect_tree(pid, &mut all);
        }
        all.sort_unstable();
        all.dedup();
        let mut s = ProcSample::default();
        for pid in all {
            s.cpu_ticks += cpu_ticks(&format!("/proc/{pid}/stat")).unwrap_or(0);
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            s.rss_kib += status_kib(&status, "VmRSS:");
            s.peak_rss_kib += status_kib(&status, "VmHWM:");
            let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
            s.write_bytes += io_field(&io, "write_bytes:");
        }
        s
    }

    pub fn this_process() -> ProcSample {
        ProcSample {
            cpu_ticks: cpu_ticks("/proc/self/stat").unwrap_or(0),
            ..Default::default()
        }
    }

    /// CPU used between two samples, in cores (1.0 = one core busy).
    pub fn cores_since(&self, before: &ProcSample, elapsed: Duration) -> f64 {
        let ticks = self.cpu_ticks.saturating_sub(before.cpu_ticks) as f64;
        ticks / TICKS_PER_SECOND / elapsed.as_secs_f64().max(1e-9)
    }
}

/// Busy clock ticks of the whole machine (every CPU), from `/proc/stat`.
pub fn machine_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return 0;
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait.
    v.iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, t)| t)
        .sum()
}

fn cpu_ticks(path: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 here.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn collect_tree(root: u32, out: &mut Vec<u32>) {
    out.push(root);
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    let children: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| parent_of(pid) == Some(root))
        .collect();
    for child in children {
        collect_tree(child, out);
    }
}

fn status_kib(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn io_field(io: &str, field: &str) -> u64 {
    io.lines()
        .find_map(|l| l.strip_prefix(field)?.trim().parse().ok())
        .unwrap_or(0)
}

/// One run, as one JSON line of the results file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Report {
    pub label: String,
    /// `closed` or `open`.
    pub mode: String,
    pub concurrency: usize,
    /// Open loop: the requests per second asked for.
    pub rate: Option<f64>,
    pub seconds: f64,
    pub users: usize,
    pub requests: u64,
    /// Valid codes accepted per second: the headline number.
    pub accepts_per_second: f64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    #[serde(flatten)]
    pub counts: Counts,
    pub server_rss_mib: Option<f64>,
    pub server_peak_rss_mib: Option<f64>,
    /// Server CPU in cores during the measured window.
    pub server_cpu_cores: Option<f64>,
    pub server_write_bytes_per_request: Option<f64>,
    pub bench_cpu_cores: f64,
    /// CPU used by everything else on the machine meanwhile, in cores: how
    /// quiet the machine was.
    #[serde(default)]
    pub other_cpu_cores: Option<f64>,
}

impl Report {
    pub fn failures(&self) -> u64 {
        self.counts.failures()
    }

    /// A short human summary.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: {} {:.0} accepts/s ({:.0} req/s), p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms\n",
            self.label,
            self.mode,
            self.accepts_per_second,
            self.requests_per_second,
            self.p50_ms,
            self.p95_ms,
            self.p99_ms,
            self.max_ms
        );
        let c = &self.counts;
        s += &format!(
            "  valid {} (accepted {}, rejected {}), wrong {} (rejected {}, accepted {}), replays {} (accepted {}), not sent {}, errors {:?}\n",
            c.valid_sent,
            c.valid_accepted,
            c.valid_rejected,
            c.wrong_sent,
            c.wrong_rejected,
            c.wrong_accepted,
            c.replays_sent,
            c.replays_accepted,
            c.not_sent,
            c.errors
        );
        if let (Some(rss), Some(cpu)) = (self.server_rss_mib, self.server_cpu_cores) {
            s += &format!(
                "  server RSS {rss:.1} MiB (peak {:.1}), CPU {cpu:.2} cores, {:.0} bytes written/request; bench CPU {:.2} cores\n",
                self.server_peak_rss_mib.unwrap_or(0.0),
                self.server_write_bytes_per_request.unwrap_or(0.0),
                self.bench_cpu_cores
            );
        }
        if let Some(other) = self.other_cpu_cores {
            s += &format!("  other processes meanwhile: {other:.2} cores\n");
        }
        s
    }
}

pub fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}
