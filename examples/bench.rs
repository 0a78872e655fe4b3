//! Benchmarks that print figures (not timed tests): relay latency (agent line -> client
//! frame) next to a bare axum WebSocket, replay catch-up, idle memory, and warm turn round
//! trips, against the release server binary with the demo agent.
//!
//!   cargo leptos build --release
//!   cargo run --release --features ssr --example bench
//!
//!   cargo run --release --features ssr --example bench -- fanout   (100 sessions x 50 events/s,
//!                                                                   10 clients, 60 s)
//!
//! SWITCHBOARD_BIN overrides the server binary (default: $CARGO_TARGET_DIR/release/switchboard).

use futures::{SinkExt, StreamExt};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use switchboard::protocol::{
    AgentKind, ClientFrame, ClientId, ClientMsgId, NewSession, Seq, ServerFrame, Session,
    SessionEvent, SessionId, SessionState,
};
use switchboard::server::db::Db;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("SWITCHBOARD_BIN") {
        return bin.into();
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    target.join("release/switchboard")
}

fn start(data_dir: &Path) -> Server {
    let mut child = Command::new(server_binary())
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("SWITCHBOARD_DEMO_DELAY_MS", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the release server binary exists (cargo leptos build --release)");
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

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

async fn connect(server: &Server) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr))
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

async fn send(socket: &mut Socket, frame: &ClientFrame) {
    let text = serde_json::to_string(frame).expect("serializes");
    socket
        .send(Message::Text(text.into()))
        .await
        .expect("sends");
}

