//! Another machine's runner with several server nodes (run in the suite's PostgreSQL pass,
//! skipped on SQLite): two real `serve` nodes on one database and a real `switchboard
//! runner --server B,A` standing in for another host. A client on node A drives a `/slow`
//! session on the runner connected to node B while a client on B watches: both hold the
//! log; a client on B runs a session on a second machine whose runner is on A. Node B
//! killed mid-turn, the runner dials A, A takes the session over with the runner's agent,
//! and the turn completes with every word once. B back, A killed mid-turn and a Stop sent
//! to it just after: B takes over and runs the Stop A never ran.

mod common;

use common::machines::{
    add_machine_project, enrollment_code, login, ticks, wait_connected, MachineRunner,
};
use common::{events_of, stored_log, streamed, Client, Server, TIMEOUT};
use std::path::Path;
use switchboard::protocol::{AgentId, NewSession, Seq, ServerFrame, SessionEvent, SessionId};
use switchboard::server::config::DATABASE_URL_ENV;

/// A node on `url` with agents in runners (other machines need that).
fn node(data_dir: &Path, url: &str) -> Server {
    Server::start_with_env(
        data_dir,
        "",
        &[
            (DATABASE_URL_ENV, Some(url)),
            ("SWITCHBOARD_RUNNER", Some("detached")),
        ],
    )
}

/// Frames until `session`'s turn completes.
async fn until_turn_completed(client: &mut Client, session: SessionId) -> Vec<ServerFrame> {
    client
        .until(|frame| {
            matches!(frame, ServerFrame::Event {
                session: s,
                event: SessionEvent::TurnCompleted { .. },
                ..
            } if *s == session)
        })
        .await
}

