//! The benchmarks' harness: the release server binary on port 0, a WebSocket client,
//! stamps, percentiles, RSS and CPU readings. (Examples cannot use the integration tests'
//! `CARGO_BIN_EXE_*` harness.)

use futures::{SinkExt, StreamExt};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use switchboard::protocol::{
    AgentId, ClientFrame, ClientId, Seq, ServerFrame, Session, SessionEvent, SessionId,
    SessionState,
};
use switchboard::server::db::Db;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn server_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("SWITCHBOARD_BIN") {
        return bin.into();
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    target.join("release/switchboard")
}

/// `BENCH_ENGINE=postgres`: each server stores in a database of its own on the cluster
/// `SWITCHBOARD_TEST_POSTGRES` names (`scripts/test-postgres.sh start`), one per data dir.
pub fn on_postgres() -> bool {
    std::env::var("BENCH_ENGINE").as_deref() == Ok("postgres")
}

fn bench_postgres_url(data_dir: &Path) -> Option<String> {
    if !on_postgres() {
        return None;
    }
    let url =
        switchboard::server::db::testing::postgres_url_blocking(&data_dir.display().to_string());
    Some(url.expect("BENCH_ENGINE=postgres needs SWITCHBOARD_TEST_POSTGRES"))
}

/// The database of the server on `data_dir` (see [`on_postgres`]).
pub async fn bench_db(data_dir: &Path) -> switchboard::server::db::Db {
    switchboard::server::db::testing::open_for(data_dir, on_postgres()).await
}

pub fn start(data_dir: &Path) -> Server {
    start_configured(data_dir, None)
}

/// The server with `config` as its Leptos.toml (the built-in defaults when `None`).
pub fn start_configured(data_dir: &Path, config: Option<&Path>) -> Server {
    start_on(data_dir, config, bench_postgres_url(data_dir).as_deref())
}

/// Like [`start_configured`], storing at `database` (a PostgreSQL URL) when given, else in
/// the data dir's SQLite file: several servers given one URL are nodes of one cluster.
pub fn start_on(data_dir: &Path, config: Option<&Path>, database: Option<&str>) -> Server {
    // The server refuses a data dir others can read; temp dirs are made with the umask.
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(data_dir).expect("data dir");
    std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))
        .expect("data dir made private");
    let mut command = Command::new(server_binary());
    command
        // The benchmark measures the relay, not the login; loopback only.
        .args(["serve", "--no-auth", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir);
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    if let Some(url) = database {
        command.env(switchboard::server::config::DATABASE_URL_ENV, url);
    }
    let mut child = command
        .env("SWITCHBOARD_DEMO_DELAY_MS", "0")
        // Demo agents write files (/permission) in their cwd: keep them out of the repo.
        .env("SWITCHBOARD_DEFAULT_CWD", data_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the release server binary exists (scripts/build-release.sh)");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("server printed its address")
            .expect("stdout");
        if let Some(addr) = line.strip_prefix("Switchboard listening on http://") {
            break addr.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server { child, addr }
}

pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

pub async fn connect(server: &Server) -> Socket {
    connect_addr(&server.addr).await
}

/// Like [`connect`], by address.
pub async fn connect_addr(addr: &str) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("connects");
    send(
        &mut socket,
        &ClientFrame::Hello {
            client_id: ClientId(Uuid::new_v4()),
            resume: vec![],
        },
    )
    .await;
    loop {
        if let ServerFrame::Connected { .. } = recv(&mut socket).await {
            return socket;
        }
    }
}

pub async fn send(socket: &mut Socket, frame: &ClientFrame) {
    let text = serde_json::to_string(frame).expect("serializes");
    socket
        .send(Message::Text(text.into()))
        .await
        .expect("sends");
}

pub async fn recv(socket: &mut Socket) -> ServerFrame {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("no error");
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).expect("parses");
        }
    }
}

/// A stored session with `events` assistant deltas in its log.
pub async fn seed(db: &Db, events: u64) -> SessionId {
    let id = SessionId(Uuid::new_v4());
    let mut session = Session::empty(
        id,
        AgentId::demo(),
        "/tmp".into(),
        "default".into(),
        SessionState::Idle,
    );
    session.title = "seeded".into();
    session.created_at_ms = 1;
    session.last_activity_ms = 1;
    db.save_session(&session).await.expect("session saved");
    for n in 1..=events {
        let event = SessionEvent::AssistantDelta {
            message_id: "m".into(),
            text: format!("chunk {n} of a seeded log "),
        };
        db.append_event(id, Seq(n), 1, &event)
            .await
            .expect("event saved");
    }
    id
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn now_micros() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}

/// Latencies of every `@<micros>` stamp in `text`, as received now.
pub fn stamp_latencies(text: &str, into: &mut Vec<Duration>) {
    let now = now_micros();
    for stamp in text
        .split_whitespace()
        .filter_map(|w| w.strip_prefix('@')?.parse::<u128>().ok())
    {
        into.push(Duration::from_micros(now.saturating_sub(stamp) as u64));
    }
}

