//! Bad agents and bad input lose nothing and leave the server serving: a missing agent
//! binary, an agent that prints garbage and never answers, and an oversized message.

mod common;

use common::{new_session, Client, Server};
use std::time::{Duration, Instant};
use switchboard::protocol::{
    AgentId, ClientFrame, ClientMsgId, ErrorCode, NewSession, Seq, ServerFrame, SessionEvent,
    SessionState,
};

/// An agent whose program is missing is refused when the session is created, with the
/// reason and how to install it: never a session stuck in Starting.
#[tokio::test]
async fn a_missing_agent_is_refused_at_create_with_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with_env(
        dir.path(),
        "[agents.demo]\ncommand = [\"/nonexistent/switchboard-agent\"]\n",
        &[
            ("PATH", Some("/usr/bin:/bin")),
            ("SWITCHBOARD_CODEX_BIN", None),
        ],
    );
    let (mut client, _) = Client::connect(&server).await;
    for (agent, expected) in [
        (AgentId::demo(), "switchboard-agent"),
        (AgentId("codex".into()), "/agents @openai/codex@0.169.0"),
    ] {
        let session = new_session();
        client
            .send(&ClientFrame::Send {
                session,
                client_msg_id: ClientMsgId(uuid::Uuid::new_v4()),
                text: "hello".into(),
                attachments: vec![],
                create: Some(NewSession::defaults(agent)),
                tag: None,
            })
            .await;
        let frames = client
            .until(|f| matches!(f, ServerFrame::Error { .. }))
            .await;
        let Some(ServerFrame::Error { message, code, .. }) = frames.last() else {
            unreachable!()
        };
        assert_eq!(*code, ErrorCode::NotAllowed);
        assert!(message.contains("is not installed"), "{message}");
        assert!(message.contains(expected), "{message}");
    }
    let (_, sessions) = Client::connect(&server).await;
    assert!(sessions.is_empty(), "nothing was created");
}

/// A program that disappears after the server found it: the session shows why in Error,
/// and the user's message is kept.
#[tokio::test]
async fn an_agent_program_gone_after_start_is_a_clear_error_and_the_message_is_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = dir.path().join("vanishing-agent");
    std::fs::write(&program, "").expect("placeholder");
    let server = Server::start_with_config(
        dir.path(),
        &format!("[agents.demo]\ncommand = [\"{}\"]\n", program.display()),
    );
    std::fs::remove_file(&program).expect("removed");
    let (mut client, _) = Client::connect(&server).await;
    let session = new_session();
    client.say(session, "hello", true).await;
    let frames = client.until(|f| common::errored(f, session)).await;
    let message = frames
        .iter()
        .find_map(|f| common::error_message(f, session))
        .expect("an error state");
    assert!(message.contains("could not be started"), "{message}");
    assert!(message.contains("vanishing-agent"), "{message}");
    let db = common::open_db(dir.path()).await;
    let log = db.events_since(session, Seq(0)).await.expect("log reads");
    assert!(matches!(&log[0].event, SessionEvent::UserMessage { text, .. } if text == "hello"));
    assert!(log
        .iter()
        .any(|e| matches!(e.event, SessionEvent::Error { .. })));
}

