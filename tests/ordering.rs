//! One ordered stream per session: a client never sees a session become idle before the
//! last event of the turn that ran, live (with a reader slow enough to make the server's
//! writer back up, and a reconnect in the middle) or on a replay of the log.

mod common;

use common::{new_session, Client, Server};
use std::collections::HashMap;
use std::time::Duration;
use switchboard::protocol::{
    AgentId, ClientFrame, ClientId, ClientMsgId, NewSession, ResumePoint, Seq, ServerFrame,
    SessionEvent, SessionId, SessionState,
};

const SESSIONS: usize = 5;
const TURNS_PER_SESSION: usize = 100;

/// What a client has seen of one session's turns, and every order fault found.
#[derive(Default)]
struct TurnOrder {
    started: u64,
    completed: u64,
    last_seq: Seq,
    /// Said idle after every turn completed: the session is done.
    settled: bool,
    faults: Vec<String>,
    /// Error frames about the session (none expected; shown with a fault, since one that
    /// ends a subscription would explain it).
    errors: Vec<String>,
}

impl TurnOrder {
    fn event(&mut self, seq: Seq, event: &SessionEvent) {
        if seq <= self.last_seq {
            return; // a replay overlapping what this client holds
        }
        self.last_seq = seq;
        match event {
            SessionEvent::TurnStarted { .. } => self.started += 1,
            SessionEvent::TurnCompleted { .. } => self.completed += 1,
            SessionEvent::StateChanged { state } => self.state(state, "event"),
            _ => {}
        }
    }

    /// The session is said to be in `state`: idle must not come before the running turn's
    /// last event.
    fn state(&mut self, state: &SessionState, how: &str) {
        if *state == SessionState::Idle && self.completed as usize == TURNS_PER_SESSION {
            self.settled = true;
        }
        if *state == SessionState::Idle && self.started > self.completed {
            self.faults.push(format!(
                "idle ({how}) after seq {} with {} turns started and {} completed",
                self.last_seq.0, self.started, self.completed
            ));
        }
    }
}

/// Reads one frame into the per-session records; returns false for frames of no session.
fn record(orders: &mut HashMap<SessionId, TurnOrder>, frame: &ServerFrame) {
    match frame {
        ServerFrame::Event {
            session,
            seq,
            event,
        } => orders.entry(*session).or_default().event(*seq, event),
        ServerFrame::HistoryStart {
            session, events, ..
        } => {
            let order = orders.entry(*session).or_default();
            for logged in events {
                order.event(logged.seq, &logged.event);
            }
        }
        ServerFrame::SessionUpdated { session, patch, .. } => {
            if let Some(state) = &patch.state {
                orders.entry(*session).or_default().state(state, "patch");
            }
        }
        ServerFrame::Error {
            session: Some(session),
            code,
            message,
            ..
        } => orders
            .entry(*session)
            .or_default()
            .errors
            .push(format!("{code:?}: {message}")),
        _ => {}
    }
}

