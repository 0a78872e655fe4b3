//! Integration tests: the real server binary on port 0, real demo-agent child processes,
//! a real SQLite file, and a real WebSocket client. Run with `cargo test --features ssr`.

mod common;

use common::{
    assistant_text, events_of, get, http, new_session, Client, Server, TEST_TOKEN, TIMEOUT,
};
use std::time::{Duration, Instant};
use switchboard::protocol::{
    AgentId, ClientFrame, ErrorCode, NewSession, RequestId, Seq, ServerFrame, SessionEvent,
    SessionId, SessionState,
};

fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn is_turn_end(frame: &ServerFrame, session: SessionId) -> bool {
    matches!(frame, ServerFrame::Event { session: s, event: SessionEvent::TurnCompleted { .. }, .. } if *s == session)
}

#[tokio::test]
async fn two_sessions_stream_at_once_without_cross_talk() {
    let dir = data_dir();
    let server = Server::start(dir.path());
    let (mut client, sessions) = Client::connect(&server).await;
    assert!(sessions.is_empty());
    let (a, b) = (new_session(), new_session());
    client.say(a, "alpha one two three", true).await;
    client.say(b, "beta four five six", true).await;
    let (mut a_done, mut b_done) = (false, false);
    let frames = client
        .until(|f| {
            a_done |= is_turn_end(f, a);
            b_done |= is_turn_end(f, b);
            a_done && b_done
        })
        .await;
    for (session, text) in [
        (a, "Echo: alpha one two three"),
        (b, "Echo: beta four five six"),
    ] {
        let events = events_of(&frames, session);
        assert_eq!(assistant_text(&events), text);
        let deltas = events
            .iter()
            .filter(|(_, e)| matches!(e, SessionEvent::AssistantDelta { .. }))
            .count();
        assert!(deltas >= 3, "streamed in {deltas} chunks");
        let seqs: Vec<u64> = events.iter().map(|(seq, _)| seq.0).collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "gapless, ordered seqs"
        );
    }
    // Both were created and are listed, with usage from the demo agent's word counts. After
    // its TurnCompleted the session publishes its usage total, then stores its idle state:
    // wait for that before listing.
    let idle_a = |f: &ServerFrame| matches!(f, ServerFrame::Event { session: s, event: SessionEvent::StateChanged { state: SessionState::Idle }, .. } if *s == a);
    let a_ended = frames
        .iter()
        .position(|f| is_turn_end(f, a))
        .expect("a's turn ended");
    if !frames[a_ended..].iter().any(idle_a) {
        client.until(idle_a).await;
    }
    let (_, sessions) = Client::connect(&server).await;
    assert_eq!(sessions.len(), 2);
    let listed = sessions
        .iter()
        .find(|s| s.id == a)
        .expect("session a listed");
    assert_eq!(listed.title, "alpha one two three");
    assert_eq!(listed.usage.input_tokens, 4);
    assert_eq!(listed.state, SessionState::Idle);
    // What the clients saw is exactly what was stored.
    let db = common::open_db(dir.path()).await;
    let stored = db.events_since(a, Seq(0)).await.expect("log reads");
    let seen = events_of(&frames, a);
    // The client stopped at TurnCompleted; the log may already hold the idle state after it.
    assert!(stored.len() >= seen.len());
    assert!(stored[seen.len()..]
        .iter()
        .all(|s| matches!(s.event, SessionEvent::StateChanged { .. })));
    assert!(stored
        .iter()
        .zip(&seen)
        .all(|(s, (seq, e))| s.seq == *seq && s.event == *e));
}

