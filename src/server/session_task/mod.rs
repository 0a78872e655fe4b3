//! The session task: the one owner of a session's agent process, seq counter, pending
//! permission requests, queue of waiting messages and state. Everything that happens to a
//! session passes through its command channel or its agent's output channel, here. Its
//! state is never set by hand: [`SessionTask::derive_state`] computes it from what the task
//! holds, and the run loop publishes it after every step.
//! `turns.rs` runs turns and ends them (one `finish_turn`); `lifecycle.rs` starts and stops
//! the agent; `record.rs` stores and publishes.

mod adopt;
mod budget;
mod changes;
mod import;
mod lifecycle;
mod record;
mod running;
mod turns;

#[cfg(test)]
mod tests;

use running::RunningAgent;

use super::agent::{AgentLauncher, TurnInput};
use super::agent_pool::{AgentPool, SlotNews, SlotWait};
use super::catalog::AgentCatalog;
use super::config::Config;
use super::db::Db;
use super::registry::SessionCommand;
use super::session_stream::SessionStream;
use crate::protocol::{
    ClientMsgId, EntryCounter, PermissionOption, RequestId, ServerFrame, Session, SessionPatch,
    SessionState,
};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot, Notify};
use tokio::time::Instant;

/// Longest preview kept for the sidebar, in chars.
const PREVIEW_CHARS: usize = 140;
/// Unreadable agent lines reported per turn before the rest are only logged.
const GARBLED_REPORTS_PER_TURN: u32 = 3;

/// What a session task needs from the server: storage, settings, agents, and where to
/// publish.
pub struct TaskContext {
    /// The database.
    pub db: Db,
    /// The configuration.
    pub config: Arc<Config>,
    /// The agents this server knows (their modes).
    pub catalog: Arc<AgentCatalog>,
    /// What starts agent processes (the catalog; a scripted one in tests).
    pub launcher: Arc<dyn AgentLauncher>,
    /// The cap on live agents, shared by every session.
    pub pool: Arc<AgentPool>,
    /// Session list summaries for every socket (created, updated, removed), and project
    /// list changes.
    pub list: broadcast::Sender<ServerFrame>,
    /// The projects (where agents may run) and the git program.
    pub projects: Arc<super::projects::Projects>,
    /// The runners agents live in (`None`: agents are the server's own children).
    pub runners: Option<Arc<super::runner::Runners>>,
    /// Budgets and what is spent against them, server-wide.
    pub spending: Arc<super::spending::Spending>,
}

/// The turn in progress: from the moment a message is taken up until `finish_turn`.
struct Turn {
    /// The message it answers, kept to send again if the agent has to be restarted.
    input: TurnInput,
    /// When it was taken up, for its wall time.
    started: Instant,
    /// Seq of its TurnStarted event: prefixes message ids, which agents reuse across restarts.
    start_seq: u64,
    /// Set while the turn waits for a live-agent slot; the message goes to the agent once
    /// the slot is granted.
    slot: Option<SlotWait>,
    /// The newest assistant message's text so far, for the preview.
    reply: String,
    /// Which message `reply` holds.
    reply_id: String,
    /// When the agent last said anything in this turn (or the user answered it), for the
    /// silence watchdog.
    last_heard: Instant,
    /// Unreadable lines reported in this turn (the rest are only logged).
    garbled_reports: u32,
    /// Whether the agent said anything for the transcript in this turn.
    heard: bool,
    /// Whether the agent was already restarted once for this turn.
    restarted: bool,
    /// What it has spent so far, as last reported (stored with it if the agent reports
    /// nothing at its end, e.g. when stopped).
    usage_so_far: crate::protocol::Usage,
    /// The user allowed this turn past a used-up budget: it is not stopped for one.
    budget_exempt: bool,
}