/// Every session ran all its turns and then said it is idle (or ran them all and already
/// showed an order fault, which may have been its last idle).
fn all_settled(orders: &HashMap<SessionId, TurnOrder>) -> bool {
    let done = |o: &TurnOrder| {
        o.settled || (o.completed as usize == TURNS_PER_SESSION && !o.faults.is_empty())
    };
    orders.len() == SESSIONS && orders.values().all(done)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_never_comes_before_the_turns_last_event_live_or_on_replay() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A burst reply has no delay between chunks; many frames per turn make the writer back up.
    let server = Server::start_with_config(dir.path(), "[limits]\nmax_frames_per_sec = 100000\n");
    let (mut client, _) = Client::connect(&server).await;
    let sessions: Vec<SessionId> = (0..SESSIONS).map(|_| new_session()).collect();
    // Every turn is queued at once: the sessions run their 100 turns back to back. Each
    // message carries `create` (the first that arrives makes the session) so it can be
    // resent as a browser would, whatever got lost with the dropped socket.
    let mut messages = Vec::new();
    for (i, session) in sessions.iter().enumerate() {
        for turn in 0..TURNS_PER_SESSION {
            messages.push(ClientFrame::Send {
                session: *session,
                client_msg_id: ClientMsgId(uuid::Uuid::new_v4()),
                text: format!("/burst {}", 20 + (turn * 7 + i) % 60),
                attachments: vec![],
                create: Some(NewSession::defaults(AgentId::demo())),
                tag: None,
            });
        }
    }
    for message in &messages {
        client.send(message).await;
    }
    let mut orders: HashMap<SessionId, TurnOrder> = HashMap::new();
    // A slow reader for the first part: the server's writer for this socket fills up.
    let mut frames_read = 0usize;
    while frames_read < 3_000 {
        let frame = client.recv().await;
        record(&mut orders, &frame);
        frames_read += 1;
        if frames_read.is_multiple_of(100) {
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    // A reconnect in the middle: resume every session from the seq this client holds.
    drop(client);
    let (socket, _) = tokio_tungstenite::connect_async(common::ws_request(&server.addr))
        .await
        .expect("reconnects");
    let mut client = Client::from_socket(socket);
    let resume = sessions
        .iter()
        .map(|id| ResumePoint {
            session: *id,
            since: orders.get(id).map_or(Seq(0), |o| o.last_seq),
            tail_turns: None,
        })
        .collect();
    client
        .send(&ClientFrame::Hello {
            client_id: ClientId(uuid::Uuid::new_v4()),
            resume,
        })
        .await;
    // What the dropped socket may have lost, sent again (the server drops what it has).
    // A session the Hello did not find yet is followed once it is made.
    for message in &messages {
        client.send(message).await;
    }
    while !all_settled(&orders) {
        let Some(frame) = client.try_recv_within(Duration::from_secs(60)).await else {
            let progress: Vec<(u64, u64, Seq, &[String])> = orders
                .values()
                .map(|o| (o.started, o.completed, o.last_seq, o.faults.as_slice()))
                .collect();
            panic!("stalled after the reconnect: (started, completed, last seq, order faults) {progress:?}");
        };
        if let ServerFrame::SessionCreated { session } = &frame {
            if !orders.contains_key(&session.id) {
                client
                    .send(&ClientFrame::Subscribe {
                        session: session.id,
                        since: Seq(0),
                        tail_turns: None,
                        tag: None,
                    })
                    .await;
            }
        }
        record(&mut orders, &frame);
    }
    for (id, order) in &orders {
        assert!(
            order.faults.is_empty(),
            "session {id}: {:?} (error frames about it: {:?})",
            order.faults,
            order.errors
        );
    }

    // The log replays in the same order: a new client reading every session from seq 0, to
    // the end the list gives it.
    let (mut replay, listed) = Client::connect(&server).await;
    let ends: HashMap<SessionId, Seq> = listed.iter().map(|s| (s.id, s.last_seq)).collect();
    for id in &sessions {
        replay
            .send(&ClientFrame::Subscribe {
                session: *id,
                since: Seq(0),
                tail_turns: None,
                tag: None,
            })
            .await;
    }
    let mut replayed: HashMap<SessionId, TurnOrder> = HashMap::new();
    let mut idle_events: HashMap<SessionId, usize> = HashMap::new();
    let at_end = |replayed: &HashMap<SessionId, TurnOrder>| {
        sessions
            .iter()
            .all(|id| replayed.get(id).map(|o| o.last_seq) == ends.get(id).copied())
    };
    while !at_end(&replayed) {
        let frame = replay.recv().await;
        if let ServerFrame::Event {
            session,
            event:
                SessionEvent::StateChanged {
                    state: SessionState::Idle,
                },
            ..
        } = &frame
        {
            *idle_events.entry(*session).or_default() += 1;
        }
        record(&mut replayed, &frame);
    }
    for id in &sessions {
        let order = &replayed[id];
        assert!(
            order.faults.is_empty(),
            "replay of {id}: {:?}",
            order.faults
        );
        assert_eq!(
            order.completed as usize, TURNS_PER_SESSION,
            "replay of {id}"
        );
        assert!(
            idle_events.get(id).is_some_and(|n| *n > 0),
            "the log of {id} holds its state changes"
        );
    }
}
