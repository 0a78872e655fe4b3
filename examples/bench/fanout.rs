//! The fan-out benchmark: 100 sessions x 50 events/s for 60 s, 10 clients subscribed to all.

use super::harness::*;
use std::time::{Duration, Instant};
use switchboard::protocol::{
    AgentId, ClientFrame, ClientId, ClientMsgId, NewSession, Seq, ServerFrame, SessionEvent,
    SessionId, SessionState,
};
use uuid::Uuid;

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

/// Reads until every session's turn has ended and the session said it is idle again (the
/// last event the turn stores), so at the end each client should hold the whole log.
async fn consume(mut socket: Socket, sessions: usize) -> FanoutClient {
    let mut seen = FanoutClient::default();
    let mut completed = std::collections::HashSet::new();
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
            match event {
                SessionEvent::TurnCompleted { .. } => {
                    completed.insert(session);
                }
                SessionEvent::StateChanged {
                    state: SessionState::Idle,
                } if completed.contains(&session) => {
                    done.insert(session);
                }
                _ => {}
            }
        }
    }
    seen
}

/// 100 sessions streaming 50 events/s each for 60 s, 10 clients subscribed to all of them.
pub async fn fanout() {
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
    // Every session streams at once, so each needs its own live agent: raise the cap (8 by default).
    let config = dir.path().join("fanout.toml");
    std::fs::write(
        &config,
        format!("[limits]\nmax_live_agents = {sessions_n}\n"),
    )
    .expect("config");
    let server = start_configured(dir.path(), Some(&config));
    let pid = server.child.id();
    let rss_start = rss_kib(pid);
    let sessions: Vec<SessionId> = (0..sessions_n).map(|_| SessionId(Uuid::new_v4())).collect();
    let mut creator = connect(&server).await;
    let cpu_start = cpu_seconds(pid);
    let started = Instant::now();
    for id in &sessions {
        let create = NewSession::defaults(AgentId::demo());
        let text = format!("/stamp {per_session} {EVERY_MS}");
        send(
            &mut creator,
            &ClientFrame::Send {
                session: *id,
                client_msg_id: ClientMsgId(Uuid::new_v4()),
                text,
                attachments: vec![],
                create: Some(create),
                tag: None,
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
                    tail_turns: None,
                    tag: None,
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
    let db = bench_db(dir.path()).await;
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
