//! Several server nodes on one PostgreSQL database (run in the suite's PostgreSQL pass,
//! skipped on SQLite): two real `switchboard serve` processes with their own data dirs
//! standing in for two hosts, a real WebSocket client on each. A session driven by one
//! node is live on the other, takes commands from either, and outlives its node.

mod common;

use common::{events_of, stored_log, Client, Server, TIMEOUT};
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
            // Priced, so budgets have something to count: $0.001 a word.
            ("SWITCHBOARD_DEMO_USD_PER_TOKEN", Some("0.001")),
        ],
    )
}

/// Two nodes on a fresh database, each with a data dir of its own, both allowed to run
/// agents in `code`; `None` (skipped) on SQLite.
struct TwoNodes {
    url: String,
    a: Server,
    b: Server,
    code: tempfile::TempDir,
    _data_dirs: [tempfile::TempDir; 2],
}

impl TwoNodes {
    fn start() -> Option<TwoNodes> {
        let url = cluster_database()?;
        let dirs = [
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        ];
        let code = tempfile::tempdir().expect("dir");
        let node_a = node(dirs[0].path(), &url, code.path());
        let node_b = node(dirs[1].path(), &url, code.path());
        Some(TwoNodes {
            url,
            a: node_a,
            b: node_b,
            code,
            _data_dirs: dirs,
        })
    }
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
    let Some(nodes) = TwoNodes::start() else {
        return;
    };
    let (mut a, _) = Client::connect(&nodes.a).await;
    let (mut b, _) = Client::connect(&nodes.b).await;

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

    let log = stored_log(&nodes.url, session).await;
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
    nodes.a.stop();
    nodes.b.stop();
}

