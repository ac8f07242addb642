//! The load: closed loop (a fixed number of requests always in flight, as
//! fast as the server answers) or open loop (requests started at a fixed
//! rate whatever the answers; latency counted from when a request was due,
//! so a stalled server cannot hide its queue).
//!
//! A user has at most one request in flight, so HOTP counters are sent in
//! order; a TOTP user is sent one valid code per 30-second step.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use crate::report::{ProcSample, Report, Stats, TICKS_PER_SECOND, machine_busy_ticks, ms};
use crate::target::Target;
use crate::users::{EnrolledUser, Kind, LiveUser, unix_now};

#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Closed { concurrency: usize },
    Open { rate: f64, max_in_flight: usize },
}

#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub label: String,
    pub mode: Mode,
    /// Measured time, after the warm-up.
    pub duration: Duration,
    pub warmup: Duration,
    /// Share of requests that carry a wrong code.
    pub wrong_ratio: f64,
    /// Share of valid codes sent twice at the same moment (to two nodes
    /// when there are several): exactly one of the two may pass.
    pub replay_ratio: f64,
    /// Wrong codes in a row for one user, kept below the lockout limit.
    pub max_wrong_in_a_row: u32,
    /// Processes whose CPU and memory are reported (with their children).
    pub server_pids: Vec<u32>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            label: "run".into(),
            mode: Mode::Closed { concurrency: 64 },
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(2),
            wrong_ratio: 0.1,
            replay_ratio: 0.0,
            max_wrong_in_a_row: 3,
            server_pids: Vec::new(),
        }
    }
}

/// Idle users: HOTP ones in a queue, TOTP ones by the step they are ready at.
struct Pool {
    users: Vec<Mutex<LiveUser>>,
    hotp: Mutex<VecDeque<usize>>,
    totp: Mutex<BinaryHeap<Reverse<(u64, usize)>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pool {
    fn new(users: Vec<LiveUser>) -> Pool {
        let mut hotp = VecDeque::new();
        let mut totp = BinaryHeap::new();
        for (i, u) in users.iter().enumerate() {
            match u.kind {
                Kind::Hotp => hotp.push_back(i),
                Kind::Totp => totp.push(Reverse((u.ready_step(), i))),
            }
        }
        Pool {
            users: users.into_iter().map(Mutex::new).collect(),
            hotp: Mutex::new(hotp),
            totp: Mutex::new(totp),
        }
    }

    /// A ready TOTP user first (each is ready once per step), else the HOTP
    /// user idle the longest.
    fn take(&self, step: u64) -> Option<usize> {
        {
            let mut totp = lock(&self.totp);
            if totp
                .peek()
                .is_some_and(|Reverse((ready, _))| *ready <= step)
            {
                return totp.pop().map(|Reverse((_, i))| i);
            }
        }
        lock(&self.hotp).pop_front()
    }

    fn give_back(&self, i: usize) {
        let (kind, ready) = {
            let u = lock(&self.users[i]);
            (u.kind, u.ready_step())
        };
        match kind {
            Kind::Hotp => lock(&self.hotp).push_back(i),
            Kind::Totp => lock(&self.totp).push(Reverse((ready, i))),
        }
    }
}

struct Run {
    target: Target,
    pool: Pool,
    stats: Mutex<Stats>,
    opts: LoadOptions,
    measure_from: Instant,
    measure_until: Instant,
    next_node: AtomicUsize,
    in_flight: AtomicUsize,
}

/// What one request was meant to test.
enum Plan {
    Valid(String),
    Wrong(String),
    Replayed(String),
}

impl Run {
    fn measured(&self, due: Instant) -> bool {
        due >= self.measure_from && due < self.measure_until
    }

