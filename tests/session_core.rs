//! The session core against the real server and demo agent processes: a message queued
//! behind a turn that failed runs next, and many sessions started at once all complete
//! with the default cap on live agents (the rest wait in line, they do not fail).

mod common;

use common::{errored, new_session, Client, Server};
use std::collections::HashSet;
use std::time::Duration;
use switchboard::protocol::{
    ClientFrame, ErrorCode, RequestId, RequestTag, ServerFrame, SessionEvent, SessionId,
    SessionState,
};

#[tokio::test]
async fn a_message_queued_behind_a_crashed_turn_runs_without_another_send() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let (mut client, _) = Client::connect(&server).await;
    let id = new_session();
    client.say(id, "/crash", true).await;
    client.first_delta().await;
    // Queued while the turn runs; the agent then exits mid-turn.
    client.say(id, "after the crash", false).await;
    // The crash is in the transcript; the queued message then runs at once (the session
    // goes from one turn to the next, so its state need not show the error).
    client
        .until(|f| matches!(f, ServerFrame::Event { session, event: SessionEvent::Error { .. }, .. } if *session == id))
        .await;
    let events = client.turn(id).await;
    let reply = common::assistant_text(&events);
    assert!(
        reply.contains("Echo: after the crash"),
        "the queued message ran: {reply:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_sessions_started_at_once_all_complete_with_the_default_cap() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Each turn streams for 2 s; 20 at once is more than the 8 live agents allowed.
    let server = Server::start(dir.path());
    let (mut client, _) = Client::connect(&server).await;
    let sessions: Vec<SessionId> = (0..20).map(|_| new_session()).collect();
    for id in &sessions {
        client.say(*id, "/slow 2", true).await;
    }
    let mut completed = HashSet::new();
    let mut waited = HashSet::new();
    while completed.len() < sessions.len() {
        let frame = client.recv_within(Duration::from_secs(60)).await;
        assert!(
            !sessions.iter().any(|id| errored(&frame, *id)),
            "no session fails for want of a slot: {frame:?}"
        );
        match frame {
            ServerFrame::Event {
                session,
                event: SessionEvent::TurnCompleted { stop_reason, .. },
                ..
            } => {
                assert_eq!(stop_reason, "end_turn");
                completed.insert(session);
            }
            ServerFrame::SessionUpdated { session, patch } => {
                if let Some(SessionState::WaitingForAgent { .. }) = patch.state {
                    waited.insert(session);
                }
            }
            _ => {}
        }
    }
    // (12 of them when all 20 arrive within a turn's 2 s, as they do on an idle machine.)
    assert!(
        !waited.is_empty(),
        "the sessions over the cap waited in line"
    );
}

#[tokio::test]
async fn an_error_names_the_request_it_refuses() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let (mut client, _) = Client::connect(&server).await;
    let id = new_session();
    client.say(id, "hello", true).await;
    client.turn(id).await;
    // A permission answer nobody asked for, tagged 7; then a Stop of a session nobody has.
    client
        .send(&ClientFrame::AnswerPermission {
            session: id,
            request_id: RequestId("nobody-asked".into()),
            option_id: "allow".into(),
            tag: Some(RequestTag(7)),
        })
        .await;
    let unknown = new_session();
    client
        .send(&ClientFrame::Cancel {
            session: unknown,
            tag: Some(RequestTag(8)),
        })
        .await;
    let mut refused = Vec::new();
    while refused.len() < 2 {
        if let ServerFrame::Error {
            session, tag, code, ..
        } = client.recv().await
        {
            refused.push((session, tag, code));
        }
    }
    assert_eq!(
        refused,
        [
            (Some(id), Some(RequestTag(7)), ErrorCode::InvalidState),
            (
                Some(unknown),
                Some(RequestTag(8)),
                ErrorCode::UnknownSession
            ),
        ]
    );
    // A frame that cannot be read has no request to name.
    client.send_text("{\"type\":\"cancel\"".into()).await;
    let frames = client
        .until(|f| matches!(f, ServerFrame::Error { .. }))
        .await;
    let frame = frames.last().expect("an error frame");
    assert!(
        matches!(
            frame,
            ServerFrame::Error {
                tag: None,
                code: ErrorCode::Malformed,
                ..
            }
        ),
        "{frame:?}"
    );
}

#[tokio::test]
async fn the_queue_behind_a_running_turn_is_capped_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let (mut client, _) = Client::connect(&server).await;
    let id = new_session();
    client.say(id, "/slow 30", true).await;
    client.first_delta().await;
    // 100 wait behind the running turn; the 101st is refused and says why.
    for n in 0..101u64 {
        client
            .send(&ClientFrame::Send {
                session: id,
                client_msg_id: switchboard::protocol::ClientMsgId(uuid::Uuid::new_v4()),
                text: format!("queued {n}"),
                attachments: vec![],
                create: None,
                tag: Some(RequestTag(n)),
            })
            .await;
    }
    let refused = loop {
        if let ServerFrame::Error {
            tag: Some(tag),
            code,
            message,
            ..
        } = client.recv().await
        {
            break (tag, code, message);
        }
    };
    assert_eq!(refused.0, RequestTag(100), "only the 101st is refused");
    assert_eq!(refused.1, ErrorCode::LimitReached);
    assert!(
        refused.2.contains("100 messages already wait"),
        "{}",
        refused.2
    );
    client
        .send(&ClientFrame::Cancel {
            session: id,
            tag: None,
        })
        .await;
}