#[tokio::test]
async fn an_agent_that_prints_garbage_is_reported_stopped_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Not an ACP agent: garbage, invalid UTF-8, then silence.
    let server = Server::start_with_config(
        dir.path(),
        "[limits]\nagent_start_secs = 2\n[agents.demo]\ncommand = [\"sh\", \"-c\", \"echo 'this is not json'; printf '\\\\377\\\\376 bad\\\\n'; exec sleep 60\"]\n",
    );
    let (mut client, _) = Client::connect(&server).await;
    let session = new_session();
    client.say(session, "hello", true).await;
    let frames = client.until(|f| common::errored(f, session)).await;
    let notices: Vec<String> = frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Event {
                event: SessionEvent::Notice { message },
                ..
            } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert!(notices.iter().any(|n| n.contains("not ACP")), "{notices:?}");
    assert!(
        notices.iter().any(|n| n.contains("not UTF-8")),
        "{notices:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.agent_pids().is_empty() {
        assert!(Instant::now() < deadline, "the stuck agent was not killed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The server still answers (after the state patch that follows the stored change).
    client.send(&ClientFrame::Ping).await;
    client.until(|f| *f == ServerFrame::Pong).await;
}

/// An agent in the middle of a conversation prints a 10 MB line, bytes that are not
/// UTF-8 and JSON nested 64 deep, then markup: each bad line is reported as a notice, the
/// markup arrives as plain text, and the session and server go on.
#[tokio::test]
async fn abusive_agent_output_is_reported_not_fatal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let (mut client, _) = Client::connect(&server).await;
    let session = new_session();
    client.say(session, "hello", true).await;
    client.turn(session).await;
    client.say(session, "/abuse", false).await;
    let events = client.turn(session).await;
    let notices: Vec<&String> = events
        .iter()
        .filter_map(|(_, e)| match e {
            SessionEvent::Notice { message } => Some(message),
            _ => None,
        })
        .collect();
    assert!(
        notices.iter().any(|n| n.contains("longer than")),
        "{notices:?}"
    );
    assert!(
        notices.iter().any(|n| n.contains("not UTF-8")),
        "{notices:?}"
    );
    assert!(notices.iter().any(|n| n.contains("not ACP")), "{notices:?}");
    assert_eq!(
        common::assistant_text(&events),
        switchboard::server::demo_agent::ABUSE_MARKUP
    );
    client.say(session, "still there?", false).await;
    let events = client.turn(session).await;
    assert!(common::assistant_text(&events).contains("Echo: still there?"));
    assert_eq!(server.agent_pids().len(), 1, "the same agent answers");
}

#[tokio::test]
async fn an_oversized_message_is_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let (mut client, _) = Client::connect(&server).await;
    let session = new_session();
    client.say(session, &"x".repeat(300 * 1024), true).await;
    match client.recv().await {
        ServerFrame::Error {
            code,
            session: s,
            message,
            ..
        } => {
            assert_eq!(code, ErrorCode::TooLarge);
            assert_eq!(s, Some(session));
            assert!(message.contains("limit"), "{message}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    let db = common::open_db(dir.path()).await;
    assert!(db.session(session).await.expect("query").is_none());
}

#[tokio::test]
async fn a_turn_that_goes_silent_is_stopped_by_the_watchdog_and_the_session_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with_config(
        dir.path(),
        "[limits]\nturn_silence_secs = 1\ncancel_step_secs = 1\n",
    );
    let (mut client, _) = Client::connect(&server).await;
    let session = new_session();
    // /hang says one thing, then nothing, and ignores the protocol cancel, SIGINT and
    // SIGTERM: only the last step of the ladder, SIGKILL, ends it, and that is still a stop,
    // not a crash.
    client.say(session, "/hang", true).await;
    let started = Instant::now();
    let (mut noticed, mut ended, mut idle) = (false, false, false);
    let frames = client
        .until(|f| {
            noticed |= matches!(f, ServerFrame::Event { event: SessionEvent::Notice { message }, .. } if message.contains("sent nothing"));
            ended |= matches!(f, ServerFrame::Event { event: SessionEvent::TurnCompleted { stop_reason, .. }, .. } if stop_reason == "cancelled");
            idle |= matches!(f, ServerFrame::SessionUpdated { patch, .. } if patch.state == Some(SessionState::Idle));
            noticed && ended && idle
        })
        .await;
    let notices = frames
        .iter()
        .filter(|f| {
            matches!(
                f,
                ServerFrame::Event {
                    event: SessionEvent::Notice { .. },
                    ..
                }
            )
        })
        .count();
    assert_eq!(
        notices, 1,
        "one stop, announced once, even though it took the whole ladder"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped in {:?}",
        started.elapsed()
    );
    assert!(!frames.iter().any(|f| matches!(
        f,
        ServerFrame::Event {
            event: SessionEvent::Error { .. },
            ..
        }
    )));
    client.say(session, "still with me", false).await;
    let events = client.turn(session).await;
    assert_eq!(common::assistant_text(&events), "Echo: still with me");
}