    /// One check (or a replayed pair) for the next idle user; false when no
    /// user was idle.
    async fn one(&self, due: Instant) -> bool {
        let unix = unix_now();
        let Some(i) = self.pool.take(unix / 30) else {
            if matches!(self.opts.mode, Mode::Open { .. }) && self.measured(due) {
                lock(&self.stats).counts.not_sent += 1;
            }
            return false;
        };
        let (username, plan) = {
            let mut rng = rand::thread_rng();
            let mut u = lock(&self.pool.users[i]);
            let wrong = u.wrong_in_a_row < self.opts.max_wrong_in_a_row
                && rng.r#gen::<f64>() < self.opts.wrong_ratio;
            let valid = if wrong { None } else { u.take_valid(unix) };
            let plan = match valid {
                Some(code) if rng.r#gen::<f64>() < self.opts.replay_ratio => Plan::Replayed(code),
                Some(code) => Plan::Valid(code),
                None => Plan::Wrong(u.wrong_code(unix, &mut rng)),
            };
            (u.username.clone(), plan)
        };
        let node = self.next_node.fetch_add(1, Ordering::Relaxed);
        let outcome = match &plan {
            Plan::Valid(code) | Plan::Wrong(code) => {
                (self.target.check(node, &username, code).await, None)
            }
            Plan::Replayed(code) => {
                let (a, b) = tokio::join!(
                    self.target.check(node, &username, code),
                    self.target.check(node + 1, &username, code)
                );
                (a, Some(b))
            }
        };
        let done = Instant::now();
        self.pool.give_back(i);
        if !self.measured(due) {
            return true;
        }
        let mut s = lock(&self.stats);
        s.record_latency(done - due);
        match (plan, outcome) {
            (Plan::Valid(_), (Ok(true), _)) => {
                s.counts.valid_sent += 1;
                s.counts.valid_accepted += 1;
            }
            (Plan::Valid(_), (Ok(false), _)) => {
                s.counts.valid_sent += 1;
                s.counts.valid_rejected += 1;
            }
            (Plan::Wrong(_), (Ok(accepted), _)) => {
                s.counts.wrong_sent += 1;
                if accepted {
                    s.counts.wrong_accepted += 1;
                } else {
                    s.counts.wrong_rejected += 1;
                }
            }
            (Plan::Replayed(_), (Ok(a), Some(Ok(b)))) => {
                s.counts.valid_sent += 1;
                s.counts.replays_sent += 1;
                match (a, b) {
                    (true, true) => {
                        s.counts.valid_accepted += 1;
                        s.counts.replays_accepted += 1;
                    }
                    (true, false) | (false, true) => s.counts.valid_accepted += 1,
                    (false, false) => s.counts.valid_rejected += 1,
                }
            }
            (_, (first, second)) => {
                for r in std::iter::once(first).chain(second) {
                    if let Err(f) = r {
                        s.counts.error(&f.0);
                    }
                }
            }
        }
        true
    }
}

/// Runs the load and returns the report and the users' new state (write it
/// back to the users file: their used codes must not be sent again).
pub async fn run(
    target: Target,
    users: &[EnrolledUser],
    opts: LoadOptions,
) -> anyhow::Result<(Report, Vec<EnrolledUser>)> {
    if users.is_empty() {
        anyhow::bail!("no users to send codes for");
    }
    let live = users
        .iter()
        .map(LiveUser::new)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let start = Instant::now();
    let measure_from = start + opts.warmup;
    let measure_until = measure_from + opts.duration;
    let run = Arc::new(Run {
        target,
        pool: Pool::new(live),
        stats: Mutex::new(Stats::default()),
        opts: opts.clone(),
        measure_from,
        measure_until,
        next_node: AtomicUsize::new(0),
        in_flight: AtomicUsize::new(0),
    });

    let driver = {
        let run = run.clone();
        tokio::spawn(async move { drive(run).await })
    };
    tokio::time::sleep_until(measure_from).await;
    let server_before = ProcSample::of(&opts.server_pids);
    let bench_before = ProcSample::this_process();
    let machine_before = machine_busy_ticks();
    tokio::time::sleep_until(measure_until).await;
    let server_after = ProcSample::of(&opts.server_pids);
    let bench_after = ProcSample::this_process();
    let machine_after = machine_busy_ticks();
    driver.await?;

    let run = Arc::into_inner(run).ok_or_else(|| anyhow::anyhow!("requests still running"))?;
    let stats = run.stats.into_inner().unwrap_or_else(|e| e.into_inner());
    let users_after = run
        .pool
        .users
        .into_iter()
        .map(|u| {
            u.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .to_enrolled()
        })
        .collect();
    let secs = opts.duration.as_secs_f64();
    let requests = stats.counts.requests();
    let has_server = !opts.server_pids.is_empty();
    let (mode, concurrency, rate) = match opts.mode {
        Mode::Closed { concurrency } => ("closed", concurrency, None),
        Mode::Open {
            rate,
            max_in_flight,
        } => ("open", max_in_flight, Some(rate)),
    };
    let report = Report {
        label: opts.label.clone(),
        mode: mode.into(),
        concurrency,
        rate,
        seconds: secs,
        users: users.len(),
        requests,
        accepts_per_second: stats.counts.valid_accepted as f64 / secs,
        requests_per_second: requests as f64 / secs,
        p50_ms: ms(stats.latency.value_at_quantile(0.50)),
        p95_ms: ms(stats.latency.value_at_quantile(0.95)),
        p99_ms: ms(stats.latency.value_at_quantile(0.99)),
        max_ms: ms(stats.latency.max()),
        counts: stats.counts.clone(),
        server_rss_mib: has_server.then(|| server_after.rss_kib as f64 / 1024.0),
        server_peak_rss_mib: has_server.then(|| server_after.peak_rss_kib as f64 / 1024.0),
        server_cpu_cores: has_server
            .then(|| server_after.cores_since(&server_before, opts.duration)),
        server_write_bytes_per_request: has_server.then(|| {
            server_after
                .write_bytes
                .saturating_sub(server_before.write_bytes) as f64
                / requests.max(1) as f64
        }),
        bench_cpu_cores: bench_after.cores_since(&bench_before, opts.duration),
        other_cpu_cores: has_server.then(|| {
            let all = machine_after.saturating_sub(machine_before) as f64 / TICKS_PER_SECOND / secs;
            let ours = server_after.cores_since(&server_before, opts.duration)
                + bench_after.cores_since(&bench_before, opts.duration);
            (all - ours).max(0.0)
        }),
    };
    Ok((report, users_after))
}

/// Starts requests until the measured window ends, then waits for the last
/// ones (bounded: every request has a timeout).
async fn drive(run: Arc<Run>) {
    match run.opts.mode {
        Mode::Closed { concurrency } => {
            let mut workers = tokio::task::JoinSet::new();
            for _ in 0..concurrency.max(1) {
                let run = run.clone();
                workers.spawn(async move {
                    loop {
                        let now = Instant::now();
                        if now >= run.measure_until {
                            break;
                        }
                        if !run.one(now).await {
                            // Fewer idle users than workers: wait for one.
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                    }
                });
            }
            while workers.join_next().await.is_some() {}
        }
        Mode::Open {
            rate,
            max_in_flight,
        } => {
            let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
            let start = Instant::now();
            let mut requests = tokio::task::JoinSet::new();
            for i in 0u32.. {
                let due = start + interval * i;
                if due >= run.measure_until {
                    break;
                }
                tokio::time::sleep_until(due).await;
                while requests.try_join_next().is_some() {}
                if run.in_flight.load(Ordering::Relaxed) >= max_in_flight {
                    if run.measured(due) {
                        lock(&run.stats).counts.not_sent += 1;
                    }
                    continue;
                }
                let run = run.clone();
                run.in_flight.fetch_add(1, Ordering::Relaxed);
                requests.spawn(async move {
                    run.one(due).await;
                    run.in_flight.fetch_sub(1, Ordering::Relaxed);
                });
            }
            while requests.join_next().await.is_some() {}
        }
    }
}
