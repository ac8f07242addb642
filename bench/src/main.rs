//! `ichido-bench`: enroll, load Ichido (HTTP, RADIUS) and privacyIDEA, and
//! print the table of medians. `bench/run.sh` drives the whole comparison.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use ichido_bench::enroll::{self, EnrollOptions};
use ichido_bench::load::{self, LoadOptions, Mode};
use ichido_bench::target::{self, Radius, Target};
use ichido_bench::users::UserFile;
use ichido_bench::{fsync, table};

#[derive(Parser)]
#[command(
    name = "ichido-bench",
    about = "Load generator for Ichido and privacyIDEA"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create users with HOTP/TOTP tokens in Ichido; write them and their seeds to a file.
    Enroll {
        #[command(flatten)]
        ichido: IchidoArgs,
        #[command(flatten)]
        enroll: EnrollArgs,
        /// The users file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check codes with `POST /v1/validate` on one or more Ichido nodes.
    Http {
        #[command(flatten)]
        ichido: IchidoArgs,
        #[command(flatten)]
        enroll: EnrollArgs,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Check codes with RADIUS Access-Requests (PAP; the gateway in `otp` mode).
    Radius {
        /// The server's RADIUS address.
        #[arg(long)]
        addr: SocketAddr,
        /// The gateway's shared secret.
        #[arg(long, env = "BENCH_RADIUS_SECRET")]
        secret: String,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Configure privacyIDEA (realm, `otppin=none`) and enroll the users and seeds of a users file.
    PrivacyideaSetup {
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "admin")]
        admin: String,
        #[arg(long, env = "BENCH_PI_PASSWORD")]
        password: String,
        /// The users (and seeds) enrolled in Ichido.
        #[arg(long)]
        users_file: PathBuf,
        /// Where the user list of privacyIDEA's resolver is written.
        #[arg(long)]
        passwd_file: PathBuf,
        /// The users file for privacyIDEA's own counters.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Check codes with `POST /validate/check` of privacyIDEA.
    Privacyidea {
        #[arg(long)]
        url: String,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Print the table of medians from a results file, and the ratio line.
    Table {
        #[arg(long)]
        results: PathBuf,
        /// Two scenario labels, Ichido's then privacyIDEA's: compare valid
        /// accepts per second.
        #[arg(long, num_args = 2, value_names = ["ICHIDO", "PRIVACYIDEA"])]
        ratio: Option<Vec<String>>,
        /// Two scenario labels, Ichido's then privacyIDEA's: compare p99 latency.
        #[arg(long, num_args = 2, value_names = ["ICHIDO", "PRIVACYIDEA"], requires = "ratio")]
        p99_ratio: Option<Vec<String>>,
    },
    /// Measure how many small appends + fdatasync this disk does per second.
    Fsync {
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        #[arg(long, default_value_t = 2000)]
        count: usize,
        #[arg(long, default_value_t = 4096)]
        size: usize,
    },
}

#[derive(Args)]
struct IchidoArgs {
    /// Base URL of an Ichido node; repeat for several nodes sharing one database.
    #[arg(long = "url", required = true)]
    urls: Vec<String>,
    /// An API key (admin to enroll; validator is enough to validate).
    #[arg(long, env = "BENCH_ADMIN_KEY")]
    admin_key: String,
    /// Loops sending wrong passwords for users of their own beside the
    /// measured load (one Argon2id evaluation each), to show that password
    /// work does not slow code checks. Their requests are not in the report;
    /// the server must not lock those users (a high `max_failures`).
    #[arg(long, default_value_t = 0)]
    password_flood: usize,
}

#[derive(Args)]
struct EnrollArgs {
    /// Users to enroll when there is no users file yet.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Share of the users given a TOTP token (the others get HOTP).
    #[arg(long, default_value_t = 0.1)]
    totp_ratio: f64,
    #[arg(long, default_value = "bench-")]
    prefix: String,
    /// Users enrolled at once.
    #[arg(long, default_value_t = 16)]
    enroll_concurrency: usize,
}

impl EnrollArgs {
    fn options(&self) -> EnrollOptions {
        EnrollOptions {
            users: self.users,
            totp_ratio: self.totp_ratio,
            prefix: self.prefix.clone(),
            concurrency: self.enroll_concurrency,
        }
    }
}

#[derive(Args)]
struct LoadArgs {
    /// Users and seeds (written by `enroll`); updated after the run.
    #[arg(long)]
    users_file: Option<PathBuf>,
    /// The scenario's name in the results.
    #[arg(long, default_value = "run")]
    label: String,
    /// Measured time: `10s`, `500ms`, `1m`.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Load before the measured time, not counted.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Open loop at this many requests per second; closed loop without it.
    #[arg(long)]
    rate: Option<f64>,
    /// Closed loop: requests in flight. Open loop: the most in flight.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Share of requests with a wrong code.
    #[arg(long, default_value_t = 0.1)]
    wrong_ratio: f64,
    /// Share of valid codes also sent a second time at the same moment (to
    /// the next node): exactly one of the two may be accepted.
    #[arg(long, default_value_t = 0.0)]
    replay_ratio: f64,
    /// A server process to measure (CPU, RSS, bytes written), with its children; repeatable.
    #[arg(long = "server-pid")]
    server_pids: Vec<u32>,
    /// Append the run's JSON line here.
    #[arg(long)]
    results: Option<PathBuf>,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    timeout: Duration,
}

impl LoadArgs {
    fn options(&self) -> LoadOptions {
        let mode = match self.rate {
            Some(rate) => Mode::Open {
                rate,
                max_in_flight: self.concurrency,
            },
            None => Mode::Closed {
                concurrency: self.concurrency,
            },
        };
        LoadOptions {
            label: self.label.clone(),
            mode,
            duration: self.duration,
            warmup: self.warmup,
            wrong_ratio: self.wrong_ratio,
            replay_ratio: self.replay_ratio,
            server_pids: self.server_pids.clone(),
            ..LoadOptions::default()
        }
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s.split_at(
        s.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(s.len()),
    );
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 10s or 500ms"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        _ => return Err(format!("{s:?}: the unit must be ms, s or m")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ichido-bench: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ichido-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Enroll {
            ichido,
            enroll,
            out,
        } => {
            let http = target::http_client(enroll.enroll_concurrency, Duration::from_secs(30))?;
            let users =
                enroll::enroll_ichido(&http, &ichido.urls[0], &ichido.admin_key, &enroll.options())
                    .await?;
            UserFile { users }.save(&out)?;
            eprintln!("enrolled {} users into {}", enroll.users, out.display());
        }
        Command::Http {
            ichido,
            enroll,
            load,
        } => {
            let http = target::http_client(load.concurrency, load.timeout)?;
            let users = match &load.users_file {
                Some(path) if path.exists() => UserFile::load(path)?,
                _ => {
                    let users = enroll::enroll_ichido(
                        &http,
                        &ichido.urls[0],
                        &ichido.admin_key,
                        &enroll.options(),
                    )
                    .await?;
                    UserFile { users }
                }
            };
            if ichido.password_flood > 0 {
                ichido_bench::flood::create_users(
                    &http,
                    &ichido.urls[0],
                    &ichido.admin_key,
                    ichido.password_flood,
                )
                .await?;
            }
            let flood = match ichido.password_flood {
                0 => None,
                n => Some(ichido_bench::flood::start(
                    target::http_client(n, Duration::from_secs(60))?,
                    ichido.urls[0].clone(),
                    ichido.admin_key.clone(),
                    n,
                    tokio::time::Instant::now() + load.warmup + load.duration,
                )),
            };
            let target = Target::Ichido {
                http,
                urls: ichido.urls,
                key: ichido.admin_key,
            };
            drive(target, users, &load).await?;
            if let Some(answered) = flood {
                let n = answered.load(std::sync::atomic::Ordering::Relaxed);
                let secs = (load.warmup + load.duration).as_secs_f64();
                println!(
                    "password flood: {n} wrong-password requests answered ({:.0}/s)",
                    n as f64 / secs
                );
            }
        }
        Command::Radius { addr, secret, load } => {
            let users = UserFile::load(
                load.users_file
                    .as_deref()
                    .ok_or_else(|| anyhow::anyhow!("--users-file is needed"))?,
            )?;
            let target =
                Target::Radius(Radius::new(addr, &secret, load.concurrency, load.timeout).await?);
            drive(target, users, &load).await?;
        }
        Command::PrivacyideaSetup {
            url,
            admin,
            password,
            users_file,
            passwd_file,
            out,
            concurrency,
        } => {
            let http = target::http_client(concurrency, Duration::from_secs(60))?;
            let users = UserFile::load(&users_file)?.users;
            let pi = enroll::PrivacyIdea {
                http: &http,
                url: &url,
                admin: &admin,
                password: &password,
                passwd_file: &passwd_file,
                concurrency,
            };
            let users = pi.setup(&users).await?;
            UserFile { users }.save(&out)?;
            eprintln!(
                "privacyIDEA: realm, policy and {} tokens ready",
                UserFile::load(&out)?.users.len()
            );
        }
        Command::Privacyidea { url, load } => {
            let users = UserFile::load(
                load.users_file
                    .as_deref()
                    .ok_or_else(|| anyhow::anyhow!("--users-file is needed"))?,
            )?;
            let http = target::http_client(load.concurrency, load.timeout)?;
            drive(Target::PrivacyIdea { http, url }, users, &load).await?;
        }
        Command::Table {
            results,
            ratio,
            p99_ratio,
        } => {
            let groups = table::load(&results)?;
            print!("{}", table::render(&groups));
            if let Some(t) = ratio {
                let l = p99_ratio.as_ref().map(|l| (l[0].as_str(), l[1].as_str()));
                println!();
                println!("{}", table::ratio_line(&groups, (&t[0], &t[1]), l)?);
            }
        }
        Command::Fsync { dir, count, size } => {
            println!(
                "{}",
                fsync::measure(&dir, count, size, Duration::from_secs(60))?
            );
        }
    }
    Ok(())
}

async fn drive(target: Target, users: UserFile, args: &LoadArgs) -> anyhow::Result<()> {
    let (report, after) = load::run(target, &users.users, args.options()).await?;
    if let Some(path) = &args.users_file {
        UserFile { users: after }.save(path)?;
    }
    print!("{}", report.summary());
    if let Some(path) = &args.results {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        writeln!(f, "{}", serde_json::to_string(&report)?)?;
    }
    if report.failures() > 0 {
        eprintln!(
            "ichido-bench: {} requests did not get the expected answer",
            report.failures()
        );
    }
    Ok(())
}
