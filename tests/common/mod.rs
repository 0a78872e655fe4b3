//! Test harness: the real `switchboard` binary on port 0 with its own data directory, and
//! a real WebSocket client. Every read has a timeout, so a broken server fails, not hangs.
#![allow(dead_code)]

pub mod api;
pub mod claude;
pub mod code;
pub mod import;
pub mod machines;

use futures::{SinkExt, StreamExt};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard::protocol::{
    AgentId, ClientFrame, ClientId, ClientMsgId, NewSession, RequestId, Seq, ServerFrame,
    SessionEvent, SessionId,
};
use switchboard::server::config::DATABASE_URL_ENV;
use switchboard::server::db::Db;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// A 1x1 PNG, base64, for messages with an image.
pub const ONE_PIXEL_PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/// How long any single expectation may take.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// `SWITCHBOARD_TEST_ENGINE=postgres`: every server of the suite stores in a database of
/// the PostgreSQL test cluster (`SWITCHBOARD_TEST_POSTGRES`, one database per data dir),
/// so the same integration tests run on both engines (scripts/test.sh runs them twice).
pub fn on_postgres() -> bool {
    std::env::var("SWITCHBOARD_TEST_ENGINE").as_deref() == Ok("postgres")
}

/// The PostgreSQL URL the server on `data_dir` stores at, when the suite runs on
/// PostgreSQL.
pub fn postgres_url(data_dir: &Path) -> Option<String> {
    if !on_postgres() {
        return None;
    }
    let url =
        switchboard::server::db::testing::postgres_url_blocking(&data_dir.display().to_string());
    Some(url.expect("SWITCHBOARD_TEST_ENGINE=postgres needs SWITCHBOARD_TEST_POSTGRES"))
}

/// The database of the server on `data_dir` (its SQLite file, or its PostgreSQL database
/// when the suite runs on PostgreSQL), to seed it before a start or read it after a stop.
pub async fn open_db(data_dir: &Path) -> Db {
    switchboard::server::db::testing::open_for(data_dir, on_postgres()).await
}

/// A running server process; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub data_dir: PathBuf,
    /// The newest lines of its log, printed when the test fails (see `Drop`).
    log: Arc<Mutex<std::collections::VecDeque<String>>>,
}

/// How many of a server's newest log lines a failing test prints.
const LOG_LINES_KEPT: usize = 300;