#[tokio::test]
async fn unknown_session_gets_an_error_and_nothing_is_stored() {
    let dir = data_dir();
    let server = Server::start(dir.path());
    let (mut client, _) = Client::connect(&server).await;
    let ghost = new_session();
    client.say(ghost, "hello?", false).await;
    match client.recv().await {
        ServerFrame::Error { session, code, .. } => {
            assert_eq!(session, Some(ghost));
            assert_eq!(code, ErrorCode::UnknownSession);
        }
        other => panic!("expected an error, got {other:?}"),
    }
    client
        .send(&ClientFrame::Subscribe {
            session: ghost,
            since: Seq(0),
            tail_turns: None,
            tag: None,
        })
        .await;
    assert!(matches!(
        client.recv().await,
        ServerFrame::Error {
            code: ErrorCode::UnknownSession,
            ..
        }
    ));
    client
        .send(&ClientFrame::Cancel {
            session: ghost,
            tag: None,
        })
        .await;
    assert!(matches!(
        client.recv().await,
        ServerFrame::Error {
            code: ErrorCode::UnknownSession,
            ..
        }
    ));
    let db = common::open_db(dir.path()).await;
    assert!(db.session(ghost).await.expect("query").is_none());
    assert!(db
        .events_since(ghost, Seq(0))
        .await
        .expect("query")
        .is_empty());
}