/// The part of `log` from the first to the last seq of `events`.
fn slice(log: &[(Seq, SessionEvent)], events: &[(Seq, SessionEvent)]) -> Vec<(Seq, SessionEvent)> {
    let (Some((first, _)), Some((last, _))) = (events.first(), events.last()) else {
        return Vec::new();
    };
    log.iter()
        .filter(|(seq, _)| seq >= first && seq <= last)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machine_s_session_follows_its_runner_from_a_killed_node_to_the_other() {
    if !common::on_postgres() {
        eprintln!("PostgreSQL only: several nodes share a PostgreSQL database");
        return;
    }
    let key = format!("machines-{}", uuid::Uuid::new_v4());
    let url =
        switchboard::server::db::testing::postgres_url_blocking(&key).expect("the test cluster");
    let dirs = [
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    ];
    let node_a = node(dirs[0].path(), &url);
    let node_b = node(dirs[1].path(), &url);
    let cookie = login(&node_a.addr).await;
    let code = enrollment_code(&node_a.addr, &cookie, "build box").await;
    // The runner dials B first, A when B does not answer.
    let machine_dir = tempfile::tempdir().expect("dir");
    let servers = format!("http://{},http://{}", node_b.addr, node_a.addr);
    let _runner = MachineRunner::start(machine_dir.path(), &servers, Some(&code));
    let cookie_b = login(&node_b.addr).await;
    let machine = wait_connected(&node_b.addr, &cookie_b, "build box", true).await;
    let work = machine_dir.path().join("work");
    std::fs::create_dir_all(&work).expect("work");

    // The project and session are made from A; the session is driven by B, where the
    // machine's runner is, and watched from B.
    let (mut a, _) = common::code::connect_with_projects(&node_a.addr).await;
    let (mut b, _) = Client::connect(&node_b).await;
    let project = add_machine_project(&mut a, &work.display().to_string(), &machine.id)
        .await
        .expect("added");
    let session = SessionId(uuid::Uuid::new_v4());
    let mut new = NewSession::defaults(AgentId::demo());
    new.project = Some(project.id);
    a.say_with(session, "/slow 2", Some(new)).await;
    // B lists it (it was made there, for the machine's runner).
    b.until(|f| matches!(f, ServerFrame::SessionCreated { session: s } if s.id == session))
        .await;
    b.subscribe(session, Seq(0)).await;
    let on_a = events_of(&until_turn_completed(&mut a, session).await, session);
    let on_b = events_of(&until_turn_completed(&mut b, session).await, session);
    assert_eq!(streamed(&on_a), ticks(2));
    assert_eq!(streamed(&on_b), ticks(2));
    let log = stored_log(&url, session).await;
    assert_eq!(on_a, slice(&log, &on_a), "A's client holds the log");
    assert_eq!(on_b, slice(&log, &on_b), "B's client holds the log");

    // A second machine whose runner is on A: a session made from B's client runs there.
    let code = enrollment_code(&node_a.addr, &cookie, "laptop").await;
    let laptop_dir = tempfile::tempdir().expect("dir");
    let laptop_runner = MachineRunner::start(
        laptop_dir.path(),
        &format!("http://{}", node_a.addr),
        Some(&code),
    );
    let laptop = wait_connected(&node_a.addr, &cookie, "laptop", true).await;
    let laptop_work = laptop_dir.path().join("work");
    std::fs::create_dir_all(&laptop_work).expect("work");
    let (mut b_projects, _) = common::code::connect_with_projects(&node_b.addr).await;
    let on_laptop = add_machine_project(
        &mut b_projects,
        &laptop_work.display().to_string(),
        &laptop.id,
    )
    .await
    .expect("added on B");
    let second = SessionId(uuid::Uuid::new_v4());
    let mut new = NewSession::defaults(AgentId::demo());
    new.project = Some(on_laptop.id);
    b_projects.say_with(second, "hello laptop", Some(new)).await;
    let answered = events_of(&until_turn_completed(&mut b_projects, second).await, second);
    assert_eq!(common::assistant_text(&answered), "Echo: hello laptop");
    assert_eq!(laptop_runner.agent_pids().len(), 1, "it ran on the laptop");

    // B dies mid-turn: the runner dials A, which takes the session over with its agent.
    a.say(session, "/slow 6", false).await;
    a.next_event(session, |event| {
        matches!(event, SessionEvent::AssistantDelta { .. }).then_some(())
    })
    .await;
    let b_addr = node_b.addr.clone();
    node_b.kill();
    tokio::time::timeout(TIMEOUT * 2, until_turn_completed(&mut a, session))
        .await
        .expect("the turn completes after the takeover");
    let log = stored_log(&url, session).await;
    for (i, (seq, _)) in log.iter().enumerate() {
        assert_eq!(*seq, Seq(i as u64 + 1), "gapless, nothing twice");
    }
    let second_turn: Vec<(Seq, SessionEvent)> = log
        .iter()
        .skip_while(
            |(_, e)| !matches!(e, SessionEvent::UserMessage { text, .. } if text == "/slow 6"),
        )
        .cloned()
        .collect();
    assert_eq!(
        streamed(&second_turn),
        ticks(6),
        "every word once, in order"
    );
    assert!(second_turn
        .iter()
        .any(|(_, e)| matches!(e, SessionEvent::TurnCompleted { .. })));

    // B back on its address; then A dies mid-turn and a Stop is sent to it from B just
    // after: B takes the session over (the runner dials B) and runs the Stop A never ran.
    let node_b = Server::start_full(
        dirs[1].path(),
        "",
        &[
            (DATABASE_URL_ENV, Some(url.as_str())),
            ("SWITCHBOARD_RUNNER", Some("detached")),
        ],
        &["--addr", &b_addr],
    );
    let (mut b, _) = Client::connect(&node_b).await;
    let stored = stored_log(&url, session).await;
    b.subscribe(session, stored.last().map_or(Seq(0), |(seq, _)| *seq))
        .await;
    b.say(session, "/slow 25", false).await;
    b.next_event(session, |event| {
        matches!(event, SessionEvent::AssistantDelta { text, .. } if text.starts_with("tick 1 "))
            .then_some(())
    })
    .await;
    node_a.kill();
    b.send(&switchboard::protocol::ClientFrame::Cancel { session, tag: None })
        .await;
    let stopped = tokio::time::timeout(TIMEOUT * 2, until_turn_completed(&mut b, session))
        .await
        .expect("the turn ends after the takeover");
    let reason = stopped.iter().find_map(|frame| match frame {
        ServerFrame::Event {
            event: SessionEvent::TurnCompleted { stop_reason, .. },
            ..
        } => Some(stop_reason.clone()),
        _ => None,
    });
    assert_eq!(
        reason.as_deref(),
        Some("cancelled"),
        "stopped, not run to its end"
    );
    let log = stored_log(&url, session).await;
    let third: Vec<(Seq, SessionEvent)> = log
        .iter()
        .skip_while(
            |(_, e)| !matches!(e, SessionEvent::UserMessage { text, .. } if text == "/slow 25"),
        )
        .cloned()
        .collect();
    let words = streamed(&third);
    assert!(
        ticks(25).starts_with(&words) && words.len() < ticks(25).len(),
        "a prefix, each word once: {words}"
    );
    node_b.stop();
}