impl Turn {
    /// A turn of `input` whose `TurnStarted` is at `start_seq`, begun at `started`.
    fn new(input: TurnInput, start_seq: u64, started: Instant) -> Turn {
        Turn {
            input,
            started,
            start_seq,
            slot: None,
            reply: String::new(),
            reply_id: String::new(),
            last_heard: Instant::now(),
            garbled_reports: 0,
            heard: false,
            restarted: false,
            usage_so_far: crate::protocol::Usage::default(),
            budget_exempt: false,
        }
    }
}

/// How a turn ended; [`SessionTask::finish_turn`] does the rest by one rule.
#[derive(Debug)]
pub(super) enum TurnOutcome {
    /// The agent finished the turn (`end_turn`, or `cancelled` after a Stop it obeyed).
    Completed {
        usage: crate::protocol::Usage,
        stop_reason: String,
    },
    /// Stopped before the agent was reached (while waiting for a slot), or the agent
    /// exited on Stop's ladder.
    Cancelled,
    /// The agent failed or could not be started: the session shows the error.
    Failed {
        message: String,
        detail: Option<String>,
    },
}

/// Where a Stop or End is on its ladder: protocol cancel, then SIGINT, SIGTERM, SIGKILL.
/// Stays set until the turn ends or the process exits, so an exit it caused reads as a
/// stop, not a crash.
struct StopLadder {
    /// The next rung: 1 SIGINT, 2 SIGTERM, then SIGKILL.
    next_step: u8,
    /// When to take the next step; `None` once SIGKILL was sent.
    at: Option<Instant>,
}

/// Why the session is not simply idle after its last turn: shown as its state until the
/// next turn starts.
#[derive(Debug, Clone, PartialEq)]
enum Setback {
    /// The last turn failed.
    Failed(String),
    /// The last turn was cut short (the server restarted during it).
    Interrupted(String),
}

/// A session's task state.
pub struct SessionTask {
    /// The session's metadata as stored and published. `state` always holds what
    /// `derive_state` last returned.
    session: Session,
    /// False until the first message is stored: drafts never reach the database.
    stored: bool,
    /// Set once a write failed: nothing more is stored, and the session shows why.
    storage_error: Option<String>,
    /// Where its log and row are stored.
    db: Db,
    /// Limits and timeouts (start, silence, Stop's steps, idle agents).
    config: Arc<Config>,
    /// The agents this server can run (this session's modes).
    catalog: Arc<AgentCatalog>,
    /// Starts this session's agent.
    launcher: Arc<dyn AgentLauncher>,
    /// This session's ordered stream (events and patches) and its snapshot.
    stream: Arc<SessionStream>,
    /// Session list summaries for sockets not subscribed to this session.
    list: broadcast::Sender<ServerFrame>,
    /// The agent process, while one runs.
    agent: Option<RunningAgent>,
    /// The turn in progress.
    turn: Option<Turn>,
    /// Messages sent while a turn was running, started in order after it.
    queue: VecDeque<TurnInput>,
    /// Open permission requests and the options each offered.
    pending_permissions: HashMap<RequestId, Vec<PermissionOption>>,
    /// Message ids already accepted, so a resent Send makes no second turn.
    seen_messages: HashSet<ClientMsgId>,
    /// Which events start transcript rows (`entry_count`).
    entries: EntryCounter,
    /// When each running tool call started (ms), so its result carries how long it ran.
    tool_started: HashMap<String, i64>,
    /// Stop's ladder, while a stop is under way.
    stopping: Option<StopLadder>,
    /// Set while an agent starts: if it is not ready by then, the turn fails instead of
    /// waiting forever.
    start_deadline: Option<Instant>,
    /// The cap on live agents this session's agent counts against.
    pool: Arc<AgentPool>,
    /// Fired by the pool when it needs this session's idle agent stopped.
    reap: Arc<Notify>,
    /// The last message sent, for Retry.
    last_input: Option<TurnInput>,
    /// Set when the agent could not resume its conversation: the next start is fresh.
    start_fresh: bool,
    /// How the last turn went wrong, until the next one starts.
    setback: Option<Setback>,
    /// Set when the session was ended.
    archived: bool,
    /// Answers to Sends of this step, given once the step's state is published.
    answers: Vec<Answer>,
    /// The projects (to check the folder before each agent start) and git.
    projects: Arc<super::projects::Projects>,
    /// Counting the changes: when to start (debounced) and the count under way.
    counting: changes::Counting,
    /// The runners agents live in, to take over this session's agent after a restart.
    runners: Option<Arc<super::runner::Runners>>,
    /// The runner output being handled: stored with the first event it makes.
    cursor: Option<adopt::PendingCursor>,
    /// Budgets and spending, server-wide.
    spending: Arc<super::spending::Spending>,
    /// The budget level the transcript has already been told of (no repeated notices).
    budget_noticed: Option<crate::protocol::BudgetLevel>,
    /// The user allowed one more turn past a used-up budget ("Allow one more turn").
    allow_turn: bool,
    /// The machine (its name) whose runner holds the agent and is out of contact: the
    /// session shows so, and its turn is not stopped as silent meanwhile.
    unreachable: Option<String>,
    /// After a start: the runner of the session's machine, which may hold the agent of the
    /// turn the server stopped in, has not dialled in yet; fires when it has.
    machine_wait: Option<tokio::sync::watch::Receiver<bool>>,
}

