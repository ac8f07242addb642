//! The real `ichido` binary as a child process: servers that are always
//! killed (even when the test fails) and one-shot CLI commands.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_ichido");

const START_TIMEOUT: Duration = Duration::from_secs(15);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
const CLI_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(20);

/// One installation: its data directory, optionally a PostgreSQL database
/// shared with other nodes, and environment overrides for every command.
#[derive(Clone, Debug)]
pub struct Install {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    env: Vec<(String, String)>,
}

impl Install {
    pub fn sqlite(data_dir: impl Into<PathBuf>) -> Self {
        Install {
            data_dir: data_dir.into(),
            database_url: None,
            env: Vec::new(),
        }
    }

    pub fn postgres(data_dir: impl Into<PathBuf>, url: &str) -> Self {
        Install {
            data_dir: data_dir.into(),
            database_url: Some(url.to_owned()),
            env: Vec::new(),
        }
    }

    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The SQLite database file of this installation.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("ichido.db")
    }

    /// `ichido --data-dir … [--database-url …]`, with no `ICHIDO_*` variable
    /// of the test's own environment leaking in.
    fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        for (name, _) in std::env::vars() {
            if name.starts_with("ICHIDO_") {
                cmd.env_remove(name);
            }
        }
        cmd.env("NO_COLOR", "1");
        // Tests run in parallel; RADIUS (UDP 1812 by default) is not what they test.
        cmd.env("ICHIDO_RADIUS__LISTEN", "off");
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.current_dir(std::env::temp_dir());
        cmd.arg("--data-dir").arg(&self.data_dir);
        if let Some(url) = &self.database_url {
            cmd.arg("--database-url").arg(url);
        }
        cmd
    }

    /// Runs a CLI command to completion.
    pub fn run(&self, args: &[&str]) -> Finished {
        let mut cmd = self.command();
        cmd.args(args);
        run_to_end(cmd, &format!("ichido {}", args.join(" ")))
    }

    /// Starts `ichido serve` on a free port and waits until `/healthz` answers.
    pub fn serve(&self) -> Server {
        // The free port can be taken by someone else between our probe and
        // the server's bind; that race is retried, anything else is a failure.
        for failed_binds in 0..3 {
            let port = free_port();
            let mut cmd = self.command();
            cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")]);
            let mut server = Server::spawn(cmd, SocketAddr::from(([127, 0, 0, 1], port)));
            match server.wait_healthy() {
                Ok(()) => {
                    server.failed_binds = failed_binds;
                    return server;
                }
                Err(Early::PortTaken) => continue,
                Err(Early::Failed(why)) => panic!("ichido serve did not start: {why}"),
            }
        }
        panic!("ichido serve: no free port after 3 attempts");
    }
}

/// Runs a command made by the caller (for flags [`Install`] would add).
pub fn run_raw(args: &[&str]) -> Finished {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("ICHIDO_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("NO_COLOR", "1")
        .current_dir(std::env::temp_dir())
        .args(args);
    run_to_end(cmd, &format!("ichido {}", args.join(" ")))
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local address").port()
}

/// A finished CLI command.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// Panics with the command's output unless it exited 0.
    pub fn ok(self, what: &str) -> Self {
        assert!(
            self.status.success(),
            "{what}: exited {}\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }
}

fn run_to_end(mut cmd: Command, what: &str) -> Finished {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start {BIN}: {e}"));
    let out = capture(child.stdout.take());
    let err = capture(child.stderr.take());
    let deadline = Instant::now() + CLI_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the command") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {CLI_TIMEOUT:?}");
        }
        std::thread::sleep(POLL);
    };
    Finished {
        status,
        stdout: out.finish(),
        stderr: err.finish(),
    }
}

/// Everything a child writes to one of its pipes, read as it comes so the
/// child never blocks on a full pipe.
struct Captured {
    text: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

fn capture(pipe: Option<impl Read + Send + 'static>) -> Captured {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    let reader = pipe.map(|mut pipe| {
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    });
    Captured { text, reader }
}

