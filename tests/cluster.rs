//! Several server nodes on one PostgreSQL database (run in the suite's PostgreSQL pass,
//! skipped on SQLite): two real `switchboard serve` processes with their own data dirs
//! standing in for two hosts, a real WebSocket client on each. A session driven by one
//! node is live on the other, takes commands from either, and outlives its node.

mod common;

use common::{events_of, Client, Server, TIMEOUT};
use std::path::Path;
use switchboard::protocol::{
    AgentId, ClientFrame, ClientMsgId, NewSession, Seq, ServerFrame, SessionEvent, SessionId,
    SessionState,
};
use switchboard::server::config::DATABASE_URL_ENV;

/// A fresh database for a cluster, or `None` (skipped) when the suite runs on SQLite.
fn cluster_database() -> Option<String> {
    if !common::on_postgres() {
        eprintln!("PostgreSQL only: several nodes share a PostgreSQL database");
        return None;
    }
    let key = format!("cluster-{}", uuid::Uuid::new_v4());
    Some(switchboard::server::db::testing::postgres_url_blocking(&key).expect("the test cluster"))
}

/// A node on `url` with its own data dir (agents in the server: nothing outlives a kill),
/// allowed to run agents in `code`: the folder both "hosts" see, as a shared checkout.
fn node(data_dir: &Path, url: &str, code: &Path) -> Server {
    Server::start_with_env(
        data_dir,
        &format!("[server]\nroots = [\"{}\"]\n", code.display()),
        &[
            (DATABASE_URL_ENV, Some(url)),
            ("SWITCHBOARD_RUNNER", Some("embedded")),
        ],
    )
}

/// The session's stored log.
async fn stored_log(url: &str, session: SessionId) -> Vec<(Seq, SessionEvent)> {
    let db = switchboard::server::db::Db::connect_postgres(url)
        .await
        .expect("connects");
    db.events_since(session, Seq(0))
        .await
        .expect("reads")
        .into_iter()
        .map(|logged| (logged.seq, logged.event))
        .collect()
}

/// Everything `client` was sent about `session` until the session is idle after a
/// completed turn, as (seq, event) pairs, each seq once.
async fn until_idle(client: &mut Client, session: SessionId) -> Vec<(Seq, SessionEvent)> {
    let frames = client
        .until(|frame| {
            matches!(frame, ServerFrame::Event {
                session: s,
                event: SessionEvent::StateChanged { state: SessionState::Idle },
                ..
            } if *s == session)
        })
        .await;
    events_of(&frames, session)
}

#[tokio::test]
async fn a_session_driven_by_one_node_is_live_on_the_other_and_obeys_both() {
    let Some(url) = cluster_database() else {
        return;
    };
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let code = tempfile::tempdir().expect("dir");
    let node_a = node(dir_a.path(), &url, code.path());
    let node_b = node(dir_b.path(), &url, code.path());
    let (mut a, _) = Client::connect(&node_a).await;
    let (mut b, _) = Client::connect(&node_b).await;

    // Made on A: B's client is told, and subscribes.
    let session = SessionId(uuid::Uuid::new_v4());
    a.say(session, "/slow 2", true).await;
    let announced = b
        .until(
            |frame| matches!(frame, ServerFrame::SessionCreated { session: s } if s.id == session),
        )
        .await;
    assert!(!announced.is_empty());
    b.subscribe(session, Seq(0)).await;
    let mut seen_by_a = until_idle(&mut a, session).await;
    let mut seen_by_b = until_idle(&mut b, session).await;

    // Sent from B, run by A (forwarded through the database), seen live by both.
    b.send(&ClientFrame::Send {
        session,
        client_msg_id: ClientMsgId(uuid::Uuid::new_v4()),
        text: "hello from the other node".into(),
        attachments: Vec::new(),
        create: None,
        tag: None,
    })
    .await;
    seen_by_a.extend(until_idle(&mut a, session).await);
    seen_by_b.extend(until_idle(&mut b, session).await);

    let log = stored_log(&url, session).await;
    let dedup = |events: Vec<(Seq, SessionEvent)>| {
        let mut events = events;
        events.dedup_by_key(|(seq, _)| *seq);
        events
    };
    assert_eq!(dedup(seen_by_a.clone()), seen_by_a, "A saw no event twice");
    let seqs: Vec<u64> = seen_by_b.iter().map(|(s, _)| s.0).collect();
    assert_eq!(
        dedup(seen_by_b.clone()),
        seen_by_b,
        "B saw no event twice: {seqs:?}"
    );
    assert_eq!(seen_by_a, log, "A's client holds the log");
    assert_eq!(seen_by_b, log, "B's client holds the log");
    let users = log
        .iter()
        .filter(|(_, e)| matches!(e, SessionEvent::UserMessage { .. }))
        .count();
    assert_eq!(users, 2, "both messages ran");

    // A rename on B reaches A; ending it on B removes it on A.
    b.send(&ClientFrame::Rename {
        session,
        title: "renamed on B".into(),
        tag: None,
    })
    .await;
    a.until(|frame| matches!(frame, ServerFrame::SessionUpdated { session: s, patch } if *s == session && patch.title.as_deref() == Some("renamed on B")))
        .await;
    b.send(&ClientFrame::Archive {
        session,
        worktree: None,
        discard_unmerged: false,
        tag: None,
    })
    .await;
    a.until(|frame| matches!(frame, ServerFrame::SessionRemoved { session: s } if *s == session))
        .await;
    node_a.stop();
    node_b.stop();
}

#[tokio::test]
async fn a_killed_node_s_sessions_are_taken_over_and_go_on() {
    let Some(url) = cluster_database() else {
        return;
    };
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let code = tempfile::tempdir().expect("dir");
    let node_a = node(dir_a.path(), &url, code.path());
    let node_b = node(dir_b.path(), &url, code.path());
    let (mut a, _) = Client::connect(&node_a).await;
    let (mut b, _) = Client::connect(&node_b).await;

    // In the shared folder: the node taking it over may run its agent there.
    let session = SessionId(uuid::Uuid::new_v4());
    let mut new = NewSession::defaults(AgentId::demo());
    new.cwd = Some(code.path().display().to_string());
    a.say_with(session, "/slow 30", Some(new)).await;
    b.until(|frame| matches!(frame, ServerFrame::SessionCreated { session: s } if s.id == session))
        .await;
    b.subscribe(session, Seq(0)).await;
    // Mid-turn: a streamed delta has reached B through the database.
    b.next_event(session, |event| {
        matches!(event, SessionEvent::AssistantDelta { .. }).then_some(())
    })
    .await;
    node_a.kill();

    // B takes the session over once A's lease runs out: the turn it was running there is
    // not "working" forever.
    let deadline = std::time::Instant::now() + TIMEOUT * 2;
    loop {
        let frame = b.recv_within(TIMEOUT * 2).await;
        if let ServerFrame::SessionUpdated { session: s, patch } = &frame {
            if *s == session && matches!(&patch.state, Some(state) if !state.is_busy()) {
                break;
            }
        }
        assert!(std::time::Instant::now() < deadline, "never taken over");
    }
    // And it goes on, driven by B.
    b.say(session, "after the takeover", false).await;
    b.turn(session).await;
    let log = stored_log(&url, session).await;
    for (i, (seq, _)) in log.iter().enumerate() {
        assert_eq!(*seq, Seq(i as u64 + 1), "gapless, nothing twice");
    }
    let last_user = log.iter().rev().find_map(|(_, e)| match e {
        SessionEvent::UserMessage { text, .. } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(last_user.as_deref(), Some("after the takeover"));
    node_b.stop();
}