/// A Send's answer, held until the step that took the message up is published.
struct Answer {
    reply: oneshot::Sender<Result<(), crate::server::registry::ServiceError>>,
    result: Result<(), crate::server::registry::ServiceError>,
}

impl SessionTask {
    /// A task for a session; `stored` says whether its row exists yet.
    pub fn new(
        session: Session,
        stored: bool,
        context: &TaskContext,
        stream: Arc<SessionStream>,
    ) -> Self {
        SessionTask {
            catalog: Arc::clone(&context.catalog),
            launcher: Arc::clone(&context.launcher),
            session,
            stored,
            storage_error: None,
            db: context.db.clone(),
            config: Arc::clone(&context.config),
            stream,
            list: context.list.clone(),
            agent: None,
            turn: None,
            queue: VecDeque::new(),
            pending_permissions: HashMap::new(),
            seen_messages: HashSet::new(),
            entries: EntryCounter::default(),
            tool_started: HashMap::new(),
            stopping: None,
            start_deadline: None,
            pool: Arc::clone(&context.pool),
            reap: Arc::new(Notify::new()),
            last_input: None,
            start_fresh: false,
            setback: None,
            archived: false,
            answers: Vec::new(),
            projects: Arc::clone(&context.projects),
            counting: changes::Counting::default(),
            runners: context.runners.clone(),
            cursor: None,
            spending: Arc::clone(&context.spending),
            budget_noticed: None,
            allow_turn: false,
            unreachable: None,
            machine_wait: None,
        }
    }

    /// The session's state, from what the task holds: ended, storage failing, a turn
    /// (waiting for a slot, asking the user, or working), or between turns (idle, or how
    /// the last turn went wrong).
    fn derive_state(&self) -> SessionState {
        if self.archived {
            return SessionState::Archived;
        }
        if let Some(cause) = &self.storage_error {
            return SessionState::Error {
                message: format!("Storage failed, nothing more is saved: {cause}"),
            };
        }
        let holds_agent = self.agent.is_some() || self.machine_wait.is_some();
        if let Some(machine) = self.unreachable.as_ref().filter(|_| holds_agent) {
            return SessionState::Unreachable {
                machine: machine.clone(),
            };
        }
        match (&self.turn, &self.setback) {
            (Some(turn), _) => match &turn.slot {
                Some(wait) => SessionState::WaitingForAgent {
                    ahead: wait.ahead(),
                },
                None if !self.pending_permissions.is_empty() => SessionState::AwaitingPermission,
                None => SessionState::Working,
            },
            (None, None) => SessionState::Idle,
            (None, Some(Setback::Failed(message))) => SessionState::Error {
                message: message.clone(),
            },
            (None, Some(Setback::Interrupted(reason))) => SessionState::Interrupted {
                reason: reason.clone(),
            },
        }
    }

