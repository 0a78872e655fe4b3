//! Fault injection: a TCP proxy between a WebSocket client and the real server drops every
//! connection at seeded random moments while five sessions each stream 2,000 events. The
//! client reconnects each time (Hello with its last seq per session, resending unconfirmed
//! messages with the same ClientMsgId). At the end every session's transcript must equal
//! its log exactly: nothing lost, nothing twice, nothing out of order.

mod common;

use common::{new_session, Server, TIMEOUT};
use futures::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use switchboard::protocol::{
    AgentId, ClientFrame, ClientId, ClientMsgId, NewSession, ResumePoint, Seq, ServerFrame,
    SessionEvent, SessionId, SessionState,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

const SESSIONS: usize = 5;
const EVENTS_PER_SESSION: u64 = 2_000;
const DROPS: u64 = 25;

/// xorshift64*: a tiny seeded generator, so a failure can be replayed with the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}

/// Forwards TCP connections to `upstream`; bumping the generation drops all open ones.
async fn start_proxy(upstream: String, generation: watch::Receiver<u64>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
    let addr = listener.local_addr().expect("proxy address").to_string();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let upstream = upstream.clone();
            let mut generation = generation.clone();
            generation.mark_unchanged();
            tokio::spawn(async move {
                let Ok(mut outbound) = TcpStream::connect(&upstream).await else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    // Dropping both sockets cuts the connection. Once the test is done (the
                    // sender gone), connections live until they close.
                    _ = async {
                        if generation.changed().await.is_err() {
                            std::future::pending::<()>().await;
                        }
                    } => {}
                }
            });
        }
    });
    addr
}

/// What the client holds of one session.
#[derive(Default)]
struct Held {
    confirmed: bool,
    events: Vec<(Seq, SessionEvent)>,
    done: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_lose_duplicate_and_reorder_nothing() {
    let seed = std::env::var("FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_1234_u64);
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let (drop_all, generation) = watch::channel(0u64);
    let proxy = start_proxy(server.addr.clone(), generation).await;

    // Drops at seeded random points of the stream (measured in chunks received), so the
    // faults land all over the transfer however fast the machine is.
    let mut rng = Rng(seed);
    let total_chunks = EVENTS_PER_SESSION * SESSIONS as u64;
    let mut drop_points: Vec<u64> = (0..DROPS).map(|_| rng.between(1, total_chunks)).collect();
    drop_points.sort_unstable();
    let mut drop_points = drop_points.into_iter().peekable();
    let mut drops = 0u64;
    let mut chunks_received = 0u64;
    let drop_all = Arc::new(drop_all);

    let sessions: Vec<(SessionId, ClientMsgId)> = (0..SESSIONS)
        .map(|_| (new_session(), ClientMsgId(Uuid::new_v4())))
        .collect();
    let mut held: HashMap<SessionId, Held> = sessions
        .iter()
        .map(|(id, _)| (*id, Held::default()))
        .collect();
    let client_id = ClientId(Uuid::new_v4());
    let mut connections = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);

    while !held.values().all(|h| h.done) {
        let progress: Vec<usize> = sessions
            .iter()
            .map(|(id, _)| held[id].events.len())
            .collect();
        assert!(
            tokio::time::Instant::now() < deadline,
            "streams did not finish: {progress:?}"
        );
        eprintln!("connection {connections}: {progress:?}");
        let Ok((mut socket, _)) =
            tokio_tungstenite::connect_async(common::ws_request(&proxy)).await
        else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        connections += 1;
        let resume = held
            .iter()
            .filter(|(_, h)| h.confirmed)
            .map(|(id, h)| ResumePoint {
                session: *id,
                since: h.events.last().map_or(Seq(0), |e| e.0),
                tail_turns: None,
            })
            .collect();
        let mut outgoing = vec![ClientFrame::Hello { client_id, resume }];
        for (id, msg_id) in &sessions {
            if !held[id].confirmed {
                outgoing.push(ClientFrame::Send {
                    session: *id,
                    client_msg_id: *msg_id,
                    text: format!("/burst {EVENTS_PER_SESSION}"),
                    attachments: vec![],
                    create: Some(NewSession::defaults(AgentId::demo())),
                    tag: None,
                });
            }
        }
        let mut sent_ok = true;
        for frame in outgoing {
            let text = serde_json::to_string(&frame).expect("serializes");
            if socket.send(Message::Text(text.into())).await.is_err() {
                sent_ok = false;
                break;
            }
        }
        if !sent_ok {
            continue;
        }
        // Read until the connection drops or everything is done.
        loop {
            let next = tokio::time::timeout(TIMEOUT, socket.next())
                .await
                .expect("frames keep coming");
            let Some(Ok(Message::Text(text))) = next else {
                break;
            };
            let frame: ServerFrame = serde_json::from_str(text.as_str()).expect("frames parse");
            let ServerFrame::Event {
                session,
                seq,
                event,
            } = frame
            else {
                continue;
            };
            let Some(h) = held.get_mut(&session) else {
                continue;
            };
            h.confirmed = true;
            let last = h.events.last().map_or(Seq(0), |e| e.0);
            if seq <= last {
                continue; // an overlap the client is allowed to see and must drop
            }
            assert_eq!(seq, last.next(), "session {session}: gap after {last}");
            // The log ends with the session becoming idle after its turn.
            let turn_ended = h
                .events
                .iter()
                .any(|(_, e)| matches!(e, SessionEvent::TurnCompleted { .. }));
            if turn_ended
                && matches!(
                    event,
                    SessionEvent::StateChanged {
                        state: SessionState::Idle
                    }
                )
            {
                h.done = true;
            }
            if let SessionEvent::AssistantDelta { text, .. } = &event {
                chunks_received += text.split_whitespace().count() as u64;
            }
            h.events.push((seq, event));
            while drop_points
                .next_if(|&point| point <= chunks_received)
                .is_some()
            {
                drops += 1;
                let _ = drop_all.send(drops);
            }
            if held.values().all(|h| h.done) {
                break;
            }
        }
    }
    assert!(drops >= 3, "the proxy really dropped connections ({drops})");
    assert!(
        connections >= 5,
        "the client really reconnected ({connections})"
    );

    let db = common::open_db(dir.path()).await;
    for (id, _) in &sessions {
        let log = db.events_since(*id, Seq(0)).await.expect("log reads");
        let seen = &held[id].events;
        assert_eq!(
            seen.len(),
            log.len(),
            "session {id}: {} seen, {} stored",
            seen.len(),
            log.len()
        );
        for ((seq, event), stored) in seen.iter().zip(&log) {
            assert_eq!(*seq, stored.seq);
            assert_eq!(*event, stored.event, "session {id} at {seq}");
        }
        let text: String = seen
            .iter()
            .filter_map(|(_, e)| match e {
                SessionEvent::AssistantDelta { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        let expected: String = (1..=EVENTS_PER_SESSION).map(|n| format!("{n} ")).collect();
        assert_eq!(text, expected, "session {id}: every chunk once, in order");
        let turns = seen
            .iter()
            .filter(|(_, e)| matches!(e, SessionEvent::TurnStarted { .. }))
            .count();
        assert_eq!(turns, 1, "resent first messages made one turn");
    }
    println!("seed {seed:#x}: {connections} connections, {} drops", drops);
}
