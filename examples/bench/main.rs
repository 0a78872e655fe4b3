//! Benchmarks that print figures (not timed tests): relay latency (agent line -> client
//! frame) next to a bare axum WebSocket, replay catch-up, idle memory, and warm turn round
//! trips, against the release server binary with the demo agent.
//!
//!   scripts/build-release.sh
//!   cargo run --release --features ssr --example bench
//!
//!   cargo run --release --features ssr --example bench -- fanout   (100 sessions x 50 events/s,
//!                                                                   10 clients, 60 s)
//!   cargo run --release --features ssr --example bench -- fanout-nodes   (the same on SQLite,
//!                                       then on two PostgreSQL nodes; scripts/test-postgres.sh)
//!
//!   cargo build --release --features ssr --bin fake-model
//!   cargo run --release --features ssr --example bench -- claude   (fake model's first SSE byte
//!                                                                   -> client frame, claude vs demo)
//!
//!   cargo run --release --features ssr --example bench -- soak     (mixed demo load, SOAK_SECONDS
//!                                                                   default 1,800, SOAK_WORKERS 8)
//!
//!   cargo run --release --features ssr --example bench -- worktree (a new session's first answer,
//!                                                                   worktree vs plain; changes of
//!                                                                   a 10,000-file repository)
//!
//!   cargo run --release --features ssr --example bench -- search   (1,000,000 events in 1,000
//!                                                                   sessions, 20 queries)
//!
//!   cargo run --release --features ssr --example bench -- import   (~100 MB of CLI transcripts)
//!
//!   cargo run --release --features ssr --example bench -- runner   (relay through the runner vs
//!                                                                   embedded vs a bare push; idle
//!                                                                   memory; restart to replay)
//!
//! SWITCHBOARD_BIN overrides the server binary (default: $CARGO_TARGET_DIR/release/switchboard).

mod claude;
mod fanout;
mod harness;
mod import;
mod runner;
mod search;
mod soak;
mod worktree;

use harness::*;
use std::time::{Duration, Instant};
use switchboard::protocol::{
    AgentId, ClientFrame, ClientMsgId, NewSession, Seq, ServerFrame, SessionEvent, SessionId,
};
use uuid::Uuid;

#[tokio::main]
async fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("fanout") => return fanout::fanout().await,
        Some("fanout-nodes") => return fanout::fanout_nodes().await,
        Some("claude") => return claude::claude().await,
        Some("soak") => return soak::soak().await,
        Some("worktree") => return worktree::worktree().await,
        Some("search") => return search::search().await,
        Some("import") => return import::import().await,
        Some("runner") => return runner::runner().await,
        _ => {}
    }
    println!("# Switchboard benchmarks ({})", server_binary().display());

    // Relay latency: the demo agent writes a stamped line every 5 ms; the client reads the
    // stamp from each frame. The floor: a bare axum socket pushing the same frames.
    const STAMPS: u64 = 1_000;
    let bare = start_bare_push_server(STAMPS);
    let floor_p99 = report(
        "bare axum websocket push (floor)",
        &mut push_floor_at(&bare).await,
    );
    let mut echo = echo_round_trips(&bare, STAMPS).await;
    let echo_p99 = report("bare axum websocket echo (round trip)", &mut echo);
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path());
    let mut relay = stamp_relay(&server, STAMPS).await;
    let relay_p99 = report(
        "relay: agent stdout line -> stored -> client frame",
        &mut relay,
    );
    println!(
        "relay p99 / push floor p99 = {:.2}; relay p99 / echo p99 = {:.2} (issue 5's target: <= 1.5)",
        relay_p99.as_secs_f64() / floor_p99.as_secs_f64().max(1e-9),
        relay_p99.as_secs_f64() / echo_p99.as_secs_f64().max(1e-9)
    );
    drop(server);

    // Replay: a client that missed 10,000 events catches up.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = bench_db(dir.path()).await;
    let session = seed(&db, 10_000).await;
    let server = start(dir.path());
    let mut socket = connect(&server).await;
    let started = Instant::now();
    send(
        &mut socket,
        &ClientFrame::Subscribe {
            session,
            since: Seq(0),
            tail_turns: None,
            tag: None,
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
    let db = bench_db(many.path()).await;
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
                create: (n == 0).then_some(NewSession::defaults(AgentId::demo())),
                tag: None,
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
