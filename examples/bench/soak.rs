//! The soak: mixed load against the demo agent for SOAK_SECONDS (default 1,800), with
//! SOAK_WORKERS (default 8) clients. Each worker loops over: an echo turn, a tool call, a
//! permission asked and answered (allow and deny in turn), a slow turn stopped midway, a
//! burst of 500 chunks, a dropped socket with a resume from its last seq (checked gapless),
//! and every 20 cycles it ends its session and starts a new one. Prints errors (must be 0)
//! and the server's RSS over time (must stay bounded).

use super::harness::*;
use futures::StreamExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard::protocol::{
    AgentId, ClientFrame, ClientId, ClientMsgId, NewSession, ResumePoint, Seq, ServerFrame,
    SessionEvent, SessionId,
};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

#[derive(Default)]
struct Counters {
    turns: AtomicU64,
    cycles: AtomicU64,
    errors: AtomicU64,
    reconnects: AtomicU64,
    sessions: AtomicU64,
}

/// One worker's socket and session, and the last seq it holds.
struct Worker {
    server_addr: String,
    socket: Socket,
    session: SessionId,
    last: Seq,
    counters: Arc<Counters>,
}

impl Worker {
    /// Reads until `done`; counts Error frames and gaps as errors.
    async fn until(&mut self, mut done: impl FnMut(&SessionEvent) -> bool) -> Vec<SessionEvent> {
        let mut events = Vec::new();
        loop {
            let frame =
                match tokio::time::timeout(Duration::from_secs(60), self.socket.next()).await {
                    Ok(Some(Ok(Message::Text(text)))) => {
                        serde_json::from_str::<ServerFrame>(text.as_str())
                    }
                    Ok(Some(Ok(_))) => continue,
                    other => {
                        eprintln!("soak: socket failed: {other:?}");
                        self.counters.errors.fetch_add(1, Ordering::Relaxed);
                        return events;
                    }
                };
            match frame {
                Ok(ServerFrame::Event {
                    session,
                    seq,
                    event,
                }) if session == self.session => {
                    if seq <= self.last {
                        continue; // a replayed overlap
                    }
                    if seq.0 != self.last.0 + 1 {
                        eprintln!("soak: gap {} -> {}", self.last.0, seq.0);
                        self.counters.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    self.last = seq;
                    if let SessionEvent::Error { message, .. } = &event {
                        eprintln!("soak: session error: {message}");
                        self.counters.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    let finished = done(&event);
                    events.push(event);
                    if finished {
                        return events;
                    }
                }
                Ok(ServerFrame::Error { message, .. }) => {
                    eprintln!("soak: error frame: {message}");
                    self.counters.errors.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(e) => {
                    eprintln!("soak: unparsable frame: {e}");
                    self.counters.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    async fn say(&mut self, text: &str, create: bool) {
        let frame = ClientFrame::Send {
            session: self.session,
            client_msg_id: ClientMsgId(Uuid::new_v4()),
            text: text.into(),
            attachments: vec![],
            create: create.then(|| NewSession::defaults(AgentId::demo())),
            tag: None,
        };
        send(&mut self.socket, &frame).await;
    }

    async fn turn(&mut self, text: &str) -> Vec<SessionEvent> {
        self.say(text, false).await;
        let events = self
            .until(|e| matches!(e, SessionEvent::TurnCompleted { .. }))
            .await;
        self.counters.turns.fetch_add(1, Ordering::Relaxed);
        events
    }

    async fn new_session(&mut self) {
        self.session = SessionId(Uuid::new_v4());
        self.last = Seq(0);
        self.say("hello", true).await;
        self.until(|e| matches!(e, SessionEvent::TurnCompleted { .. }))
            .await;
        self.counters.sessions.fetch_add(1, Ordering::Relaxed);
    }

    /// Drops the socket and resumes from the last seq held.
    async fn reconnect(&mut self) {
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", self.server_addr))
            .await
            .expect("reconnects");
        self.socket = socket;
        let hello = ClientFrame::Hello {
            client_id: ClientId(Uuid::new_v4()),
            resume: vec![ResumePoint {
                session: self.session,
                since: self.last,
                tail_turns: None,
            }],
        };
        send(&mut self.socket, &hello).await;
        self.counters.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    async fn cycle(&mut self, n: u64) {
        self.turn(&format!("echo {n}")).await;
        self.turn("/tool").await;
        self.say("/permission", false).await;
        let events = self
            .until(|e| matches!(e, SessionEvent::PermissionRequested { .. }))
            .await;
        if let Some(SessionEvent::PermissionRequested {
            request_id,
            options,
            ..
        }) = events.last()
        {
            let option = &options[(n as usize) % options.len()];
            let answer = ClientFrame::AnswerPermission {
                session: self.session,
                request_id: request_id.clone(),
                option_id: option.id.clone(),
                tag: None,
            };
            send(&mut self.socket, &answer).await;
            self.until(|e| matches!(e, SessionEvent::TurnCompleted { .. }))
                .await;
        }
        self.say("/slow 2", false).await;
        self.until(|e| matches!(e, SessionEvent::AssistantDelta { .. }))
            .await;
        send(
            &mut self.socket,
            &ClientFrame::Cancel {
                session: self.session,
                tag: None,
            },
        )
        .await;
        self.until(|e| matches!(e, SessionEvent::TurnCompleted { .. }))
            .await;
        self.turn("/burst 500").await;
        self.reconnect().await;
        self.turn(&format!("after reconnect {n}")).await;
        if n % 20 == 19 {
            send(
                &mut self.socket,
                &ClientFrame::Archive {
                    session: self.session,
                    worktree: None,
                    discard_unmerged: false,
                    tag: None,
                },
            )
            .await;
            self.new_session().await;
        }
        self.counters.cycles.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs the soak and prints its figures.
pub async fn soak() {
    let seconds = env_number("SOAK_SECONDS", 1800);
    let workers = env_number("SOAK_WORKERS", 8);
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path());
    let pid = server.child.id();
    let counters = Arc::new(Counters::default());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let cpu_start = cpu_seconds(pid);
    let rss_start = rss_kib(pid);
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let counters = Arc::clone(&counters);
        let addr = server.addr.clone();
        tasks.push(tokio::spawn(async move {
            let socket = connect_addr(&addr).await;
            let mut worker = Worker {
                server_addr: addr,
                socket,
                session: SessionId(Uuid::new_v4()),
                last: Seq(0),
                counters,
            };
            worker.new_session().await;
            let mut n = 0;
            while Instant::now() < deadline {
                worker.cycle(n).await;
                n += 1;
            }
        }));
    }
    let mut samples = vec![(0u64, rss_start)];
    let mut rss_max = rss_start;
    while tasks.iter().any(|t| !t.is_finished()) {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let rss = rss_kib(pid);
        rss_max = rss_max.max(rss);
        let at = started.elapsed().as_secs();
        if at / 300 > samples.last().map_or(0, |s| s.0 / 300) {
            samples.push((at, rss));
            println!(
                "soak: {at} s, RSS {rss} KiB, turns {}, errors {}",
                counters.turns.load(Ordering::Relaxed),
                counters.errors.load(Ordering::Relaxed)
            );
        }
    }
    for task in tasks {
        task.await.expect("worker");
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu_start;
    let rss_end = rss_kib(pid);
    println!(
        "soak: {seconds} s with {workers} workers: {} cycles, {} turns, {} sessions, {} reconnects, errors {}",
        counters.cycles.load(Ordering::Relaxed),
        counters.turns.load(Ordering::Relaxed),
        counters.sessions.load(Ordering::Relaxed),
        counters.reconnects.load(Ordering::Relaxed),
        counters.errors.load(Ordering::Relaxed),
    );
    println!(
        "soak: server CPU {cpu:.0} s over {wall:.0} s = {:.2} cores; RSS start {rss_start} KiB, max {rss_max} KiB, end {rss_end} KiB; every 5 min: {samples:?}",
        cpu / wall
    );
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
