//! The session core with a scripted agent: each way a turn ends, the queue behind it, the
//! wait for an agent slot, permissions and stops. The test plays the agent
//! (`agent::scripted`); everything else is the real registry, task and SQLite log.
//! (Real time, not tokio's paused clock: SQLite answers from its own thread, and a paused
//! runtime jumps to the next timer whenever it waits for it, firing deadlines at random.
//! The waits below end on an observed change, never on a sleep.)

use crate::protocol::{
    AgentId, ClientMsgId, NewSession, PermissionOption, PermissionOptionKind, RequestId, Seq,
    SessionEvent, SessionId, SessionState,
};
use crate::server::agent::scripted::{DriverCall, ScriptedAgent, ScriptedLauncher};
use crate::server::agent::{AgentLauncher, AgentOutput};
use crate::server::catalog::AgentCatalog;
use crate::server::config::Config;
use crate::server::db::Db;
use crate::server::registry::Registry;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long any expectation may take.
const WAIT: Duration = Duration::from_secs(5);

/// A registry whose agents the test plays.
struct Core {
    registry: Arc<Registry>,
    agents: mpsc::UnboundedReceiver<ScriptedAgent>,
    launcher: Arc<ScriptedLauncher>,
    _dir: tempfile::TempDir,
}

impl Core {
    async fn new(configure: impl FnOnce(&mut Config)) -> Core {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::for_tests(dir.path());
        config.default_cwd = dir.path().to_path_buf();
        config.roots = vec![dir.path().to_path_buf()];
        configure(&mut config);
        let db = Db::open(dir.path()).await.expect("database opens");
        let catalog = Arc::new(AgentCatalog::load(&config));
        let (launcher, agents) = ScriptedLauncher::new();
        let as_launcher: Arc<dyn AgentLauncher> = launcher.clone();
        let registry = Registry::load_with(db, Arc::new(config), catalog, as_launcher)
            .await
            .expect("registry loads");
        Core {
            registry,
            agents,
            launcher,
            _dir: dir,
        }
    }

    /// Sends `text` to `id`, creating the session on its first message.
    async fn send(&self, id: SessionId, text: &str) {
        let create = self
            .registry
            .check_known(id)
            .is_err()
            .then(|| NewSession::defaults(AgentId::demo()));
        self.registry
            .send(
                id,
                ClientMsgId(uuid::Uuid::new_v4()),
                text.into(),
                vec![],
                create,
            )
            .await
            .expect("message accepted");
    }

    /// The next agent the session core started.
    async fn agent(&mut self) -> ScriptedAgent {
        tokio::time::timeout(WAIT, self.agents.recv())
            .await
            .expect("an agent is started")
            .expect("launcher alive")
    }

    /// No agent is started for a while.
    async fn no_agent(&mut self) {
        let started = tokio::time::timeout(Duration::from_millis(200), self.agents.recv()).await;
        assert!(started.is_err(), "no agent should start now");
    }

    fn state(&self, id: SessionId) -> SessionState {
        self.registry.stream(id).expect("known").snapshot().state
    }