    /// Brings a stored session up to date after a server start, before anyone sees it: it
    /// learns the ids of stored messages (to drop resends) and a turn the server died in
    /// becomes Interrupted, with a notice.
    async fn recover(&mut self) {
        match self.db.client_msg_ids(self.session.id).await {
            Ok(ids) => self.seen_messages.extend(ids),
            Err(e) => tracing::error!(session = %self.session.id, "cannot read message ids: {e}"),
        }
        self.recover_budget();
        let adopted = self.adopt_agent().await;
        let busy = match self.session.state {
            // Stored while its machine was out of contact: whether a turn ran is in the log.
            SessionState::Unreachable { .. } => self.turn_open_in_log().await,
            ref state => state.is_busy(),
        };
        if busy && adopted {
            // Its runner kept the agent: the turn goes on, and so do its questions.
            self.rebuild_turn().await;
        } else if busy && !self.wait_for_machine() {
            // (Waiting: another machine's runner may hold it and not have dialled in yet.)
            self.interrupted_by_restart().await;
        } else if !busy {
            match &self.session.state {
                SessionState::Error { message } => {
                    self.setback = Some(Setback::Failed(message.clone()))
                }
                SessionState::Interrupted { reason } => {
                    self.setback = Some(Setback::Interrupted(reason.clone()))
                }
                _ => {}
            }
        }
        if adopted && self.turn.is_none() {
            self.agent_went_idle();
        }
        self.publish_state().await;
    }

    /// Runs until the session is archived or the server shuts down; `recovered` fires
    /// once a stored session is up to date.
    pub async fn run(
        mut self,
        mut commands: mpsc::Receiver<SessionCommand>,
        recovered: oneshot::Sender<()>,
    ) {
        if self.stored {
            self.recover().await;
        }
        let _ = recovered.send(());
        if self.stored {
            // Counted once at start (a restart forgets the figures); after that only when
            // something may have changed the files: no polling while idle.
            self.counting.soon();
        }
        loop {
            let ladder_at = self.stopping.as_ref().and_then(|ladder| ladder.at);
            let silence_at = self.silence_deadline();
            let idle_at = self
                .agent
                .as_ref()
                .and_then(|agent| agent.idle_since)
                .map(|since| since + self.config.idle_agent_timeout);
            tokio::select! {
                command = commands.recv() => match command {
                    Some(SessionCommand::Shutdown) | None => break,
                    Some(command) => {
                        if self.on_command(command).await.is_break() {
                            break;
                        }
                    }
                },
                output = next_output(&mut self.agent) => self.on_numbered(output).await,
                news = slot_news(&mut self.turn) => {
                    if let SlotNews::Granted(lease) = news {
                        self.slot_granted(lease).await;
                    }
                }
                () = sleep_until(ladder_at) => self.ladder_step(),
                () = sleep_until(self.start_deadline) => self.start_timed_out().await,
                () = sleep_until(self.counting.due()) => self.start_count(),
                count = self.counting.result() => self.counted(count).await,
                () = sleep_until(silence_at) => self.turn_went_silent().await,
                () = sleep_until(idle_at) => self.stop_idle_agent("idle").await,
                () = machine_hello(&mut self.machine_wait) => self.machine_back().await,
                () = self.reap.notified() => self.stop_idle_agent("needed for another session").await,
            }
            // Whatever happened (a turn ended, a message came), the next queued message is
            // taken up, and the state follows from it, published in order after it.
            self.take_up_queued().await;
            self.publish_state().await;
            self.publish_placement().await;
            for Answer { reply, result } in self.answers.drain(..) {
                let _ = reply.send(result);
            }
        }
        if !self.archived && self.agent.as_mut().is_some_and(|a| a.driver.keep_running()) {
            // The server stops, the agent runs on in its runner; the next server takes it.
            return;
        }
        self.kill_agent().await;
    }