/// A bare axum WebSocket that echoes (`/echo`) or pushes `count` stamped frames 5 ms apart: the floor for the
/// relay. Runs on its own thread and runtime, like the server runs in its own process.
pub fn start_bare_push_server(count: u64) -> String {
    use axum::extract::ws::{Message as AxumMessage, WebSocketUpgrade};
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let app = axum::Router::new()
                .route(
                    "/echo",
                    axum::routing::get(|ws: WebSocketUpgrade| async move {
                        ws.on_upgrade(|mut socket| async move {
                            while let Some(Ok(message)) = socket.recv().await {
                                if socket.send(message).await.is_err() {
                                    return;
                                }
                            }
                        })
                    }),
                )
                .route(
                "/push",
                axum::routing::get(move |ws: WebSocketUpgrade| async move {
                    ws.on_upgrade(move |mut socket| async move {
                        for _ in 0..count {
                            let frame = format!(
                                r#"{{"type":"event","session":"00000000-0000-0000-0000-000000000000","seq":1,"event":{{"type":"assistant_delta","message_id":"m","text":"@{} "}}}}"#,
                                now_micros()
                            );
                            if socket.send(AxumMessage::Text(frame.into())).await.is_err() {
                                return;
                            }
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    })
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
            tx.send(listener.local_addr().expect("addr").to_string()).expect("reported");
            let listener = axum::serve::ListenerExt::tap_io(listener, |s: &mut tokio::net::TcpStream| {
                let _ = s.set_nodelay(true);
            });
            let _ = axum::serve(listener, app).await;
        });
    });
    rx.recv().expect("bare server started")
}

pub fn report(name: &str, latencies: &mut [Duration]) -> Duration {
    latencies.sort();
    let p99 = percentile(latencies, 0.99);
    println!(
        "{name}: {} frames, p50 {:.3} ms, p99 {:.3} ms",
        latencies.len(),
        percentile(latencies, 0.5).as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    p99
}

/// CPU time (user + system) of a process so far, in seconds (Linux clock ticks of 1/100 s).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    // After the name: state is field 3, utime 14 and stime 15 (1-based), so 11 and 12 here.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Round trips through the bare `/echo` socket: `count` stamped event frames, 5 ms apart,
/// each parsed on return like the relay's frames.
pub async fn echo_round_trips(bare: &str, count: u64) -> Vec<Duration> {
    use futures::{SinkExt, StreamExt};
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{bare}/echo"))
        .await
        .expect("connects");
    let mut latencies = Vec::new();
    for _ in 0..count {
        let frame = format!(
            r#"{{"type":"event","session":"00000000-0000-0000-0000-000000000000","seq":1,"event":{{"type":"assistant_delta","message_id":"m","text":"@{} "}}}}"#,
            now_micros()
        );
        socket
            .send(Message::Text(frame.into()))
            .await
            .expect("sent");
        if let Some(Ok(Message::Text(text))) = socket.next().await {
            if let Ok(ServerFrame::Event {
                event: SessionEvent::AssistantDelta { text, .. },
                ..
            }) = serde_json::from_str(text.as_str())
            {
                stamp_latencies(&text, &mut latencies);
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    latencies
}

/// Relay latency of `server`: a demo session says `/stamp count` (a stamped line every 5 ms)
/// and each frame's delay from its stamp is measured, until the turn ends.
pub async fn stamp_relay(server: &Server, count: u64) -> Vec<Duration> {
    use switchboard::protocol::{AgentId, ClientFrame, ClientMsgId, NewSession, ServerFrame};
    use switchboard::protocol::{SessionEvent, SessionId};
    let mut socket = connect(server).await;
    let session = SessionId(uuid::Uuid::new_v4());
    send(
        &mut socket,
        &ClientFrame::Send {
            session,
            client_msg_id: ClientMsgId(uuid::Uuid::new_v4()),
            text: format!("/stamp {count}"),
            attachments: vec![],
            create: Some(NewSession::defaults(AgentId::demo())),
            tag: None,
        },
    )
    .await;
    let mut relay = Vec::new();
    loop {
        match recv(&mut socket).await {
            ServerFrame::Event {
                event: SessionEvent::AssistantDelta { text, .. },
                ..
            } => stamp_latencies(&text, &mut relay),
            ServerFrame::Event {
                event: SessionEvent::TurnCompleted { .. },
                ..
            } => return relay,
            _ => {}
        }
    }
}

/// The floor of relay latency: a bare axum socket pushing `count` stamped frames.
pub async fn push_floor(count: u64) -> Vec<Duration> {
    push_floor_at(&start_bare_push_server(count)).await
}

/// The floor measured on an already started bare push server at `bare`.
pub async fn push_floor_at(bare: &str) -> Vec<Duration> {
    use futures::StreamExt;
    use switchboard::protocol::{ServerFrame, SessionEvent};
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{bare}/push"))
        .await
        .expect("connects");
    let mut floor = Vec::new();
    while let Some(Ok(message)) = socket.next().await {
        if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
            // Parsed like the relay's frames, so both sides pay the same decoding.
            if let Ok(ServerFrame::Event {
                event: SessionEvent::AssistantDelta { text, .. },
                ..
            }) = serde_json::from_str(text.as_str())
            {
                stamp_latencies(&text, &mut floor);
            }
        }
    }
    floor
}

/// Direct children of `parent`.
pub fn child_pids(parent: u32) -> Vec<u32> {
    let parent = parent.to_string();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_string_lossy().parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let rest = stat.rsplit_once(") ")?.1;
            (rest.split_whitespace().nth(1) == Some(parent.as_str())).then_some(pid)
        })
        .collect()
}

/// The runner the server started (agents live there unless they run embedded).
pub fn runner_of(server: &Server) -> Option<u32> {
    child_pids(server.child.id()).into_iter().find(|pid| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|cmd| String::from_utf8_lossy(&cmd).contains("runner\0"))
    })
}

/// The server's agent processes: its runner's children, or its own when embedded.
pub fn agent_pids(server: &Server) -> Vec<u32> {
    child_pids(runner_of(server).unwrap_or(server.child.id()))
}