#[tokio::test]
async fn malformed_frames_get_errors_and_oversized_ones_close_the_socket_saying_why() {
    let dir = data_dir();
    let server = Server::start(dir.path());
    let (mut client, _) = Client::connect(&server).await;
    client.send_text("this is not json".into()).await;
    assert!(matches!(
        client.recv().await,
        ServerFrame::Error {
            code: ErrorCode::Malformed,
            ..
        }
    ));
    client
        .send_text(r#"{"type":"launch_missiles"}"#.into())
        .await;
    assert!(matches!(
        client.recv().await,
        ServerFrame::Error {
            code: ErrorCode::Malformed,
            ..
        }
    ));
    client.send(&ClientFrame::Ping).await;
    assert_eq!(client.recv().await, ServerFrame::Pong);
    // An oversized frame is refused from its header: the socket says why, closes with
    // 1009, and a new socket works.
    let (frames, close) = client
        .send_refused(format!(
            r#"{{"type":"ping","pad":"{}"}}"#,
            "x".repeat(2 * 1024 * 1024)
        ))
        .await;
    assert!(
        frames.iter().any(|f| matches!(
            f,
            ServerFrame::Error {
                code: ErrorCode::TooLarge,
                ..
            }
        )),
        "{frames:?}"
    );
    assert_eq!(close, Some(1009));
    let (mut client, _) = Client::connect(&server).await;
    // And it still does real work.
    let session = new_session();
    client.say(session, "still here", true).await;
    let frames = client.until(|f| is_turn_end(f, session)).await;
    assert_eq!(
        assistant_text(&events_of(&frames, session)),
        "Echo: still here"
    );
}

#[tokio::test]
async fn a_crashing_agent_shows_its_stderr_and_the_next_message_restarts_it() {
    let dir = data_dir();
    let server = Server::start(dir.path());
    let (mut client, _) = Client::connect(&server).await;
    let session = new_session();
    client.say(session, "/crash", true).await;
    let (mut event, mut state) = (false, false);
    let frames = client
        .until(|f| {
            event |= matches!(f, ServerFrame::Event { event: SessionEvent::Error { .. }, .. });
            state |= matches!(f, ServerFrame::SessionUpdated { patch, .. } if matches!(patch.state, Some(SessionState::Error { .. })));
            event && state
        })
        .await;
    let error = events_of(&frames, session)
        .into_iter()
        .find_map(|(_, e)| match e {
            SessionEvent::Error { message, detail } => Some((message, detail)),
            _ => None,
        });
    let (message, detail) = error.expect("an error event");
    assert!(message.contains("status 3"), "{message}");
    assert!(detail.unwrap_or_default().contains("crashing on purpose"));
    client.say(session, "are you back", false).await;
    let frames = client.until(|f| is_turn_end(f, session)).await;
    assert_eq!(
        assistant_text(&events_of(&frames, session)),
        "Echo: are you back"
    );
}

#[tokio::test]
async fn end_session_while_working_kills_the_process_group_and_archives() {
    let dir = data_dir();
    let server = Server::start(dir.path());
    let (mut client, _) = Client::connect(&server).await;
    let session = new_session();
    client.say(session, "/slow 30", true).await;
    client.first_delta().await;
    let pids = server.agent_pids();
    assert_eq!(pids.len(), 1, "one demo agent runs: {pids:?}");
    client
        .send(&ClientFrame::Archive {
            session,
            worktree: None,
            discard_unmerged: false,
            tag: None,
        })
        .await;
    client
        .until(|f| matches!(f, ServerFrame::SessionRemoved { session: s } if *s == session))
        .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::path::Path::new(&format!("/proc/{}", pids[0])).exists() {
        assert!(Instant::now() < deadline, "agent {} still alive", pids[0]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let db = common::open_db(dir.path()).await;
    let stored = db
        .session(session)
        .await
        .expect("query")
        .expect("still stored");
    assert_eq!(stored.state, SessionState::Archived);
    let (_, sessions) = Client::connect(&server).await;
    assert!(
        sessions.iter().all(|s| s.id != session),
        "archived sessions are not listed"
    );
}

#[tokio::test]
async fn stop_cancels_a_running_turn_and_the_session_goes_idle() {
    let dir = data_dir();
    let server = Server::start(dir.path());
    let (mut client, _) = Client::connect(&server).await;
    let session = new_session();
    client.say(session, "/slow 30", true).await;
    client.first_delta().await;
    let started = Instant::now();
    client
        .send(&ClientFrame::Cancel { session, tag: None })
        .await;
    // The event and the state patch travel on different channels, so either may come first.
    let (mut ended, mut idle) = (false, false);
    let frames = client
        .until(|f| {
            ended |= is_turn_end(f, session);
            idle |= matches!(f, ServerFrame::SessionUpdated { patch, .. } if patch.state == Some(SessionState::Idle));
            ended && idle
        })
        .await;
    assert!(started.elapsed() < TIMEOUT);
    let stop_reason = events_of(&frames, session)
        .into_iter()
        .find_map(|(_, e)| match e {
            SessionEvent::TurnCompleted { stop_reason, .. } => Some(stop_reason),
            _ => None,
        });
    assert_eq!(stop_reason.as_deref(), Some("cancelled"));
}

#[tokio::test]
async fn permission_allow_writes_the_file_and_deny_does_not() {
    for (option, writes) in [("allow", true), ("deny", false)] {
        let dir = data_dir();
        let server = Server::start(dir.path());
        let (mut client, _) = Client::connect(&server).await;
        let session = new_session();
        client.say(session, "/permission", true).await;
        let frames = client
            .until(|f| {
                matches!(
                    f,
                    ServerFrame::Event {
                        event: SessionEvent::PermissionRequested { .. },
                        ..
                    }
                )
            })
            .await;
        let request_id: RequestId = events_of(&frames, session)
            .into_iter()
            .find_map(|(_, e)| match e {
                SessionEvent::PermissionRequested { request_id, .. } => Some(request_id),
                _ => None,
            })
            .expect("a permission request");
        client
            .send(&ClientFrame::AnswerPermission {
                session,
                request_id,
                option_id: option.into(),
                tag: None,
            })
            .await;
        client.until(|f| is_turn_end(f, session)).await;
        // The session names no project: it runs in the Playground.
        assert_eq!(
            dir.path().join("playground/demo.txt").exists(),
            writes,
            "option {option}"
        );
    }
}

#[tokio::test]
async fn history_survives_agent_and_server_restarts() {
    let dir = data_dir();
    let session = new_session();
    {
        let server = Server::start(dir.path());
        let (mut client, _) = Client::connect(&server).await;
        client.say(session, "the very first prompt", true).await;
        client.turn(session).await;
        // Kill the agent process; the next message starts a new one that loads the session.
        client.say(session, "/crash", false).await;
        client
            .until(|f| {
                matches!(
                    f,
                    ServerFrame::Event {
                        event: SessionEvent::Error { .. },
                        ..
                    }
                )
            })
            .await;
        client.say(session, "/history", false).await;
        let events = client.turn(session).await;
        assert_eq!(
            assistant_text(&events),
            "This conversation has 2 earlier prompt(s). The first was: the very first prompt"
        );
        server.stop();
    }
    let server = Server::start(dir.path());
    let (mut client, sessions) = Client::connect(&server).await;
    let listed = sessions
        .iter()
        .find(|s| s.id == session)
        .expect("listed after restart");
    client
        .send(&ClientFrame::Subscribe {
            session,
            since: listed.last_seq,
            tail_turns: None,
            tag: None,
        })
        .await;
    client.say(session, "/history", false).await;
    let events = client.turn(session).await;
    assert_eq!(
        assistant_text(&events),
        "This conversation has 3 earlier prompt(s). The first was: the very first prompt"
    );
}

#[tokio::test]
async fn a_server_killed_mid_turn_restarts_with_the_session_interrupted_and_it_continues() {
    // With agents in the server's own process (`runner.mode = "embedded"`), they die with
    // it; tests/runner.rs shows the detached default keeping the turn.
    let dir = data_dir();
    let session = new_session();
    let embedded = [("SWITCHBOARD_RUNNER", Some("embedded"))];
    {
        let server = Server::start_with_env(dir.path(), "", &embedded);
        let (mut client, _) = Client::connect(&server).await;
        client.say(session, "/slow 30", true).await;
        client.first_delta().await;
        server.kill();
    }
    let server = Server::start_with_env(dir.path(), "", &embedded);
    let (mut client, sessions) = Client::connect(&server).await;
    let listed = sessions
        .iter()
        .find(|s| s.id == session)
        .expect("listed after the crash");
    assert!(
        matches!(listed.state, SessionState::Interrupted { .. }),
        "{:?}",
        listed.state
    );
    client.subscribe(session, Seq(0)).await;
    let notice = client
        .next_event(session, |event| match event {
            SessionEvent::Notice { message } => Some(message.clone()),
            _ => None,
        })
        .await;
    assert!(notice.contains("interrupted"), "{notice}");
    // The agent's conversation resumes: it remembers the interrupted prompt.
    client.say(session, "/history", false).await;
    let events = client.turn(session).await;
    assert_eq!(
        assistant_text(&events),
        "This conversation has 1 earlier prompt(s). The first was: /slow 30"
    );
}

#[tokio::test]
async fn a_resent_message_makes_one_turn_even_across_a_server_restart() {
    let dir = data_dir();
    let session = new_session();
    let message = ClientFrame::Send {
        session,
        client_msg_id: switchboard::protocol::ClientMsgId(uuid::Uuid::new_v4()),
        text: "only once".into(),
        attachments: vec![],
        create: Some(NewSession::defaults(AgentId::demo())),
        tag: None,
    };
    {
        let server = Server::start(dir.path());
        let (mut client, _) = Client::connect(&server).await;
        client.send(&message).await;
        client.send(&message).await;
        client.turn(session).await;
        server.stop();
    }
    let server = Server::start(dir.path());
    let (mut client, _) = Client::connect(&server).await;
    client.send(&message).await;
    client.send(&ClientFrame::Ping).await;
    let frames = client.until(|f| *f == ServerFrame::Pong).await;
    assert!(
        !frames
            .iter()
            .any(|f| matches!(f, ServerFrame::Error { .. })),
        "a resend is accepted silently: {frames:?}"
    );
    let db = common::open_db(dir.path()).await;
    let log = db.events_since(session, Seq(0)).await.expect("log reads");
    let users = log
        .iter()
        .filter(|e| matches!(e.event, SessionEvent::UserMessage { .. }))
        .count();
    let turns = log
        .iter()
        .filter(|e| matches!(e.event, SessionEvent::TurnStarted { .. }))
        .count();
    assert_eq!((users, turns), (1, 1));
}

#[tokio::test]
async fn an_image_sent_alone_names_the_session_after_the_image() {
    let dir = data_dir();
    let server = Server::start(dir.path());
    let (mut client, _) = Client::connect(&server).await;
    let session = new_session();
    let demo = NewSession::defaults(AgentId::demo());
    client
        .say_with_image(session, "  ", "failing-test.png", demo)
        .await;
    let frames = client
        .until(|f| matches!(f, ServerFrame::SessionCreated { session: s } if s.id == session))
        .await;
    let Some(ServerFrame::SessionCreated { session: created }) = frames.last() else {
        panic!("no SessionCreated in {frames:?}");
    };
    // The same title the browser shows at once (protocol::first_message_title).
    assert_eq!(created.title, "failing-test.png");
}

/// The demo agent's made-up price (SWITCHBOARD_DEMO_USD_PER_TOKEN, per word) makes each
/// turn's cost deterministic: the turn reports it, and the session adds it up.
#[tokio::test]
async fn each_demo_turn_reports_its_cost_and_the_session_adds_them_up() {
    let dir = data_dir();
    let env = [("SWITCHBOARD_DEMO_USD_PER_TOKEN", Some("0.001"))];
    let server = Server::start_with_env(dir.path(), "", &env);
    let (mut client, _) = Client::connect(&server).await;
    let session = new_session();
    let cost = |events: &[(Seq, SessionEvent)]| {
        events.iter().find_map(|(_, e)| match e {
            SessionEvent::TurnCompleted { usage, .. } => usage.cost_usd,
            _ => None,
        })
    };
    // 2 words in, 3 out ("Echo: hello there"): 5 x $0.001.
    client.say(session, "hello there", true).await;
    let first = cost(&client.turn(session).await).expect("a cost");
    assert!((first - 0.005).abs() < 1e-9, "{first}");
    // The next turn's own cost, not the running total: 1 in, 2 out.
    client.say(session, "again", false).await;
    let second = cost(&client.turn(session).await).expect("a cost");
    assert!((second - 0.003).abs() < 1e-9, "{second}");
    // The total follows the turn's end as a patch; a new connection then lists it.
    let adds_up = |patch: &switchboard::protocol::SessionPatch| {
        patch
            .usage
            .and_then(|u| u.cost_usd)
            .is_some_and(|total| (total - 0.008).abs() < 1e-9)
    };
    client
        .until(|f| matches!(f, ServerFrame::SessionUpdated { session: s, patch } if *s == session && adds_up(patch)))
        .await;
    let (_, sessions) = Client::connect(&server).await;
    let total = sessions
        .iter()
        .find(|s| s.id == session)
        .and_then(|s| s.usage.cost_usd)
        .expect("a total");
    assert!((total - 0.008).abs() < 1e-9, "{total}");
}

#[tokio::test]
async fn a_session_page_carries_its_pane_for_the_browser_to_adopt() {
    // The browser goes live without the pane's code and adopts this markup
    // (`components::conversation_route`), so the server must render the pane whole.
    let dir = data_dir();
    let server = Server::start(dir.path());
    let (mut client, _) = Client::connect(&server).await;
    let session = new_session();
    client.say(session, "hello page", true).await;
    client.turn(session).await;
    let addr = server.addr.clone();
    let auth = format!("Authorization: Bearer {TEST_TOKEN}\r\n");
    let (status, page) = http(&addr, &get(&format!("/s/{session}"), &addr, &auth)).await;
    assert_eq!(status, 200, "{page}");
    let host = page
        .find(r#"<div class="pane-host">"#)
        .expect("the pane's host");
    let pane = &page[host..];
    assert!(
        pane.contains(&format!(r#"data-session-id="{session}""#)),
        "{pane}"
    );
    assert!(
        pane.contains(r#"data-testid="chat-input""#),
        "its composer: {pane}"
    );
    // The head holds Enter and Send until the browser built the pane.
    assert!(page.contains("data-send-asked"), "{page}");
}
