//! Local stand-ins for the outside world: an SMTP sink speaking just enough
//! SMTP (EHLO, MAIL, RCPT, DATA, QUIT; no TLS), an HTTP SMS gateway and a
//! webhook receiver. Each listens on 127.0.0.1:0 and records what it got.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// One message as the sink received it.
#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Mail {
    /// The first run of exactly `n` digits after `marker`.
    pub fn code_after(&self, marker: &str, n: usize) -> Option<String> {
        let at = self.data.find(marker)? + marker.len();
        let digits: String = self.data[at..]
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect();
        (digits.len() == n).then_some(digits)
    }
    /// The six-digit code from the subject `Your Ichido code: NNNNNN`.
    pub fn code(&self) -> String {
        self.code_after("code: ", 6).expect("a code in the message")
    }
}

/// Received items and a bell that rings on each.
pub struct Inbox<T> {
    items: Mutex<Vec<T>>,
    bell: Notify,
}

impl<T: Clone> Inbox<T> {
    fn new() -> Arc<Self> {
        Arc::new(Inbox {
            items: Mutex::new(Vec::new()),
            bell: Notify::new(),
        })
    }
    fn push(&self, t: T) {
        self.items.lock().unwrap().push(t);
        self.bell.notify_waiters();
    }
    pub fn all(&self) -> Vec<T> {
        self.items.lock().unwrap().clone()
    }
    pub fn len(&self) -> usize {
        self.items.lock().unwrap().len()
    }
    /// Waits (at most 10 s) until item `index` exists.
    pub async fn nth(&self, index: usize) -> T {
        let wait = async {
            loop {
                let notified = self.bell.notified();
                if let Some(t) = self.items.lock().unwrap().get(index).cloned() {
                    return t;
                }
                notified.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .expect("the message arrives")
    }
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    pub inbox: Arc<Inbox<Mail>>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let inbox = Inbox::new();
        let sink = inbox.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let sink = sink.clone();
                tokio::spawn(async move {
                    let _ = converse(conn, sink).await;
                });
            }
        });
        SmtpSink { addr, inbox, task }
    }

    /// Closes the listener: later connections are refused.
    pub async fn stop(&self) {
        self.task.abort();
        // The listener is dropped with the task; wait for that, not for time.
        while !self.task.is_finished() {
            tokio::task::yield_now().await;
        }
    }
}

async fn converse(conn: tokio::net::TcpStream, inbox: Arc<Inbox<Mail>>) -> std::io::Result<()> {
    let (read, mut write) = conn.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink ESMTP ready\r\n").await?;
    let mut mail = Mail {
        from: String::new(),
        to: Vec::new(),
        data: String::new(),
    };
    while let Some(line) = lines.next_line().await? {
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink greets you\r\n250 8BITMIME\r\n",
            "HELO" => b"250 sink\r\n",
            "MAIL" => {
                mail.from = line[10..].trim().to_owned();
                b"250 OK\r\n"
            }
            "RCPT" => {
                mail.to.push(line[8..].trim().to_owned());
                b"250 OK\r\n"
            }
            "DATA" => {
                write.write_all(b"354 end with .\r\n").await?;
                let mut data = String::new();
                while let Some(l) = lines.next_line().await? {
                    if l == "." {
                        break;
                    }
                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                    data.push('\n');
                }
                mail.data = data;
                inbox.push(mail.clone());
                mail.to.clear();
                b"250 queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"250 OK\r\n",
        };
        write.write_all(reply).await?;
    }
    Ok(())
}

/// A request as an HTTP receiver got it.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
}

#[derive(Clone)]
struct HttpState {
    inbox: Arc<Inbox<Received>>,
    failing: Arc<AtomicBool>,
}

/// An HTTP endpoint (SMS gateway or webhook receiver) on `/`.
pub struct HttpSink {
    pub url: String,
    pub inbox: Arc<Inbox<Received>>,
    failing: Arc<AtomicBool>,
}

impl HttpSink {
    pub async fn start() -> HttpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = HttpState {
            inbox: Inbox::new(),
            failing: Arc::new(AtomicBool::new(false)),
        };
        let app = axum::Router::new()
            .route("/", axum::routing::post(receive))
            .with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        HttpSink {
            url: format!("http://{addr}/"),
            inbox: state.inbox,
            failing: state.failing,
        }
    }
    /// Answer 503 from now on.
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

async fn receive(State(s): State<HttpState>, headers: HeaderMap, body: String) -> StatusCode {
    if s.failing.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    s.inbox.push(Received { headers, body });
    StatusCode::OK
}