async fn recv(socket: &mut Socket) -> ServerFrame {
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
async fn seed(db: &Db, events: u64) -> SessionId {
    let id = SessionId(Uuid::new_v4());
    let mut session = Session::empty(
        id,
        AgentKind::Demo,
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

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn now_micros() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}

/// Latencies of every `@<micros>` stamp in `text`, as received now.
fn stamp_latencies(text: &str, into: &mut Vec<Duration>) {
    let now = now_micros();
    for stamp in text
        .split_whitespace()
        .filter_map(|w| w.strip_prefix('@')?.parse::<u128>().ok())
    {
        into.push(Duration::from_micros(now.saturating_sub(stamp) as u64));
    }
}

/// A bare axum WebSocket that pushes `count` stamped frames 5 ms apart: the floor for the
/// relay. Runs on its own thread and runtime, like the server runs in its own process.
fn start_bare_push_server(count: u64) -> String {
    use axum::extract::ws::{Message as AxumMessage, WebSocketUpgrade};
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let app = axum::Router::new().route(
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

fn report(name: &str, latencies: &mut [Duration]) -> Duration {
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
fn cpu_seconds(pid: u32) -> f64 {
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

/// How many sessions a fresh connection is told about.
async fn listed_sessions(server: &Server) -> usize {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr))
        .await
        .expect("connects");
    let hello = ClientFrame::Hello {
        client_id: ClientId(Uuid::new_v4()),
        resume: vec![],
    };
    send(&mut socket, &hello).await;
    loop {
        if let ServerFrame::Connected { sessions, .. } = recv(&mut socket).await {
            return sessions.len();
        }
    }
}

/// What one fan-out client saw.
#[derive(Default)]
struct FanoutClient {
    received: u64,
    lost: u64,
    duplicated: u64,
    last: std::collections::HashMap<SessionId, Seq>,
}

async fn consume(mut socket: Socket, sessions: usize) -> FanoutClient {
    let mut seen = FanoutClient::default();
    let mut done = std::collections::HashSet::new();
    while done.len() < sessions {
        if let ServerFrame::Event {
            session,
            seq,
            event,
        } = recv(&mut socket).await
        {
            let last = seen.last.entry(session).or_default();
            if seq <= *last {
                seen.duplicated += 1;
                continue;
            }
            seen.lost += seq.0 - last.0 - 1;
            *last = seq;
            seen.received += 1;
            if matches!(event, SessionEvent::TurnCompleted { .. }) {
                done.insert(session);
            }
        }
    }
    seen
}

/// 100 sessions streaming 50 events/s each for 60 s, 10 clients subscribed to all of them.
async fn fanout() {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let sessions_n = env("FANOUT_SESSIONS", 100) as usize;
    let clients_n = env("FANOUT_CLIENTS", 10) as usize;
    let seconds = env("FANOUT_SECONDS", 60);
    const EVERY_MS: u64 = 20;
    let per_session = seconds * 1000 / EVERY_MS;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path());
    let pid = server.child.id();
    let rss_start = rss_kib(pid);
    let sessions: Vec<SessionId> = (0..sessions_n).map(|_| SessionId(Uuid::new_v4())).collect();
    let mut creator = connect(&server).await;
    let cpu_start = cpu_seconds(pid);
    let started = Instant::now();
    for id in &sessions {
        let create = NewSession::defaults(AgentKind::Demo);
        let text = format!("/stamp {per_session} {EVERY_MS}");
        send(
            &mut creator,
            &ClientFrame::Send {
                session: *id,
                client_msg_id: ClientMsgId(Uuid::new_v4()),
                text,
                attachments: vec![],
                create: Some(create),
            },
        )
        .await;
    }
    let mut clients = vec![tokio::spawn(consume(creator, sessions_n))];
    // Subscribing on other sockets only works once every session exists.
    while listed_sessions(&server).await < sessions_n {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 1..clients_n {
        let mut socket = connect(&server).await;
        for id in &sessions {
            send(
                &mut socket,
                &ClientFrame::Subscribe {
                    session: *id,
                    since: Seq(0),
                },
            )
            .await;
        }
        clients.push(tokio::spawn(consume(socket, sessions_n)));
    }
    let mut rss_peak = rss_start;
    let mut results = Vec::new();
    for client in clients {
        while !client.is_finished() {
            rss_peak = rss_peak.max(rss_kib(pid));
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        results.push(client.await.expect("client task"));
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu_start;
    let rss_end = rss_kib(pid);
    let db = Db::open(dir.path()).await.expect("db");
    let mut stored = 0u64;
    let mut mismatched = 0;
    for id in &sessions {
        let log = db.events_since(*id, Seq(0)).await.expect("log").len() as u64;
        stored += log;
        mismatched += results
            .iter()
            .filter(|r| r.last.get(id).map_or(0, |s| s.0) != log)
            .count();
    }
    let received: u64 = results.iter().map(|r| r.received).sum();
    let lost: u64 = results.iter().map(|r| r.lost).sum();
    let duplicated: u64 = results.iter().map(|r| r.duplicated).sum();
    println!(
        "fan-out: {sessions_n} sessions x {} events/s x {seconds} s, {clients_n} clients subscribed to all: \
         {stored} events stored, {received} frames delivered, lost {lost}, duplicated {duplicated}, \
         clients behind the log at the end {mismatched}",
        1000 / EVERY_MS
    );
    println!(
        "fan-out: wall {wall:.1} s, server CPU {cpu:.1} s = {:.2} cores, RSS start {rss_start} KiB, peak {rss_peak} KiB, end {rss_end} KiB",
        cpu / wall
    );
}

#[tokio::main]
async fn main() {
    if std::env::args().nth(1).as_deref() == Some("fanout") {
        return fanout().await;
    }
    println!("# Switchboard benchmarks ({})", server_binary().display());

    // Relay latency: the demo agent writes a stamped line every 5 ms; the client reads the
    // stamp from each frame. The floor: a bare axum socket pushing the same frames.
    const STAMPS: u64 = 1_000;
    let bare = start_bare_push_server(STAMPS);
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{bare}/push"))
        .await
        .expect("connects");
    let mut floor = Vec::new();
    while let Some(Ok(message)) = socket.next().await {
        if let Message::Text(text) = message {
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
    let floor_p99 = report("bare axum websocket push (floor)", &mut floor);
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path());
    let mut socket = connect(&server).await;
    let session = SessionId(Uuid::new_v4());
    send(
        &mut socket,
        &ClientFrame::Send {
            session,
            client_msg_id: ClientMsgId(Uuid::new_v4()),
            text: format!("/stamp {STAMPS}"),
            attachments: vec![],
            create: Some(NewSession::defaults(AgentKind::Demo)),
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
            } => break,
            _ => {}
        }
    }
    let relay_p99 = report(
        "relay: agent stdout line -> stored -> client frame",
        &mut relay,
    );
    println!(
        "relay p99 / floor p99 = {:.2}",
        relay_p99.as_secs_f64() / floor_p99.as_secs_f64().max(1e-9)
    );
    drop(server);

    // Replay: a client that missed 10,000 events catches up.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path()).await.expect("db");
    let session = seed(&db, 10_000).await;
    let server = start(dir.path());
    let mut socket = connect(&server).await;
    let started = Instant::now();
    send(
        &mut socket,
        &ClientFrame::Subscribe {
            session,
            since: Seq(0),
        },
    )
    .await;
    let mut received = 0u64;
    while received < 10_000 {
        if let ServerFrame::Event { .. } = recv(&mut socket).await {
            received += 1;
        }
    }
    println!(
        "replay: 10,000 missed events caught up in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    drop(server);

    // Idle memory: the server alone, then with 1,000 idle sessions loaded.
    let empty = tempfile::tempdir().expect("temp dir");
    let server = start(empty.path());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = rss_kib(server.child.id());
    drop(server);
    let many = tempfile::tempdir().expect("temp dir");
    let db = Db::open(many.path()).await.expect("db");
    for _ in 0..1_000 {
        seed(&db, 3).await;
    }
    let server = start(many.path());
    let _socket = connect(&server).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let loaded = rss_kib(server.child.id());
    println!(
        "idle memory: server RSS {base} KiB with no sessions, {loaded} KiB with 1,000 idle sessions = {:.1} KiB per idle session",
        (loaded.saturating_sub(base)) as f64 / 1_000.0
    );
    drop(server);

    // Warm turns: message sent -> turn completed, demo agent with no chunk delay.
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path());
    let mut socket = connect(&server).await;
    let session = SessionId(Uuid::new_v4());
    let mut times = Vec::new();
    for n in 0..201 {
        let started = Instant::now();
        send(
            &mut socket,
            &ClientFrame::Send {
                session,
                client_msg_id: ClientMsgId(Uuid::new_v4()),
                text: format!("turn {n}"),
                attachments: vec![],
                create: (n == 0).then_some(NewSession::defaults(AgentKind::Demo)),
            },
        )
        .await;
        loop {
            if let ServerFrame::Event {
                event: SessionEvent::TurnCompleted { .. },
                ..
            } = recv(&mut socket).await
            {
                break;
            }
        }
        if n > 0 {
            times.push(started.elapsed()); // turn 0 includes starting the agent process
        }
    }
    times.sort();
    println!(
        "warm turn round trip (send -> stored, streamed, completed; 200 turns): p50 {:.2} ms, p99 {:.2} ms",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "server RSS after 200 turns: {} KiB",
        rss_kib(server.child.id())
    );
}