impl Server {
    /// Starts the server on 127.0.0.1:0 with `data_dir` and waits for its listening line.
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with_config(data_dir, "")
    }

    /// Like `start`, with `config` (TOML) as its Leptos.toml.
    pub fn start_with_config(data_dir: &Path, config: &str) -> Server {
        Self::start_with_env(data_dir, config, &[])
    }

    /// Like `start_with_config`, with environment changes (`None` removes a variable).
    pub fn start_with_env(data_dir: &Path, config: &str, env: &[(&str, Option<&str>)]) -> Server {
        Self::start_full(data_dir, config, env, &["--addr", "127.0.0.1:0"])
    }

    /// Like `start_with_env`, with the `serve` flags given (which must set `--addr`).
    pub fn start_full(
        data_dir: &Path,
        config: &str,
        env: &[(&str, Option<&str>)],
        flags: &[&str],
    ) -> Server {
        // The server refuses a data dir others can read; a test's own folders are made with
        // the usual umask.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))
            .expect("data dir made private");
        let config_file = data_dir.join("test-config.toml");
        std::fs::write(&config_file, config).expect("config written");
        // SWITCHBOARD_TEST_BIN runs a suite against another build (an earlier commit's, to
        // show that a new test fails there).
        let binary = std::env::var_os("SWITCHBOARD_TEST_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_switchboard").into());
        let mut command = Command::new(binary);
        if let Some(url) = postgres_url(data_dir) {
            command.env(DATABASE_URL_ENV, url);
        }
        command
            .env("SWITCHBOARD_TOKEN", TEST_TOKEN)
            .env("SWITCHBOARD_DEFAULT_CWD", data_dir)
            .env("SWITCHBOARD_DEMO_DELAY_MS", "20")
            .env(
                "RUST_LOG",
                std::env::var("SWITCHBOARD_TEST_RUST_LOG").unwrap_or_else(|_| "info".into()),
            );
        // The test's own settings win over the defaults above.
        for (key, value) in env {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        let mut child = command
            .arg("serve")
            .args(flags)
            .arg("--config")
            .arg(&config_file)
            .arg("--data-dir")
            .arg(data_dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the switchboard binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("server printed its address")
                .expect("readable stdout");
            if let Some(addr) = line.strip_prefix("Switchboard listening on http://") {
                // A server on every interface is reached through loopback.
                break addr.trim().replace("0.0.0.0:", "127.0.0.1:");
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe, keeping its newest
        // lines for a failing test. SWITCHBOARD_TEST_RUST_LOG set: the whole log (its stdout)
        // shown with the test's.
        let show = std::env::var_os("SWITCHBOARD_TEST_RUST_LOG").is_some();
        let log = Arc::new(Mutex::new(std::collections::VecDeque::new()));
        let kept = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if show {
                    eprintln!("server: {line}");
                }
                let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                if kept.len() == LOG_LINES_KEPT {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
        });
        Server {
            child,
            addr,
            data_dir: data_dir.to_path_buf(),
            log,
        }
    }

    /// Stops the server with SIGTERM (graceful) and waits.
    pub fn stop(mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }

    /// While a test fails (unwinds), prints this server's newest log lines: a timeout
    /// alone does not say what the server was doing.
    fn print_log_if_failing(&self) {
        if !std::thread::panicking() {
            return;
        }
        let kept = self.log.lock().unwrap_or_else(|e| e.into_inner());
        eprintln!(
            "--- the last {} lines of the server on {} ---",
            kept.len(),
            self.addr
        );
        for line in kept.iter() {
            eprintln!("server: {line}");
        }
    }

    /// Kills the server with SIGKILL, as a crash would.
    /// Stops the server and kills its runner (and so every agent), waiting until the
    /// runner is gone: what a machine restart does.
    pub fn stop_with_runner(self) {
        let runner = self.runner_pid();
        self.stop();
        if let Some(pid) = runner {
            let pid = nix::unistd::Pid::from_raw(pid);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let deadline = std::time::Instant::now() + TIMEOUT;
            while std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|stat| !stat.contains(") Z "))
            {
                assert!(std::time::Instant::now() < deadline, "runner {pid} is gone");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The agent processes: children of this data dir's runner, or of the server when
    /// agents run embedded.
    pub fn agent_pids(&self) -> Vec<i32> {
        match self.runner_pid() {
            Some(runner) => children_of(runner),
            None => children_of(self.child.id() as i32),
        }
    }

    /// The runner serving this data dir, if one runs.
    pub fn runner_pid(&self) -> Option<i32> {
        runner_pid(&self.data_dir)
    }
}

/// The process running `switchboard runner --data-dir <data_dir>`, if any (zombies aside).
pub fn runner_pid(data_dir: &Path) -> Option<i32> {
    runner_pids(data_dir).into_iter().next()
}

/// Every process running `switchboard runner --data-dir <data_dir>` (one, or two while an
/// old one drains), zombies aside.
pub fn runner_pids(data_dir: &Path) -> Vec<i32> {
    let wanted = format!("runner\0--data-dir\0{}\0", data_dir.display());
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_string_lossy().parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline);
            let alive = std::fs::read_to_string(entry.path().join("stat"))
                .is_ok_and(|stat| !stat.contains(") Z "));
            (alive && cmdline.contains(&wanted)).then_some(pid)
        })
        .collect()
}

/// The processes whose parent is `parent`.
pub fn children_of(parent: i32) -> Vec<i32> {
    {
        let me = parent.to_string();
        let mut pids = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // Fields after the parenthesised name: state, ppid, ...
            let Some(rest) = stat.rsplit_once(") ").map(|(_, rest)| rest) else {
                continue;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            if fields.get(1) == Some(&me.as_str()) {
                if let Ok(pid) = entry.file_name().to_string_lossy().parse() {
                    pids.push(pid);
                }
            }
        }
        pids
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.print_log_if_failing();
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The access token every test server runs with.
pub const TEST_TOKEN: &str = "test-token-0123456789abcdef";

/// A logged-in WebSocket upgrade request to `addr` (a server or a proxy in front of one).
pub fn ws_request(addr: &str) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/ws")
        .into_client_request()
        .expect("valid ws url");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {TEST_TOKEN}")
            .parse()
            .expect("header value"),
    );
    request
}

/// A WebSocket client speaking the app's protocol.
pub struct Client {
    socket: Socket,
}

impl Client {
    /// Connects and completes Hello/Connected.
    pub async fn connect(server: &Server) -> (Client, Vec<switchboard::protocol::Session>) {
        Self::connect_to(&server.addr).await
    }

    /// Like `connect`, by address.
    pub async fn connect_to(addr: &str) -> (Client, Vec<switchboard::protocol::Session>) {
        let (socket, _) = tokio_tungstenite::connect_async(ws_request(addr))
            .await
            .expect("websocket connects");
        let mut client = Client { socket };
        client
            .send(&ClientFrame::Hello {
                client_id: ClientId(Uuid::new_v4()),
                resume: vec![],
            })
            .await;
        let sessions = match client.recv().await {
            ServerFrame::Connected { sessions, .. } => sessions,
            other => panic!("expected Connected, got {other:?}"),
        };
        (client, sessions)
    }