    /// Waits until the session's state satisfies `want`.
    async fn until_state(&self, id: SessionId, want: impl Fn(&SessionState) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !want(&self.state(id)) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "state stayed {:?}",
                self.state(id)
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// The session's log.
    async fn log(&self, id: SessionId) -> Vec<SessionEvent> {
        let events = self.registry.db().events_since(id, Seq(0)).await;
        events
            .expect("log reads")
            .into_iter()
            .map(|e| e.event)
            .collect()
    }
}

fn session() -> SessionId {
    SessionId(uuid::Uuid::new_v4())
}

/// The agent is given a turn with this text next.
async fn expect_turn(agent: &mut ScriptedAgent, text: &str) {
    assert_eq!(agent.next_call().await, Some(DriverCall::Turn(text.into())));
}

async fn reply(agent: &ScriptedAgent, text: &str) {
    agent
        .say(AgentOutput::Event(SessionEvent::AssistantDelta {
            message_id: "m".into(),
            text: text.into(),
        }))
        .await;
    agent
        .say(AgentOutput::TurnEnded {
            usage: Default::default(),
            stop_reason: "end_turn".into(),
        })
        .await;
}

/// Sends `text` to a new session `id` whose agent then asks for permission; the agent.
async fn asking(core: &mut Core, id: SessionId, text: &str) -> ScriptedAgent {
    core.send(id, text).await;
    let mut agent = core.agent().await;
    expect_turn(&mut agent, text).await;
    agent.say(ask()).await;
    core.until_state(id, |s| *s == SessionState::AwaitingPermission)
        .await;
    agent
}

fn ask() -> AgentOutput {
    AgentOutput::Event(SessionEvent::PermissionRequested {
        request_id: RequestId("p1".into()),
        title: "Write demo.txt".into(),
        input: serde_json::json!({}),
        options: vec![PermissionOption {
            id: "allow".into(),
            label: "Allow".into(),
            kind: PermissionOptionKind::AllowOnce,
        }],
    })
}

/// The outline of a log whose first turn failed with "two" queued behind it, which then ran.
const FAILED_THEN_QUEUED: [&str; 6] = [
    "user one",
    "start",
    "user two",
    "error",
    "start",
    "end end_turn",
];

/// The user messages and turn boundaries of a log, in order, as short words.
fn outline(log: &[SessionEvent]) -> Vec<String> {
    log.iter()
        .filter_map(|e| match e {
            SessionEvent::UserMessage { text, .. } => Some(format!("user {text}")),
            SessionEvent::TurnStarted { .. } => Some("start".into()),
            SessionEvent::TurnCompleted { stop_reason, .. } => Some(format!("end {stop_reason}")),
            SessionEvent::Error { .. } => Some("error".into()),
            SessionEvent::PermissionResolved {
                option_id: None, ..
            } => Some("withdrawn".into()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_message_queued_behind_a_failed_turn_runs_next_and_in_order() {
    let mut core = Core::new(|_| {}).await;
    let id = session();
    let first = one_with_two_queued(&mut core, id, false).await;
    first.say(AgentOutput::Failed("refused".into())).await;
    // The failed turn ends; "two" runs at once, with a new agent, before anything else.
    let mut second = core.agent().await;
    expect_turn(&mut second, "two").await;
    reply(&second, "done").await;
    core.until_state(id, |s| *s == SessionState::Idle).await;
    assert_eq!(outline(&core.log(id).await), FAILED_THEN_QUEUED);
}

#[tokio::test]
async fn a_message_queued_behind_a_crash_runs_next() {
    let mut core = Core::new(|_| {}).await;
    let id = session();
    let first = one_with_two_queued(&mut core, id, true).await;
    first
        .say(AgentOutput::Exited {
            code: Some(3),
            stderr_tail: "boom".into(),
        })
        .await;
    let mut second = core.agent().await;
    expect_turn(&mut second, "two").await;
    reply(&second, "done").await;
    core.until_state(id, |s| *s == SessionState::Idle).await;
}

/// Session `id` runs "one" (its agent already replying when `heard`) with "two" queued
/// behind it; the agent of "one".
async fn one_with_two_queued(core: &mut Core, id: SessionId, heard: bool) -> ScriptedAgent {
    core.send(id, "one").await;
    let mut first = core.agent().await;
    expect_turn(&mut first, "one").await;
    if heard {
        reply_part(&first).await;
    }
    core.send(id, "two").await;
    first
}

/// The agent says something, so a crash after it is a crash, not a start failure.
async fn reply_part(agent: &ScriptedAgent) {
    agent
        .say(AgentOutput::Event(SessionEvent::AssistantDelta {
            message_id: "m".into(),
            text: "partly".into(),
        }))
        .await;
}

#[tokio::test]
async fn a_turn_waits_for_an_agent_slot_in_order_and_starts_when_one_frees() {
    let mut core = Core::new(|config| config.max_live_agents = 1).await;
    let (a, b, c) = (session(), session(), session());
    core.send(a, "a").await;
    let mut agent_a = core.agent().await;
    expect_turn(&mut agent_a, "a").await;
    core.send(b, "b").await;
    core.send(c, "c").await;
    core.until_state(b, |s| *s == SessionState::WaitingForAgent { ahead: 0 })
        .await;
    core.until_state(c, |s| *s == SessionState::WaitingForAgent { ahead: 1 })
        .await;
    core.no_agent().await;
    // `a`'s turn ends: its idle agent is stopped at once for the session in line.
    reply(&agent_a, "done").await;
    let mut agent_b = core.agent().await;
    expect_turn(&mut agent_b, "b").await;
    core.until_state(c, |s| *s == SessionState::WaitingForAgent { ahead: 0 })
        .await;
    core.until_state(b, |s| *s == SessionState::Working).await;
    reply(&agent_b, "done").await;
    let mut agent_c = core.agent().await;
    expect_turn(&mut agent_c, "c").await;
    // The waits are in the log as state changes, in order with the turns.
    let log = core.log(c).await;
    let waited = log.iter().any(|e| {
        matches!(
            e,
            SessionEvent::StateChanged {
                state: SessionState::WaitingForAgent { .. }
            }
        )
    });
    assert!(waited, "{log:?}");
}

#[tokio::test]
async fn a_turn_waiting_for_a_slot_can_be_cancelled() {
    let mut core = Core::new(|config| config.max_live_agents = 1).await;
    let (a, b) = (session(), session());
    core.send(a, "a").await;
    let mut agent_a = core.agent().await;
    expect_turn(&mut agent_a, "a").await;
    core.send(b, "b").await;
    core.until_state(b, |s| matches!(s, SessionState::WaitingForAgent { .. }))
        .await;
    core.registry.cancel(b).await.expect("cancel accepted");
    core.until_state(b, |s| *s == SessionState::Idle).await;
    assert_eq!(
        outline(&core.log(b).await),
        ["user b", "start", "end cancelled"]
    );
    // Its place in line is gone: `a` finishing starts nothing for `b`.
    reply(&agent_a, "done").await;
    core.until_state(a, |s| *s == SessionState::Idle).await;
    core.no_agent().await;
}

#[tokio::test]
async fn a_permission_pending_when_the_agent_exits_is_withdrawn() {
    let mut core = Core::new(|_| {}).await;
    let id = session();
    let agent = asking(&mut core, id, "write it").await;
    agent
        .say(AgentOutput::Exited {
            code: None,
            stderr_tail: String::new(),
        })
        .await;
    core.until_state(id, |s| matches!(s, SessionState::Error { .. }))
        .await;
    assert_eq!(
        outline(&core.log(id).await),
        ["user write it", "start", "withdrawn", "error"]
    );
    let answer = core
        .registry
        .answer_permission(id, RequestId("p1".into()), "allow".into())
        .await;
    assert!(answer.is_err(), "a withdrawn request cannot be answered");
}

#[tokio::test]
async fn a_cancel_while_the_agent_starts_stops_the_turn() {
    let mut core = Core::new(|config| config.cancel_step = Duration::from_millis(20)).await;
    let id = session();
    core.send(id, "hello").await;
    let mut agent = core.agent().await;
    expect_turn(&mut agent, "hello").await;
    // The agent never said Ready; Stop asks it, then climbs the ladder.
    core.registry.cancel(id).await.expect("cancel accepted");
    assert_eq!(agent.next_call().await, Some(DriverCall::Interrupt));
    assert!(matches!(
        agent.next_call().await,
        Some(DriverCall::Signal(nix::sys::signal::Signal::SIGINT))
    ));
    agent
        .say(AgentOutput::Exited {
            code: None,
            stderr_tail: String::new(),
        })
        .await;
    core.until_state(id, |s| *s == SessionState::Idle).await;
    assert_eq!(
        outline(&core.log(id).await),
        ["user hello", "start", "end cancelled"]
    );
}

#[tokio::test]
async fn a_crash_during_a_permission_wait_fails_the_turn_and_the_next_message_restarts() {
    let mut core = Core::new(|_| {}).await;
    let id = session();
    let agent = asking(&mut core, id, "one").await;
    agent
        .say(AgentOutput::Exited {
            code: Some(3),
            stderr_tail: "segfault".into(),
        })
        .await;
    core.until_state(id, |s| matches!(s, SessionState::Error { .. }))
        .await;
    core.send(id, "two").await;
    let mut again = core.agent().await;
    expect_turn(&mut again, "two").await;
    core.until_state(id, |s| *s == SessionState::Working).await;
}

#[tokio::test]
async fn an_agent_that_cannot_start_fails_each_turn_with_the_reason() {
    let core = Core::new(|_| {}).await;
    if let Ok(mut refuse) = core.launcher.refuse.lock() {
        *refuse = Some("no such file".into());
    }
    let id = session();
    core.send(id, "one").await;
    core.until_state(
        id,
        |s| matches!(s, SessionState::Error { message } if message.contains("no such file")),
    )
    .await;
    assert_eq!(outline(&core.log(id).await), ["user one", "start", "error"]);
}

#[tokio::test]
async fn the_start_timeout_fails_the_turn_and_runs_the_queue() {
    let mut core =
        Core::new(|config| config.agent_start_timeout = Duration::from_millis(100)).await;
    let id = session();
    core.send(id, "one").await;
    let mut slow = core.agent().await;
    expect_turn(&mut slow, "one").await;
    core.send(id, "two").await;
    // Never Ready: after the deadline the turn fails and "two" gets a new agent.
    let mut next = core.agent().await;
    expect_turn(&mut next, "two").await;
    next.say(AgentOutput::Ready).await;
    reply(&next, "ok").await;
    core.until_state(id, |s| *s == SessionState::Idle).await;
    assert_eq!(outline(&core.log(id).await), FAILED_THEN_QUEUED);
}

#[tokio::test]
async fn stop_drops_the_queue_but_the_watchdog_does_not() {
    let mut core = Core::new(|config| {
        config.turn_silence = Duration::from_millis(100);
        config.cancel_step = Duration::from_millis(20);
    })
    .await;
    let id = session();
    core.send(id, "one").await;
    let mut agent = core.agent().await;
    expect_turn(&mut agent, "one").await;
    core.send(id, "two").await;
    // Silent: the watchdog stops the turn; the agent obeys, and "two" still runs.
    assert_eq!(agent.next_call().await, Some(DriverCall::Interrupt));
    agent
        .say(AgentOutput::TurnEnded {
            usage: Default::default(),
            stop_reason: "cancelled".into(),
        })
        .await;
    expect_turn(&mut agent, "two").await;
    core.send(id, "three").await;
    core.registry.cancel(id).await.expect("cancel accepted");
    assert_eq!(agent.next_call().await, Some(DriverCall::Interrupt));
    agent
        .say(AgentOutput::TurnEnded {
            usage: Default::default(),
            stop_reason: "cancelled".into(),
        })
        .await;
    core.until_state(id, |s| *s == SessionState::Idle).await;
    // "three" was stored but dropped by the Stop: two turns ran, not three, and the
    // transcript says it was not sent.
    let events = core.log(id).await;
    let log = outline(&events);
    assert!(log.contains(&"user three".to_owned()), "{log:?}");
    assert_eq!(log.iter().filter(|l| *l == "start").count(), 2, "{log:?}");
    assert!(events.iter().any(|e| matches!(e,
        SessionEvent::Notice { message } if message.contains("1 waiting message was not sent"))));
}

/// Whether a socket joining the session at the end of `log` would be told it is idle while a
/// turn it has seen start has not ended (the state being the last `StateChanged`).
fn idle_inside_a_turn(log: &[SessionEvent]) -> bool {
    let (mut state, mut in_turn) = (SessionState::Idle, false);
    for event in log {
        match event {
            SessionEvent::StateChanged { state: now } => state = now.clone(),
            SessionEvent::TurnStarted { .. } => in_turn = true,
            SessionEvent::TurnCompleted { .. } | SessionEvent::Error { .. } => in_turn = false,
            _ => {}
        }
    }
    in_turn && state == SessionState::Idle
}

#[tokio::test]
async fn no_point_of_the_log_or_the_stream_says_idle_inside_a_turn() {
    let mut core = Core::new(|_| {}).await;
    let id = session();
    core.send(id, "one").await;
    let mut agent = core.agent().await;
    for text in ["one", "two"] {
        if text != "one" {
            core.send(id, text).await;
        }
        expect_turn(&mut agent, text).await;
        // A socket joining now gets a snapshot that agrees with the log up to its seq.
        let snapshot = core.registry.stream(id).expect("known").snapshot();
        assert_ne!(snapshot.state, SessionState::Idle, "mid-turn snapshot");
        reply(&agent, "done").await;
        core.until_state(id, |s| *s == SessionState::Idle).await;
    }
    let log = core.log(id).await;
    for end in 1..=log.len() {
        assert!(
            !idle_inside_a_turn(&log[..end]),
            "idle inside a turn at event {end}: {:?}",
            &log[..end]
        );
    }
}
