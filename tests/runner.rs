//! Agents in a runner that outlives the server: a killed server loses no chunk and no
//! permission question, a dropped server–runner connection loses, doubles and reorders
//! nothing, a killed runner interrupts its sessions, and an older runner is drained.

mod common;

use common::claude::{claude_server, claude_session, reply_text, FakeModel};
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};
use switchboard::protocol::{Seq, ServerFrame, SessionEvent, SessionId, SessionState};

fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// A client subscribed to `session` from the start of its log.
async fn watch(
    server: &Server,
    session: SessionId,
) -> (Client, Vec<switchboard::protocol::Session>) {
    let (mut client, sessions) = Client::connect(server).await;
    client.subscribe(session, Seq(0)).await;
    (client, sessions)
}

/// Waits until `pid` has exited (or is a zombie), at most `secs`.
async fn gone(pid: i32, secs: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
        if stat.map_or(true, |stat| stat.contains(") Z ")) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn said(log: &Path) -> String {
    std::fs::read_to_string(log)
        .expect("the demo agent's log")
        .lines()
        .collect()
}

#[tokio::test]
async fn a_turn_survives_a_killed_server_chunk_for_chunk() {
    let dir = data_dir();
    let log = dir.path().join("said.log");
    let log_env = log.display().to_string();
    let env = [("SWITCHBOARD_DEMO_LOG", Some(log_env.as_str()))];
    let session = new_session();
    let agent_pid = {
        let server = Server::start_with_env(dir.path(), "", &env);
        let (mut client, _) = Client::connect(&server).await;
        client.say(session, "/slow 4", true).await;
        client.first_delta().await;
        let pids = server.agent_pids();
        server.kill();
        pids
    };
    assert_eq!(agent_pid.len(), 1, "one agent in the runner: {agent_pid:?}");
    // The agent goes on printing while no server runs.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let server = Server::start_with_env(dir.path(), "", &env);
    let (mut client, sessions) = watch(&server, session).await;
    let listed = sessions.iter().find(|s| s.id == session).expect("listed");
    assert_eq!(listed.state, SessionState::Working, "the turn goes on");
    assert_eq!(server.agent_pids(), agent_pid, "the same agent process");
    let events = client.turn(session).await;
    let stop = events.iter().find_map(|(_, e)| match e {
        SessionEvent::TurnCompleted { stop_reason, .. } => Some(stop_reason.clone()),
        _ => None,
    });
    assert_eq!(stop.as_deref(), Some("end_turn"));
    let expected: String = (1..=40).map(|tick| format!("tick {tick} ")).collect();
    assert_eq!(said(&log), expected, "the agent said every tick once");
    assert_eq!(
        streamed(&events),
        expected,
        "the transcript holds each exactly once, in order"
    );
    assert!(
        !events
            .iter()
            .any(|(_, e)| matches!(e, SessionEvent::Notice { .. })),
        "no interruption notice"
    );
}

#[tokio::test]
async fn a_permission_question_survives_a_killed_server_and_its_answer_reaches_the_agent() {
    let dir = data_dir();
    let session = new_session();
    let request = {
        let server = Server::start(dir.path());
        let (mut client, _) = Client::connect(&server).await;
        client.say(session, "/permission", true).await;
        let request = client
            .next_event(session, |event| match event {
                SessionEvent::PermissionRequested { request_id, .. } => Some(request_id.clone()),
                _ => None,
            })
            .await;
        server.kill();
        request
    };
    let server = Server::start(dir.path());
    let (mut client, sessions) = watch(&server, session).await;
    let listed = sessions.iter().find(|s| s.id == session).expect("listed");
    assert_eq!(listed.state, SessionState::AwaitingPermission);
    client.answer(session, request, "allow").await;
    let events = client.turn(session).await;
    assert!(
        streamed(&events).contains("Permission granted; I wrote demo.txt."),
        "{}",
        streamed(&events)
    );
}

#[tokio::test]
async fn a_claude_turn_survives_a_killed_server() {
    let dir = data_dir();
    let fake = FakeModel::start();
    let session = new_session();
    {
        let server = claude_server(dir.path(), &fake, "");
        let (mut client, _) = Client::connect(&server).await;
        client
            .say_claude(session, "SLOW 12 250", Some(claude_session("default")))
            .await;
        client.first_delta().await;
        server.kill();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let server = claude_server(dir.path(), &fake, "");
    let (mut client, _) = watch(&server, session).await;
    let events = client.turn(session).await;
    let reply = reply_text(&events);
    let numbers: Vec<u32> = reply
        .split("chunk ")
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(numbers, (0..12).collect::<Vec<_>>(), "{reply}");
    let streamed = streamed(&events);
    assert_eq!(streamed.matches("chunk 0 ").count(), 1, "{streamed}");
}

#[tokio::test]
async fn a_killed_runner_takes_its_agents_and_the_next_message_resumes() {
    let dir = data_dir();
    let server = Server::start(dir.path());
    let (mut client, _) = Client::connect(&server).await;
    let session = new_session();
    client.say(session, "the first prompt", true).await;
    client.turn(session).await;
    client.say(session, "/slow 30", false).await;
    client.first_delta().await;
    let agents = server.agent_pids();
    let runner = server.runner_pid().expect("a runner runs");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(runner),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("runner killed");
    for pid in &agents {
        assert!(gone(*pid, 5).await, "agent {pid} died with its runner");
    }
    client
        .until(|f| {
            matches!(f, ServerFrame::SessionUpdated { session: s, patch }
            if *s == session && matches!(patch.state, Some(SessionState::Interrupted { .. })))
        })
        .await;
    // A new runner is started, and the conversation resumes there.
    client.say(session, "/history", false).await;
    let events = client.turn(session).await;
    assert!(
        streamed(&events).contains("This conversation has 2 earlier prompt(s)"),
        "{}",
        streamed(&events)
    );
    assert_ne!(server.runner_pid(), Some(runner));
}

/// A runner started by a server with `first_env` (an older protocol, another build) holds a
/// turn when that server dies; the next server drains it: the turn finishes there, the old
/// runner exits, and the next message runs in a new runner.
async fn drained_and_replaced(first_env: (&str, &str)) {
    let dir = data_dir();
    let session = new_session();
    let old_runner = {
        let older = [(first_env.0, Some(first_env.1))];
        let server = Server::start_with_env(dir.path(), "", &older);
        let (mut client, _) = Client::connect(&server).await;
        client.say(session, "/slow 3", true).await;
        client.first_delta().await;
        let runner = server.runner_pid().expect("a runner runs");
        server.kill();
        runner
    };
    let server = Server::start(dir.path());
    let (mut client, _) = watch(&server, session).await;
    let events = client.turn(session).await;
    let expected: String = (1..=30).map(|tick| format!("tick {tick} ")).collect();
    assert_eq!(streamed(&events), expected);
    assert!(gone(old_runner, 10).await, "the drained runner exits");
    client.say(session, "after the upgrade", false).await;
    let events = client.turn(session).await;
    assert_eq!(streamed(&events), "Echo: after the upgrade");
    let runner = server.runner_pid().expect("the new runner");
    assert_ne!(runner, old_runner);
    assert_eq!(
        children_of(runner).len(),
        1,
        "the agent runs in the new runner"
    );
}

#[tokio::test]
async fn an_older_runner_is_drained_and_replaced() {
    drained_and_replaced(("SWITCHBOARD_RUNNER_PROTOCOL", "0")).await;
}

#[tokio::test]
async fn a_runner_of_another_build_is_drained_after_an_upgrade() {
    drained_and_replaced(("SWITCHBOARD_BUILD_ID", "an older build")).await;
}

/// A unix-socket proxy between the server and its runner that cuts every connection after
/// a pseudo-random 20-150 ms (seeded, so a failure can be replayed) while `cutting` holds.
/// Counts its cuts in `cuts`.
fn chaos_proxy(
    listen: std::path::PathBuf,
    target: std::path::PathBuf,
    seed: u64,
    cutting: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cuts: std::sync::Arc<std::sync::atomic::AtomicU32>,
) -> tokio::task::JoinHandle<()> {
    use std::sync::atomic::Ordering;
    let listener = tokio::net::UnixListener::bind(&listen).expect("proxy socket");
    tokio::spawn(async move {
        let mut state = seed;
        while let Ok((mut inbound, _)) = listener.accept().await {
            let Ok(mut outbound) = tokio::net::UnixStream::connect(&target).await else {
                continue;
            };
            // xorshift64: the same cut points for the same seed.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let life = Duration::from_millis(20 + state % 130);
            let cut = cutting.load(Ordering::Relaxed);
            let cuts = std::sync::Arc::clone(&cuts);
            tokio::spawn(async move {
                let relay = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                if !cut {
                    let _ = relay.await;
                } else if tokio::time::timeout(life, relay).await.is_err() {
                    // Dropped mid-stream: both sockets close as this task ends.
                    cuts.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    })
}

// Several threads: the proxy relays while this thread blocks starting the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_runner_connections_lose_double_and_reorder_nothing() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let dir = data_dir();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).expect("private");
    let real = dir.path().join("runner/real.sock");
    let proxy = dir.path().join("proxy.sock");
    let runner_config = dir.path().join("runner.toml");
    std::fs::write(
        &runner_config,
        format!("[runner]\nsocket = \"{}\"\n", real.display()),
    )
    .expect("runner config");
    let mut runner = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["runner", "--data-dir"])
        .arg(dir.path())
        .arg("--config")
        .arg(&runner_config)
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("runner starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !real.exists() {
        assert!(Instant::now() < deadline, "the runner listens");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cutting = Arc::new(AtomicBool::new(true));
    let cut_count = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026);
    let proxy_task = chaos_proxy(
        proxy.clone(),
        real.clone(),
        seed,
        Arc::clone(&cutting),
        Arc::clone(&cut_count),
    );
    let config = format!("[runner]\nsocket = \"{}\"\n", proxy.display());
    let server = Server::start_with_config(dir.path(), &config);
    let (mut client, _) = Client::connect(&server).await;
    let sessions: Vec<SessionId> = (0..5).map(|_| new_session()).collect();
    for session in &sessions {
        client.say(*session, "/burst 2000", true).await;
    }
    let mut done = std::collections::HashSet::new();
    while done.len() < sessions.len() {
        let frames = client
            .until(|f| {
                matches!(
                    f,
                    ServerFrame::Event {
                        event: SessionEvent::TurnCompleted { .. },
                        ..
                    }
                )
            })
            .await;
        if let Some(ServerFrame::Event { session, .. }) = frames.last() {
            done.insert(*session);
        }
    }
    cutting.store(false, Ordering::Relaxed);
    let expected: String = (1..=2000).map(|n| format!("{n} ")).collect();
    for session in &sessions {
        let (mut reader, _) = watch(&server, *session).await;
        let events = reader.turn(*session).await;
        assert_eq!(
            streamed(&events),
            expected,
            "session {session}: every chunk once, in order"
        );
        let ends = events
            .iter()
            .filter(|(_, e)| matches!(e, SessionEvent::TurnCompleted { .. }))
            .count();
        assert_eq!(ends, 1);
    }
    drop(server);
    let _ = runner.kill();
    let _ = runner.wait();
    proxy_task.abort();
    let cuts = cut_count.load(Ordering::Relaxed);
    assert!(
        cuts >= 3,
        "the proxy cut the connection {cuts} times (seed {seed})"
    );
}

#[tokio::test]
async fn a_full_backlog_pauses_the_agent_and_loses_nothing() {
    // 1 KiB in memory and 1 MiB on disk per agent: a burst of ~3 MB of outputs with no
    // server to store them fills both.
    let config = "[runner]\nmemory_kib = 1\nspill_mib = 1\n";
    let dir = data_dir();
    let session = new_session();
    {
        let server = Server::start_with_config(dir.path(), config);
        let (mut client, _) = Client::connect(&server).await;
        client.say(session, "/burst 20000", true).await;
        client.first_delta().await;
        server.kill();
    }
    let config_file = dir.path().join("test-config.toml");
    let status = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["runner", "status", "--data-dir"])
            .arg(dir.path())
            .arg("--config")
            .arg(&config_file)
            .output()
            .expect("runner status runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut report = status();
    while !report.contains("PAUSED") {
        assert!(
            Instant::now() < deadline,
            "the agent was never paused: {report}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        report = status();
    }
    assert!(report.contains("bytes spilled"), "{report}");
    let server = Server::start_with_config(dir.path(), config);
    let (mut client, _) = watch(&server, session).await;
    let events = client.turn(session).await;
    let expected: String = (1..=20000).map(|n| format!("{n} ")).collect();
    assert_eq!(
        streamed(&events),
        expected,
        "every chunk once, in order, after the pause"
    );
    assert!(!status().contains("PAUSED"));
}

#[tokio::test]
async fn runner_stop_lets_the_running_turn_finish_then_a_new_runner_takes_over() {
    let dir = data_dir();
    let server = Server::start(dir.path());
    let (mut client, _) = Client::connect(&server).await;
    let session = new_session();
    client.say(session, "/slow 2", true).await;
    client.first_delta().await;
    let runner = server.runner_pid().expect("a runner runs");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["runner", "stop", "--data-dir"])
        .arg(dir.path())
        .arg("--config")
        .arg(dir.path().join("test-config.toml"))
        .output()
        .expect("runner stop runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("stops once 1 running turn(s) end"), "{said}");
    // A new session meanwhile starts at once, in a new runner.
    let other = new_session();
    let (mut second, _) = Client::connect(&server).await;
    second.say(other, "meanwhile", true).await;
    let events = second.turn(other).await;
    assert_eq!(streamed(&events), "Echo: meanwhile");
    let runners = runner_pids(dir.path());
    assert_eq!(
        runners.len(),
        2,
        "the old runner drains beside the new one: {runners:?}"
    );
    let new_runner = runners
        .iter()
        .find(|pid| **pid != runner)
        .expect("a new runner");
    assert_eq!(
        children_of(*new_runner).len(),
        1,
        "the new session's agent runs there"
    );
    client.turn(session).await;
    let (mut reader, _) = watch(&server, session).await;
    let events = reader.turn(session).await;
    let expected: String = (1..=20).map(|tick| format!("tick {tick} ")).collect();
    assert_eq!(streamed(&events), expected, "the turn finished");
    assert!(
        gone(runner, 10).await,
        "the runner exits once its turn ended"
    );
    client.say(session, "still here?", false).await;
    let events = client.turn(session).await;
    assert_eq!(streamed(&events), "Echo: still here?");
    assert_ne!(server.runner_pid(), Some(runner));
}