impl Captured {
    fn now(&self) -> String {
        self.text.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    /// All of it; call once the child has exited.
    fn finish(mut self) -> String {
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.now()
    }
}

enum Early {
    PortTaken,
    Failed(String),
}

/// A running `ichido serve`. Dropping it kills the process.
pub struct Server {
    child: Child,
    exited: Option<ExitStatus>,
    /// Earlier attempts that lost the free port to someone else.
    failed_binds: u32,
    pub addr: SocketAddr,
    stdout: Captured,
    stderr: Captured,
}

impl Server {
    fn spawn(mut cmd: Command, addr: SocketAddr) -> Server {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let stdout = capture(child.stdout.take());
        let stderr = capture(child.stderr.take());
        Server {
            child,
            exited: None,
            failed_binds: 0,
            addr,
            stdout,
            stderr,
        }
    }

    /// The process id, to send it a signal.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What the server wrote to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.now()
    }

    /// What the server logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.now()
    }

    fn wait_healthy(&mut self) -> Result<(), Early> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if healthz(self.addr) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exited = Some(status);
                let log = format!("exited {status}\n{}", self.finish_output_stderr());
                return Err(if log.contains("cannot listen") {
                    Early::PortTaken
                } else {
                    Early::Failed(log)
                });
            }
            if Instant::now() > deadline {
                return Err(Early::Failed(format!(
                    "/healthz silent after {START_TIMEOUT:?}\n{}",
                    self.stderr()
                )));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits for the first-start admin key on stdout.
    pub fn bootstrap_key(&self) -> String {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(key) = find_api_key(&self.stdout()) {
                return key;
            }
            assert!(
                Instant::now() < deadline,
                "no admin key on stdout after {START_TIMEOUT:?} ({} earlier start(s) could not bind \
                 their port; the server keeps a key created then without showing it):\n{}",
                self.failed_binds,
                self.stdout()
            );
            std::thread::sleep(POLL);
        }
    }

    /// SIGTERM, then waits for the exit; returns the exit status and stdout.
    pub fn stop(&mut self) -> (ExitStatus, String) {
        let status = self.terminate().unwrap_or_else(|| {
            self.kill_now();
            panic!(
                "ichido serve did not stop within {STOP_TIMEOUT:?} of SIGTERM\n{}",
                self.stderr()
            );
        });
        (status, self.finish_output())
    }

    /// SIGKILL: the process dies wherever it is, mid-request or mid-commit.
    pub fn crash(&mut self) {
        self.kill_now();
        self.finish_output();
    }

    fn terminate(&mut self) -> Option<ExitStatus> {
        if let Some(s) = self.exited {
            return Some(s);
        }
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        assert!(
            sent.is_ok_and(|s| s.success()),
            "kill -TERM {} failed",
            self.child.id()
        );
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                self.exited = Some(s);
                return Some(s);
            }
            std::thread::sleep(POLL);
        }
        None
    }

    fn kill_now(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            self.exited = self.child.wait().ok();
        }
    }

    fn finish_output_stderr(&mut self) -> String {
        self.finish_output();
        self.stderr()
    }

    fn finish_output(&mut self) -> String {
        if let Some(r) = self.stdout.reader.take() {
            let _ = r.join();
        }
        if let Some(r) = self.stderr.reader.take() {
            let _ = r.join();
        }
        self.stdout()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill_now();
        if std::thread::panicking() {
            eprintln!(
                "--- ichido serve on {} (stderr) ---\n{}",
                self.addr,
                self.stderr()
            );
        }
    }
}

/// A plain `GET /healthz` over a socket; true on a 200.
fn healthz(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(
        format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// The first `ichido_…` word in a text.
pub fn find_api_key(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| w.starts_with("ichido_") && w.len() > "ichido_".len())
        .map(str::to_owned)
}

/// The files SQLite keeps for `db` (the database, its WAL and shared memory).
pub fn sqlite_files(db: &Path) -> Vec<PathBuf> {
    let name = db
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    let mut files: Vec<PathBuf> = std::fs::read_dir(db.parent().expect("db has a directory"))
        .expect("read the data directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&name))
        })
        .collect();
    files.sort();
    files
}
