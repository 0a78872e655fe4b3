//! The fan-out benchmark: 100 sessions x 50 events/s for 60 s, 10 clients subscribed to all;
//! on one server (SQLite or PostgreSQL), or on two nodes of one PostgreSQL database with the
//! sessions driven by one node and the watching clients on the other.

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
    /// From each stamped agent line to this client.
    delays: Vec<Duration>,
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
                SessionEvent::AssistantDelta { text, .. } => {
                    stamp_latencies(&text, &mut seen.delays);
                }
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

/// Where the fan-out runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// One server, on SQLite (or PostgreSQL with `BENCH_ENGINE=postgres`).
    OneServer,
    /// Two nodes on one PostgreSQL database: the sessions made (and driven) on the first,
    /// every watching client on the second.
    TwoNodes,
}

/// `bench fanout`: one server; `FANOUT_NODES=2` (with `BENCH_ENGINE=postgres`): two nodes.
pub async fn fanout() {
    let two = std::env::var("FANOUT_NODES").as_deref() == Ok("2");
    run(
        if two {
            Setup::TwoNodes
        } else {
            Setup::OneServer
        },
        None,
    )
    .await;
}

/// `bench fanout-nodes`: in one run, one server on SQLite, then two nodes on PostgreSQL
/// (the cluster `SWITCHBOARD_TEST_POSTGRES` names).
pub async fn fanout_nodes() {
    run(Setup::OneServer, Some("SQLite, one server")).await;
    run(Setup::TwoNodes, Some("PostgreSQL, two nodes")).await;
}

/// 100 sessions streaming 50 events/s each for 60 s, 10 clients subscribed to all of them.
async fn run(setup: Setup, label: Option<&str>) {
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
    // Two nodes share a database of their own; one server stores as BENCH_ENGINE says,
    // except in the comparison run, where it is SQLite.
    let (server, watched, database) = match setup {
        Setup::TwoNodes => {
            let key = format!("fanout-{}", Uuid::new_v4());
            let url = switchboard::server::db::testing::postgres_url_blocking(&key).expect(
                "two nodes need SWITCHBOARD_TEST_POSTGRES (scripts/test-postgres.sh start)",
            );
            let other = dir.path().join("node-b");
            let driving = start_on(&dir.path().join("node-a"), Some(&config), Some(&url));
            let watching = start_on(&other, Some(&config), Some(&url));
            (driving, Some(watching), Some(url))
        }
        Setup::OneServer if label.is_some() => {
            (start_on(dir.path(), Some(&config), None), None, None)
        }
        Setup::OneServer => (start_configured(dir.path(), Some(&config)), None, None),
    };
    let watching = watched.as_ref().unwrap_or(&server);
    let pids: Vec<u32> = [Some(&server), watched.as_ref()]
        .into_iter()
        .flatten()
        .map(|s| s.child.id())
        .collect();
    let pid = server.child.id();
    let rss_start = rss_kib(pid);
    let sessions: Vec<SessionId> = (0..sessions_n).map(|_| SessionId(Uuid::new_v4())).collect();
    let mut creator = connect(&server).await;
    let cpu_start: Vec<f64> = pids.iter().map(|pid| cpu_seconds(*pid)).collect();
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
    while listed_sessions(watching).await < sessions_n {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 1..clients_n {
        let mut socket = connect(watching).await;
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
    let cores: Vec<String> = pids
        .iter()
        .zip(&cpu_start)
        .map(|(pid, start)| format!("{:.2}", (cpu_seconds(*pid) - start) / wall))
        .collect();
    let rss_end = rss_kib(pid);
    let db = match &database {
        Some(url) => switchboard::server::db::Db::connect_postgres(url)
            .await
            .expect("the nodes' database"),
        None if label.is_some() => switchboard::server::db::Db::open(dir.path())
            .await
            .expect("the SQLite file"),
        None => bench_db(dir.path()).await,
    };
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
    // The watching clients (all but the creator): on the other node when there are two.
    let mut delays: Vec<Duration> = results
        .iter()
        .skip(1)
        .flat_map(|r| r.delays.clone())
        .collect();
    delays.sort();
    let where_ = match setup {
        Setup::TwoNodes => "two nodes on PostgreSQL, sessions driven by node A, watched on node B",
        Setup::OneServer => "one server",
    };
    if let Some(label) = label {
        println!("fan-out [{label}]:");
    }
    println!(
        "fan-out ({where_}): {sessions_n} sessions x {} events/s x {seconds} s, {clients_n} clients subscribed to all: \
         {stored} events stored, {received} frames delivered, lost {lost}, duplicated {duplicated}, \
         clients behind the log at the end {mismatched}",
        1000 / EVERY_MS
    );
    let mut own: Vec<Duration> = results.first().map_or_else(Vec::new, |r| r.delays.clone());
    own.sort();
    for (whose, delays) in [
        ("the creating client (driving node)", &own),
        ("watching clients", &delays),
    ] {
        if !delays.is_empty() {
            println!(
                "fan-out: agent line -> {whose}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} lines)",
                percentile(delays, 0.5).as_secs_f64() * 1e3,
                percentile(delays, 0.99).as_secs_f64() * 1e3,
                delays.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
                delays.len()
            );
        }
    }
    println!(
        "fan-out: wall {wall:.1} s, cores per server process [{}], RSS (first) start {rss_start} KiB, peak {rss_peak} KiB, end {rss_end} KiB",
        cores.join(", ")
    );
}