    /// A client on a socket that has not said Hello yet.
    pub fn from_socket(socket: Socket) -> Client {
        Client { socket }
    }

    pub async fn send(&mut self, frame: &ClientFrame) {
        let text = serde_json::to_string(frame).expect("frame serializes");
        self.send_text(text).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.socket
            .send(Message::Text(text.into()))
            .await
            .expect("socket open");
    }

    /// Sends `text` while reading, for a frame the server refuses from its header: the
    /// server answers and closes before it has read the frame, so a client that only wrote
    /// could block. Returns the frames read until the server's Close, and that Close's code.
    pub async fn send_refused(&mut self, text: String) -> (Vec<ServerFrame>, Option<u16>) {
        let (mut writer, mut reader) = (&mut self.socket).split();
        let write = async move {
            // The server may hang up before the whole frame is written; that is expected.
            let _ = writer.send(Message::Text(text.into())).await;
        };
        let read = async move {
            let mut frames = Vec::new();
            loop {
                let message = tokio::time::timeout(TIMEOUT, reader.next())
                    .await
                    .expect("the server answers within the timeout");
                match message {
                    Some(Ok(Message::Text(text))) => frames
                        .push(serde_json::from_str(text.as_str()).expect("server frames parse")),
                    Some(Ok(Message::Close(close))) => {
                        return (frames, close.map(|c| u16::from(c.code)));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => panic!("socket error before the server's Close: {e}"),
                    None => panic!("socket ended without a Close"),
                }
            }
        };
        futures::join!(write, read).1
    }

    /// The next protocol frame (skipping pings).
    pub async fn recv(&mut self) -> ServerFrame {
        self.recv_within(TIMEOUT).await
    }

    /// The next protocol frame, or `None` when none came within `timeout`.
    pub async fn try_recv_within(&mut self, timeout: Duration) -> Option<ServerFrame> {
        loop {
            let message = tokio::time::timeout(timeout, self.socket.next())
                .await
                .ok()?;
            let message = message
                .expect("socket still open")
                .expect("no socket error");
            if let Message::Text(text) = message {
                return Some(serde_json::from_str(text.as_str()).expect("server frames parse"));
            }
        }
    }

    /// The next protocol frame, waiting at most `timeout`.
    pub async fn recv_within(&mut self, timeout: Duration) -> ServerFrame {
        loop {
            let message = tokio::time::timeout(timeout, self.socket.next())
                .await
                .expect("a frame within the timeout")
                .expect("socket still open")
                .expect("no socket error");
            if let Message::Text(text) = message {
                if std::env::var_os("TEST_PRINT_FRAMES").is_some() {
                    eprintln!("frame: {}", text.as_str());
                }
                return serde_json::from_str(text.as_str()).expect("server frames parse");
            }
        }
    }

    /// Reads frames until `done` returns true for one; returns all frames read.
    pub async fn until(&mut self, mut done: impl FnMut(&ServerFrame) -> bool) -> Vec<ServerFrame> {
        let mut frames = Vec::new();
        loop {
            let frame = self.recv().await;
            let finished = done(&frame);
            frames.push(frame);
            if finished {
                return frames;
            }
        }
    }

    /// Sends a message, creating the session if `create`.
    pub async fn say(&mut self, session: SessionId, text: &str, create: bool) {
        let create = create.then_some(NewSession::defaults(AgentId::demo()));
        self.say_with(session, text, create).await;
    }

    /// Sends a message, creating the session with `create` when given.
    pub async fn say_with(&mut self, session: SessionId, text: &str, create: Option<NewSession>) {
        self.send(&ClientFrame::Send {
            session,
            client_msg_id: ClientMsgId(Uuid::new_v4()),
            text: text.into(),
            attachments: vec![],
            create,
            tag: None,
        })
        .await;
    }

    /// Sends a message with one 1x1 PNG named `image_name`, creating the session with
    /// `create`.
    pub async fn say_with_image(
        &mut self,
        session: SessionId,
        text: &str,
        image_name: &str,
        create: NewSession,
    ) {
        self.send(&ClientFrame::Send {
            session,
            client_msg_id: ClientMsgId(Uuid::new_v4()),
            text: text.into(),
            attachments: vec![switchboard::protocol::Attachment {
                name: image_name.into(),
                mime_type: "image/png".into(),
                data_base64: ONE_PIXEL_PNG.into(),
            }],
            create: Some(create),
            tag: None,
        })
        .await;
    }

    /// Answers a permission request with `option` (`allow`, `deny`...).
    pub async fn answer(&mut self, session: SessionId, request_id: RequestId, option: &str) {
        self.send(&ClientFrame::AnswerPermission {
            session,
            request_id,
            option_id: option.into(),
            tag: None,
        })
        .await;
    }

    /// Reads until the first piece of assistant text arrives.
    pub async fn first_delta(&mut self) {
        self.until(|f| {
            matches!(
                f,
                ServerFrame::Event {
                    event: SessionEvent::AssistantDelta { .. },
                    ..
                }
            )
        })
        .await;
    }

    /// Subscribes to `session` from after `since` (`Seq(0)`: its whole log).
    pub async fn subscribe(&mut self, session: SessionId, since: Seq) {
        self.send(&ClientFrame::Subscribe {
            session,
            since,
            tail_turns: None,
            tag: None,
        })
        .await;
    }

    /// Reads until an event of `session` that `pick` takes; returns what it took.
    pub async fn next_event<T>(
        &mut self,
        session: SessionId,
        pick: impl Fn(&SessionEvent) -> Option<T>,
    ) -> T {
        loop {
            if let ServerFrame::Event {
                session: s, event, ..
            } = self.recv().await
            {
                if let Some(taken) = pick(&event).filter(|_| s == session) {
                    return taken;
                }
            }
        }
    }

    /// Reads until the session's turn completes; returns that session's events.
    pub async fn turn(&mut self, session: SessionId) -> Vec<(Seq, SessionEvent)> {
        let frames = self
            .until(|f| matches!(f, ServerFrame::Event { session: s, event: SessionEvent::TurnCompleted { .. }, .. } if *s == session))
            .await;
        events_of(&frames, session)
    }
}

/// The error `frame` says `session` is now in (its state patch, or the stored
/// `StateChanged`), if it says so.
pub fn error_message(frame: &ServerFrame, session: SessionId) -> Option<String> {
    use switchboard::protocol::SessionState;
    let (s, state) = match frame {
        ServerFrame::SessionUpdated { session, patch } => (session, patch.state.as_ref()?),
        ServerFrame::Event {
            session,
            event: SessionEvent::StateChanged { state },
            ..
        } => (session, state),
        _ => return None,
    };
    match state {
        SessionState::Error { message } if *s == session => Some(message.clone()),
        _ => None,
    }
}

/// Whether `frame` says `session` is now in an error state.
pub fn errored(frame: &ServerFrame, session: SessionId) -> bool {
    error_message(frame, session).is_some()
}

/// The events of one session among frames.
pub fn events_of(frames: &[ServerFrame], session: SessionId) -> Vec<(Seq, SessionEvent)> {
    frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Event {
                session: s,
                seq,
                event,
            } if *s == session => Some((*seq, event.clone())),
            _ => None,
        })
        .collect()
}