    /// When the running turn counts as silent: never while the user is being asked, while
    /// it waits for a slot, or while a stop is already under way.
    fn silence_deadline(&self) -> Option<Instant> {
        let turn = self.turn.as_ref()?;
        let waiting_for_user = !self.pending_permissions.is_empty();
        let quiet = waiting_for_user || self.unreachable.is_some();
        (!quiet && self.stopping.is_none() && turn.slot.is_none())
            .then(|| turn.last_heard + self.config.turn_silence)
    }

    async fn on_command(&mut self, command: SessionCommand) -> std::ops::ControlFlow<()> {
        match command {
            SessionCommand::Send {
                client_msg_id,
                text,
                attachments,
                reply,
            } => {
                let result = self.send(client_msg_id, text, attachments).await;
                // Answered after this step's take-up and state (the run loop): whoever sent
                // it never sees the session idle with its message accepted.
                self.answers.push(Answer { reply, result });
            }
            SessionCommand::Cancel => self.cancel().await,
            SessionCommand::SetPermissionMode { mode, reply } => {
                let _ = reply.send(self.set_permission_mode(mode).await);
            }
            SessionCommand::Retry { reply } => {
                let _ = reply.send(self.retry().await);
            }
            SessionCommand::AnswerPermission {
                request_id,
                option_id,
                reply,
            } => {
                let result = self.answer_permission(request_id, option_id).await;
                let _ = reply.send(result);
            }
            SessionCommand::Viewers { delta } => self.viewers_changed(delta).await,
            SessionCommand::Recount => self.counting.soon(),
            SessionCommand::BudgetChanged => self.check_budget().await,
            SessionCommand::AllowTurn => self.allow_turn = true,
            SessionCommand::Rename { title, reply } => {
                let title = title.trim().chars().take(200).collect::<String>();
                let result = if title.is_empty() {
                    Err(crate::server::registry::ServiceError::Invalid(
                        "the title is empty".into(),
                    ))
                } else {
                    self.publish(SessionPatch {
                        title: Some(title),
                        ..SessionPatch::default()
                    })
                    .await;
                    Ok(())
                };
                let _ = reply.send(result);
            }
            SessionCommand::Archive { reply } => {
                self.archive().await;
                let _ = reply.send(());
                return std::ops::ControlFlow::Break(());
            }
            SessionCommand::Import { batch, reply } => {
                let _ = reply.send(self.import(batch).await);
            }
            SessionCommand::Shutdown => return std::ops::ControlFlow::Break(()),
        }
        std::ops::ControlFlow::Continue(())
    }
}

async fn next_output(agent: &mut Option<RunningAgent>) -> super::agent::Numbered {
    match agent {
        Some(agent) => agent.next().await,
        None => std::future::pending().await,
    }
}

/// Fires once the awaited machine's runner has said hello; never without one.
async fn machine_hello(wait: &mut Option<tokio::sync::watch::Receiver<bool>>) {
    match wait {
        Some(hello) => {
            if hello.wait_for(|said| *said).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

/// News of the running turn's place in line for an agent slot, if it waits for one.
async fn slot_news(turn: &mut Option<Turn>) -> SlotNews {
    match turn.as_mut().and_then(|turn| turn.slot.as_mut()) {
        Some(slot) => slot.news().await,
        None => std::future::pending().await,
    }
}

pub(crate) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn clip(text: &str, max_chars: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max_chars {
        flat
    } else {
        let mut cut: String = flat.chars().take(max_chars - 1).collect();
        cut.push('…');
        cut
    }
}
