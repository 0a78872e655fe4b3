//! Isolation, as a property: random interleavings of frames from several sockets over
//! several sessions (messages, stops, permission answers, subscribes, reconnects), driven
//! in-process through the real socket handler, registry, session tasks and SQLite log,
//! with scripted agents. Afterwards every socket's picture of every session it follows is
//! that session's log, event for event, and its metadata is the server's.

use crate::protocol::{
    AgentId, ClientFrame, ClientId, ClientMsgId, NewSession, PermissionOption,
    PermissionOptionKind, RequestId, ResumePoint, Seq, ServerFrame, Session, SessionEvent,
    SessionId,
};
use crate::server::agent::scripted::{DriverCall, ScriptedAgent, ScriptedLauncher};
use crate::server::agent::{AgentLauncher, AgentOutput};
use crate::server::catalog::AgentCatalog;
use crate::server::config::Config;
use crate::server::db::Db;
use crate::server::registry::Registry;
use axum::extract::ws::Message;
use futures::channel::mpsc as fmpsc;
use futures::StreamExt;
use proptest::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

const SOCKETS: usize = 3;
const SESSIONS: usize = 3;

/// One thing a socket does.
#[derive(Debug, Clone)]
enum Op {
    /// A message; `ask` makes the agent ask for permission before it answers.
    Send {
        socket: usize,
        session: usize,
        ask: bool,
    },
    /// Stop the session's turn.
    Stop { socket: usize, session: usize },
    /// Allow the newest permission request this socket saw in the session.
    Answer { socket: usize, session: usize },
    /// Follow the session from the newest seq held.
    Subscribe { socket: usize, session: usize },
    /// Drop the socket and open a new one that resumes what it held.
    Reconnect { socket: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let (s, n) = (0..SOCKETS, 0..SESSIONS);
    prop_oneof![
        4 => (s.clone(), n.clone(), any::<bool>())
            .prop_map(|(socket, session, ask)| Op::Send { socket, session, ask }),
        1 => (s.clone(), n.clone()).prop_map(|(socket, session)| Op::Stop { socket, session }),
        2 => (s.clone(), n.clone()).prop_map(|(socket, session)| Op::Answer { socket, session }),
        2 => (s.clone(), n).prop_map(|(socket, session)| Op::Subscribe { socket, session }),
        1 => s.prop_map(|socket| Op::Reconnect { socket }),
    ]
}

/// A scripted agent that answers every message: "ask ..." first asks for permission and
/// answers once allowed; a Stop ends the open turn as cancelled.
async fn play(mut agent: ScriptedAgent) {
    agent.say(AgentOutput::Ready).await;
    let mut asking: Option<String> = None;
    let mut n = 0;
    while let Some(call) = agent.calls.recv().await {
        match call {
            DriverCall::Turn(text) if text.starts_with("ask") => {
                n += 1;
                let id = format!("p{n}");
                let options = vec![PermissionOption {
                    id: "allow".into(),
                    label: "Allow".into(),
                    kind: PermissionOptionKind::AllowOnce,
                }];
                agent
                    .say(AgentOutput::Event(SessionEvent::PermissionRequested {
                        request_id: RequestId(id.clone()),
                        title: text.clone(),
                        input: serde_json::Value::Null,
                        options,
                    }))
                    .await;
                asking = Some(text);
            }
            DriverCall::Turn(text) => answer(&agent, &text, "end_turn").await,
            DriverCall::Permission { .. } => {
                if let Some(text) = asking.take() {
                    answer(&agent, &text, "end_turn").await;
                }
            }
            DriverCall::Interrupt => {
                if asking.take().is_some() {
                    agent
                        .say(AgentOutput::TurnEnded {
                            usage: Default::default(),
                            stop_reason: "cancelled".into(),
                        })
                        .await;
                }
            }
            DriverCall::SetMode(_) | DriverCall::Signal(_) => {}
        }
    }
}

async fn answer(agent: &ScriptedAgent, text: &str, stop_reason: &str) {
    for part in ["Echo: ", text] {
        agent
            .say(AgentOutput::Event(SessionEvent::AssistantDelta {
                message_id: "m".into(),
                text: part.into(),
            }))
            .await;
    }
    agent
        .say(AgentOutput::TurnEnded {
            usage: Default::default(),
            stop_reason: stop_reason.into(),
        })
        .await;
}

/// One in-process socket and what its client holds.
struct TestSocket {
    /// The server's side of the socket, to wait for when the socket is dropped.
    served: tokio::task::JoinHandle<()>,
    to_server: fmpsc::UnboundedSender<Message>,
    from_server: fmpsc::UnboundedReceiver<Message>,
    /// Per session: every event applied, in order (replays deduplicated by seq, as the
    /// browser does).
    events: HashMap<SessionId, Vec<(Seq, SessionEvent)>>,
    /// Per session: the metadata, from the list and the stream.
    meta: HashMap<SessionId, Session>,
}

impl TestSocket {
    fn open(registry: &Arc<Registry>) -> TestSocket {
        let (to_server, server_in) = fmpsc::unbounded::<Message>();
        let (server_out, from_server) = fmpsc::unbounded::<Message>();
        let stream = server_in.map(Ok::<_, std::convert::Infallible>);
        let served = tokio::spawn(crate::server::ws::serve(
            server_out,
            stream,
            Arc::clone(registry),
        ));
        TestSocket {
            served,
            to_server,
            from_server,
            events: HashMap::new(),
            meta: HashMap::new(),
        }
    }