/// The assistant text among events.
pub fn assistant_text(events: &[(Seq, SessionEvent)]) -> String {
    events
        .iter()
        .filter_map(|(_, e)| match e {
            SessionEvent::AssistantDelta { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

pub fn new_session() -> SessionId {
    SessionId(Uuid::new_v4())
}

/// Seeds a data dir with one long session through the binary's own subcommand (before a
/// server starts on it); returns the session's id.
pub fn seed_transcript(data_dir: &Path, entries: usize) -> SessionId {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    if let Some(url) = postgres_url(data_dir) {
        command.env(DATABASE_URL_ENV, url);
    }
    let out = command
        .args([
            "seed-transcript",
            "--entries",
            &entries.to_string(),
            "--data-dir",
        ])
        .arg(data_dir)
        .output()
        .expect("seed-transcript runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    SessionId(Uuid::parse_str(&id).expect("seed prints the session id"))
}

/// The text the agent streamed (its deltas), in order.
pub fn streamed(events: &[(Seq, SessionEvent)]) -> String {
    events
        .iter()
        .filter_map(|(_, event)| match event {
            SessionEvent::AssistantDelta { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// The session's stored log in the PostgreSQL database at `url`.
pub async fn stored_log(url: &str, session: SessionId) -> Vec<(Seq, SessionEvent)> {
    let db = Db::connect_postgres(url).await.expect("connects");
    db.events_since(session, Seq(0))
        .await
        .expect("reads")
        .into_iter()
        .map(|logged| (logged.seq, logged.event))
        .collect()
}

/// Sends one raw HTTP/1.1 request and returns the status code and the whole answer.
pub async fn http(addr: &str, request: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request written");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("answer read");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

/// A GET with the given extra header lines, closing the connection after the answer.
pub fn get(path: &str, host: &str, headers: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\n{headers}Connection: close\r\n\r\n")
}
