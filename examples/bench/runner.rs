//! `bench -- runner`: what the runner costs. Relay latency (agent line -> browser socket)
//! through the runner, with agents embedded in the server, and a bare axum push, in one
//! run; the runner's idle memory and each idle agent slot's; and how long a restarted
//! server takes to send the first chunk an agent printed while it was down.

use crate::harness::*;
use std::time::{Duration, Instant};
use switchboard::protocol::{AgentId, ClientFrame, ClientMsgId, NewSession, Seq, ServerFrame};
use switchboard::protocol::{SessionEvent, SessionId};

const STAMPS: u64 = 3_000;
/// The default live-agent cap: more would stop the longest idle ones.
const IDLE_AGENTS: usize = 8;

pub async fn runner() {
    println!("# Runner ({})", server_binary().display());
    let floor_p99 = report(
        "bare axum websocket push (floor)",
        &mut push_floor(STAMPS).await,
    );
    let mut p99 = Vec::new();
    for mode in ["embedded", "detached"] {
        // SAFETY: set before the servers this process starts; no other thread reads it.
        std::env::set_var("SWITCHBOARD_RUNNER", mode);
        let dir = tempfile::tempdir().expect("temp dir");
        let server = start(dir.path());
        let mut relay = stamp_relay(&server, STAMPS).await;
        p99.push(report(&format!("relay, agents {mode}"), &mut relay));
    }
    println!(
        "runner adds {:.3} ms at p99 over embedded (goal < 0.3 ms); floor p99 {:.3} ms",
        (p99[1].as_secs_f64() - p99[0].as_secs_f64()) * 1e3,
        floor_p99.as_secs_f64() * 1e3
    );

    // Idle memory: the runner alone, then with idle demo agents.
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path());
    let runner = runner_of(&server).expect("a runner runs");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let empty = rss_kib(runner);
    let mut socket = connect(&server).await;
    for _ in 0..IDLE_AGENTS {
        let session = SessionId(uuid::Uuid::new_v4());
        say(&mut socket, session, "hello", true).await;
        until_turn_end(&mut socket, session).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let full = rss_kib(runner);
    let agents = child_pids(runner);
    let agent_rss: u64 = agents.iter().map(|pid| rss_kib(*pid)).sum();
    println!(
        "runner idle RSS {empty} KiB; with {} idle agents {full} KiB: {:.0} KiB per agent slot in the runner, plus {:.0} KiB per demo agent process",
        agents.len(),
        (full.saturating_sub(empty)) as f64 / agents.len().max(1) as f64,
        agent_rss as f64 / agents.len().max(1) as f64
    );
    drop(server);

    // Restart: a turn streams, the server is killed, and a new one replays what the agent
    // printed meanwhile.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut figures = Vec::new();
    for _ in 0..5 {
        let server = start(dir.path());
        let mut socket = connect(&server).await;
        let session = SessionId(uuid::Uuid::new_v4());
        say(&mut socket, session, "/slow 20", true).await;
        let seen = first_delta(&mut socket, session, Seq(0)).await;
        let mut server = server;
        let _ = server.child.kill();
        let _ = server.child.wait();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        let server = start(dir.path());
        let mut socket = connect(&server).await;
        send(
            &mut socket,
            &ClientFrame::Subscribe {
                session,
                since: seen,
                tail_turns: None,
                tag: None,
            },
        )
        .await;
        first_delta(&mut socket, session, seen).await;
        figures.push(started.elapsed());
        let _ = send(&mut socket, &ClientFrame::Cancel { session, tag: None }).await;
    }
    report("server start -> first replayed chunk", &mut figures);
}

async fn say(socket: &mut Socket, session: SessionId, text: &str, create: bool) {
    send(
        socket,
        &ClientFrame::Send {
            session,
            client_msg_id: ClientMsgId(uuid::Uuid::new_v4()),
            text: text.to_owned(),
            attachments: vec![],
            create: create.then(|| NewSession::defaults(AgentId::demo())),
            tag: None,
        },
    )
    .await;
}

async fn until_turn_end(socket: &mut Socket, session: SessionId) {
    loop {
        if let ServerFrame::Event {
            session: s,
            event: SessionEvent::TurnCompleted { .. },
            ..
        } = recv(socket).await
        {
            if s == session {
                return;
            }
        }
    }
}

/// The seq of the session's first delta after `after`.
async fn first_delta(socket: &mut Socket, session: SessionId, after: Seq) -> Seq {
    loop {
        if let ServerFrame::Event {
            session: s,
            seq,
            event: SessionEvent::AssistantDelta { .. },
        } = recv(socket).await
        {
            if s == session && seq > after {
                return seq;
            }
        }
    }
}