    fn send(&self, frame: &ClientFrame) {
        let text = serde_json::to_string(frame).unwrap_or_default();
        let _ = self.to_server.unbounded_send(Message::Text(text.into()));
    }

    fn hello(&self) {
        let resume = self
            .events
            .iter()
            .map(|(session, events)| ResumePoint {
                session: *session,
                since: events.last().map_or(Seq(0), |e| e.0),
                tail_turns: None,
            })
            .collect();
        self.send(&ClientFrame::Hello {
            client_id: ClientId(uuid::Uuid::new_v4()),
            resume,
        });
    }

    /// Applies every frame that has arrived.
    fn drain(&mut self) {
        while let Ok(Message::Text(text)) = self.from_server.try_recv() {
            let Ok(frame) = serde_json::from_str::<ServerFrame>(text.as_str()) else {
                panic!("unreadable frame {text}");
            };
            self.apply(frame);
        }
    }

    fn apply(&mut self, frame: ServerFrame) {
        match frame {
            ServerFrame::Connected { sessions, .. } => {
                for session in sessions {
                    self.meta.insert(session.id, session);
                }
            }
            ServerFrame::SessionCreated { session } => {
                self.meta.insert(session.id, session);
            }
            ServerFrame::SessionUpdated { session, patch } => {
                if let Some(meta) = self.meta.get_mut(&session) {
                    if meta.is_newer(&patch) {
                        meta.apply(&patch);
                    }
                }
            }
            ServerFrame::Event {
                session,
                seq,
                event,
            } => {
                let held = self.events.entry(session).or_default();
                let last = held.last().map_or(Seq(0), |e| e.0);
                if seq > last {
                    assert_eq!(seq, last.next(), "{session}: a gap after {last}");
                    held.push((seq, event));
                }
            }
            _ => {}
        }
    }

    /// Waits until the server handled every frame this socket sent: frames are handled in
    /// order, so its answer to a Ping comes after theirs.
    async fn sync(&mut self) {
        self.send(&ClientFrame::Ping);
        loop {
            let next = tokio::time::timeout(Duration::from_secs(10), self.from_server.next());
            let Ok(Some(Message::Text(text))) = next.await else {
                panic!("the socket answers a Ping");
            };
            match serde_json::from_str::<ServerFrame>(text.as_str()) {
                Ok(ServerFrame::Pong) => return,
                Ok(frame) => self.apply(frame),
                Err(e) => panic!("unreadable frame {text}: {e}"),
            }
        }
    }