#[tokio::test]
async fn a_killed_node_s_sessions_are_taken_over_and_go_on() {
    let Some(nodes) = TwoNodes::start() else {
        return;
    };
    let (mut a, _) = Client::connect(&nodes.a).await;
    let (mut b, _) = Client::connect(&nodes.b).await;

    // In the shared folder: the node taking it over may run its agent there.
    let session = SessionId(uuid::Uuid::new_v4());
    let mut new = NewSession::defaults(AgentId::demo());
    new.cwd = Some(nodes.code.path().display().to_string());
    a.say_with(session, "/slow 30", Some(new)).await;
    b.until(|frame| matches!(frame, ServerFrame::SessionCreated { session: s } if s.id == session))
        .await;
    b.subscribe(session, Seq(0)).await;
    // Mid-turn: a streamed delta has reached B through the database.
    b.next_event(session, |event| {
        matches!(event, SessionEvent::AssistantDelta { .. }).then_some(())
    })
    .await;
    nodes.a.kill();

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
    let log = stored_log(&nodes.url, session).await;
    for (i, (seq, _)) in log.iter().enumerate() {
        assert_eq!(*seq, Seq(i as u64 + 1), "gapless, nothing twice");
    }
    let last_user = log.iter().rev().find_map(|(_, e)| match e {
        SessionEvent::UserMessage { text, .. } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(last_user.as_deref(), Some("after the takeover"));
    nodes.b.stop();
}

/// Bursts on sessions driven by both nodes, watched from both nodes by clients whose
/// sockets are dropped every few hundred ms and resubscribe after the last seq they hold:
/// every watcher ends holding each session's log exactly (nothing lost, doubled or out of
/// order). Half the bursts are asked for on the node that does not drive the session.
#[tokio::test]
async fn bursts_on_both_nodes_reach_watchers_on_both_exactly_once_through_dropped_sockets() {
    let Some(nodes) = TwoNodes::start() else {
        return;
    };
    let (mut a, _) = Client::connect(&nodes.a).await;
    let (mut b, _) = Client::connect(&nodes.b).await;
    let sessions: Vec<SessionId> = (0..5).map(|_| SessionId(uuid::Uuid::new_v4())).collect();
    for (i, session) in sessions.iter().enumerate() {
        let owner = if i % 2 == 0 { &mut a } else { &mut b };
        owner.say(*session, "hello", true).await;
        owner.turn(*session).await;
    }
    // Both nodes list all five before anyone watches.
    for server in [&nodes.a, &nodes.b] {
        let deadline = std::time::Instant::now() + TIMEOUT;
        loop {
            let (_, listed) = Client::connect(server).await;
            if sessions.iter().all(|s| listed.iter().any(|l| l.id == *s)) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "a node never listed them"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    let watchers: Vec<_> = [&nodes.a, &nodes.b, &nodes.a, &nodes.b]
        .iter()
        .enumerate()
        .map(|(seed, server)| {
            tokio::spawn(watch(server.addr.clone(), sessions.clone(), seed as u64))
        })
        .collect();
    // All asked for on B: A's three sessions through forwarding, B's two directly.
    for session in &sessions {
        b.say(*session, "/burst 2000", false).await;
    }
    for watcher in watchers {
        let seen = watcher.await.expect("the watcher finished");
        for session in &sessions {
            let log = stored_log(&nodes.url, *session).await;
            let held = &seen[session];
            assert_eq!(
                held.len(),
                log.len(),
                "{session}: as many events as the log"
            );
            assert!(held == &log, "{session}: the log exactly, in order");
        }
    }
    nodes.a.stop();
    nodes.b.stop();
}

/// Watches `sessions` on the node at `addr` until each has finished its burst turn,
/// dropping the socket at random moments (50-300 ms apart) and resubscribing after the last
/// seq held. Returns what it was sent, per session.
async fn watch(
    addr: String,
    sessions: Vec<SessionId>,
    seed: u64,
) -> std::collections::HashMap<SessionId, Vec<(Seq, SessionEvent)>> {
    let mut held: std::collections::HashMap<SessionId, Vec<(Seq, SessionEvent)>> =
        sessions.iter().map(|s| (*s, Vec::new())).collect();
    let mut random = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let finished = |events: &Vec<(Seq, SessionEvent)>| {
        let turns = events
            .iter()
            .filter(|(_, e)| matches!(e, SessionEvent::TurnCompleted { .. }))
            .count();
        turns == 2
            && matches!(
                events.last(),
                Some((
                    _,
                    SessionEvent::StateChanged {
                        state: SessionState::Idle
                    }
                ))
            )
    };
    let deadline = std::time::Instant::now() + TIMEOUT * 6;
    let mut drops = 0;
    while !held.values().all(finished) {
        assert!(
            std::time::Instant::now() < deadline,
            "the bursts never finished"
        );
        let (mut client, _) = Client::connect_to(&addr).await;
        for session in &sessions {
            let since = held[session].last().map_or(Seq(0), |(seq, _)| *seq);
            client.subscribe(*session, since).await;
        }
        random = random
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let window = std::time::Duration::from_millis(50 + (random >> 33) % 250);
        let until = tokio::time::Instant::now() + window;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            let Some(frame) = client.try_recv_within(left).await else {
                break;
            };
            if let ServerFrame::Event {
                session,
                seq,
                event,
            } = frame
            {
                if let Some(events) = held.get_mut(&session) {
                    events.push((seq, event));
                }
            }
        }
        drops += 1;
    }
    assert!(drops > 1, "the sockets were dropped while the bursts ran");
    held
}

/// A browser behind a load balancer meets several nodes: a login made on one is good on
/// the others (they share its row), and signing out on one ends it on all of them within
/// moments, not at their next start.
#[tokio::test]
async fn a_login_made_on_one_node_is_good_on_the_other_until_signed_out() {
    use common::{get, http, TEST_TOKEN};
    let Some(nodes) = TwoNodes::start() else {
        return;
    };
    let (status, answer) = http(
        &nodes.a.addr,
        &get(&format!("/?token={TEST_TOKEN}"), &nodes.a.addr, ""),
    )
    .await;
    assert_eq!(status, 303, "{answer}");
    let cookie = answer
        .lines()
        .find_map(|line| line.strip_prefix("set-cookie: "))
        .and_then(|cookie| cookie.split(';').next())
        .expect("a Set-Cookie")
        .to_owned();
    let secret = cookie.split_once('=').expect("pair").1.to_owned();
    // The cookie's name carries the port the browser sees; behind one balancer that is the
    // same for every node. Here the nodes have ports of their own: the name is B's.
    let port = nodes.b.addr.rsplit(':').next().expect("port");
    let at_b = format!("Cookie: switchboard_login_{port}={secret}\r\n");
    let status_at_b = || async { http(&nodes.b.addr, &get("/", &nodes.b.addr, &at_b)).await.0 };
    let deadline = std::time::Instant::now() + TIMEOUT;
    while status_at_b().await != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "B never knew A's login"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let logout = format!(
        "POST /logout HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nCookie: {cookie}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n",
        addr = nodes.a.addr
    );
    let (status, _) = http(&nodes.a.addr, &logout).await;
    assert_eq!(status, 303);
    let deadline = std::time::Instant::now() + TIMEOUT;
    while status_at_b().await != 401 {
        assert!(
            std::time::Instant::now() < deadline,
            "B still let the signed-out login in"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    nodes.a.stop();
    nodes.b.stop();
}

/// Budgets hold across nodes: the day's budget set on node B counts the turns node B's
/// sessions stored, and stops a session node A drives.
#[tokio::test]
async fn a_day_budget_set_on_one_node_counts_every_node_s_turns_and_stops_the_other_s() {
    use switchboard::protocol::{Budget, BudgetScope, ErrorCode, RequestTag};
    let Some(nodes) = TwoNodes::start() else {
        return;
    };
    let (mut a, _) = Client::connect(&nodes.a).await;
    let (mut b, _) = Client::connect(&nodes.b).await;
    // B's session spends; A's session is made (and driven) on A.
    let on_b = SessionId(uuid::Uuid::new_v4());
    b.say(
        on_b,
        "one two three four five six seven eight nine ten",
        true,
    )
    .await;
    b.turn(on_b).await;
    let on_a = SessionId(uuid::Uuid::new_v4());
    a.say(on_a, "hi", true).await;
    a.turn(on_a).await;
    // Less than B's turn alone cost.
    b.send(&ClientFrame::SetBudget {
        scope: BudgetScope::Day,
        target: String::new(),
        budget: Budget {
            max_usd: Some(0.005),
            max_tokens: None,
        },
        tag: None,
    })
    .await;
    // A learns the budget from the database (a notification away); each try that still
    // went through ran a turn of its own first.
    let deadline = std::time::Instant::now() + TIMEOUT;
    let mut most_counted: f64 = 0.0;
    for attempt in 1u64.. {
        assert!(
            std::time::Instant::now() < deadline,
            "A never applied B's budget"
        );
        let tag = RequestTag(attempt);
        a.send(&ClientFrame::Send {
            session: on_a,
            client_msg_id: ClientMsgId(uuid::Uuid::new_v4()),
            text: "over?".into(),
            attachments: Vec::new(),
            create: None,
            tag: Some(tag),
        })
        .await;
        let frames = a
            .until(|frame| match frame {
                ServerFrame::Error { tag: Some(t), .. } => *t == tag,
                ServerFrame::Event {
                    session,
                    event: SessionEvent::TurnCompleted { .. } | SessionEvent::Budget { .. },
                    ..
                } => *session == on_a,
                _ => false,
            })
            .await;
        for frame in &frames {
            let alert = match frame {
                ServerFrame::SessionUpdated { session, patch } if *session == on_a => {
                    patch.budget.and_then(|mark| mark.alert)
                }
                ServerFrame::Event {
                    session,
                    event: SessionEvent::Budget { alert, .. },
                    ..
                } if *session == on_a => Some(*alert),
                _ => None,
            };
            if let Some(alert) = alert {
                most_counted = most_counted.max(alert.spent.usd);
            }
        }
        match frames.last() {
            // Refused up front, or taken up and stopped by the budget before it ran.
            Some(ServerFrame::Error { code, .. }) => {
                assert_eq!(*code, ErrorCode::OverBudget);
                break;
            }
            Some(ServerFrame::Event {
                event: SessionEvent::Budget { stopped: true, .. },
                ..
            }) => break,
            _ => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    }
    // A refusal can come before the session's own alert patch (the refusal reads the
    // ledger; the patch follows the budget reload), so wait for the patch if needed.
    if most_counted < 0.02 {
        let frames = a
            .until(|frame| {
                matches!(frame, ServerFrame::SessionUpdated { session, patch }
                    if *session == on_a && patch.budget.is_some_and(|mark| mark.alert.is_some()))
            })
            .await;
        if let Some(ServerFrame::SessionUpdated { patch, .. }) = frames.last() {
            let spent = patch
                .budget
                .and_then(|mark| mark.alert)
                .map(|alert| alert.spent.usd);
            most_counted = most_counted.max(spent.unwrap_or(0.0));
        }
    }
    // B's turn alone cost $0.021; A's own turns here come to less than that.
    assert!(
        most_counted >= 0.02,
        "A counted B's turn against the day: {most_counted}"
    );
    nodes.a.stop();
    nodes.b.stop();
}