    /// The newest permission request of `session` this socket saw.
    fn newest_request(&self, session: SessionId) -> RequestId {
        let asked = self.events.get(&session).and_then(|events| {
            events.iter().rev().find_map(|(_, e)| match e {
                SessionEvent::PermissionRequested { request_id, .. } => Some(request_id.clone()),
                _ => None,
            })
        });
        asked.unwrap_or_else(|| RequestId("none".into()))
    }
}

async fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::for_tests(dir.path());
    config.default_cwd = dir.path().to_path_buf();
    config.roots = vec![dir.path().to_path_buf()];
    config.cancel_step = Duration::from_millis(20);
    config.max_frames_per_sec = 100_000;
    let db = Db::open(dir.path()).await.expect("database opens");
    let catalog = Arc::new(AgentCatalog::load(&config));
    let (launcher, mut launched) = ScriptedLauncher::new();
    let as_launcher: Arc<dyn AgentLauncher> = launcher;
    let registry = Registry::load_with(db, Arc::new(config), catalog, as_launcher)
        .await
        .expect("registry loads");
    tokio::spawn(async move {
        while let Some(agent) = launched.recv().await {
            tokio::spawn(play(agent));
        }
    });
    let sessions: Vec<SessionId> = (0..SESSIONS)
        .map(|_| SessionId(uuid::Uuid::new_v4()))
        .collect();
    for id in &sessions {
        let create = Some(NewSession::defaults(AgentId::demo()));
        let first = ClientMsgId(uuid::Uuid::new_v4());
        registry
            .send(*id, first, "hello".into(), vec![], create)
            .await
            .expect("created");
    }
    let mut sockets: Vec<TestSocket> = (0..SOCKETS).map(|_| TestSocket::open(&registry)).collect();
    for socket in &sockets {
        socket.hello();
    }
    for op in ops {
        match op {
            Op::Send {
                socket,
                session,
                ask,
            } => sockets[socket].send(&ClientFrame::Send {
                session: sessions[session],
                client_msg_id: ClientMsgId(uuid::Uuid::new_v4()),
                text: if ask { "ask to write" } else { "hi" }.into(),
                attachments: vec![],
                create: None,
                tag: None,
            }),
            Op::Stop { socket, session } => sockets[socket].send(&ClientFrame::Cancel {
                session: sessions[session],
                tag: None,
            }),
            Op::Answer { socket, session } => {
                let request_id = sockets[socket].newest_request(sessions[session]);
                sockets[socket].send(&ClientFrame::AnswerPermission {
                    session: sessions[session],
                    request_id,
                    option_id: "allow".into(),
                    tag: None,
                });
            }
            Op::Subscribe { socket, session } => {
                let id = sessions[session];
                let since = sockets[socket]
                    .events
                    .get(&id)
                    .and_then(|e| e.last())
                    .map_or(Seq(0), |e| e.0);
                sockets[socket].events.entry(id).or_default();
                sockets[socket].send(&ClientFrame::Subscribe {
                    session: id,
                    since,
                    tail_turns: None,
                    tag: None,
                });
            }
            Op::Reconnect { socket } => {
                sockets[socket].drain();
                let held = std::mem::take(&mut sockets[socket].events);
                let old = std::mem::replace(&mut sockets[socket], TestSocket::open(&registry));
                // The server handles what the old socket had sent before it went (as it
                // may for a browser's dropped socket); the checks below start after that.
                drop(old.to_server);
                let _ = tokio::time::timeout(Duration::from_secs(10), old.served).await;
                sockets[socket].events = held;
                sockets[socket].hello();
            }
        }
        tokio::task::yield_now().await;
        for socket in &mut sockets {
            socket.drain();
        }
    }
    // Settle: every frame handled, then every turn still waiting for an answer stopped,
    // until none runs.
    for socket in &mut sockets {
        socket.sync().await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let busy: Vec<SessionId> = sessions
            .iter()
            .copied()
            .filter(|id| {
                let stream = registry.stream(*id).expect("known");
                stream.snapshot().state.is_busy()
            })
            .collect();
        if busy.is_empty() {
            break;
        }
        for id in busy {
            registry.cancel(id).await.expect("known");
        }
        if tokio::time::Instant::now() > deadline {
            let states: Vec<_> = sessions
                .iter()
                .map(|id| registry.stream(*id).expect("known").snapshot().state)
                .collect();
            let mut logs = Vec::new();
            for id in &sessions {
                logs.push(registry.db().events_since(*id, Seq(0)).await.expect("log"));
            }
            panic!("sessions settle: {states:?} {logs:#?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Every socket catches up with what it follows, then must hold exactly the log.
    for socket in &mut sockets {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            socket.drain();
            let behind = sessions.iter().any(|id| {
                let newest = registry.stream(*id).expect("known").snapshot();
                let meta_behind = socket
                    .meta
                    .get(id)
                    .is_some_and(|m| m.rev < newest.rev && socket.events.contains_key(id));
                let events_behind = socket
                    .events
                    .get(id)
                    .is_some_and(|events| events.last().map_or(Seq(0), |e| e.0) < newest.last_seq);
                meta_behind || events_behind
            });
            if !behind {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "a socket catches up"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    for (n, socket) in sockets.iter().enumerate() {
        for (id, events) in &socket.events {
            let log = registry.db().events_since(*id, Seq(0)).await.expect("log");
            let first = events.first().map_or(1, |e| e.0 .0 as usize);
            let expected: Vec<(Seq, SessionEvent)> = log
                .into_iter()
                .skip(first.saturating_sub(1))
                .map(|e| (e.seq, e.event))
                .collect();
            let differ = events.iter().zip(&expected).position(|(a, b)| a != b);
            assert!(
                differ.is_none() && events.len() == expected.len(),
                "socket {n}'s events of {id}: {} held, {} in the log, first difference at {differ:?}: {:?} / {:?}",
                events.len(),
                expected.len(),
                differ.and_then(|i| events.get(i)),
                differ.and_then(|i| expected.get(i)).or(expected.get(events.len())),
            );
            let server = registry.stream(*id).expect("known").snapshot();
            let meta = socket.meta.get(id).expect("listed");
            assert_eq!(
                (&meta.state, meta.last_seq, meta.entry_count, &meta.title),
                (
                    &server.state,
                    server.last_seq,
                    server.entry_count,
                    &server.title
                ),
                "socket {n}'s picture of {id}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_socket_sees_each_session_exactly_as_its_log(ops in proptest::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(run(ops));
    }
}
