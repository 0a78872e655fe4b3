//! The session task: the one owner of a session's agent process, seq counter, pending
//! permission requests, queue of waiting messages and state. Everything that happens to a
//! session passes through its command channel or its agent's output channel, here.
//! `turns.rs` runs turns and reacts to the agent; `record.rs` stores and publishes.

mod lifecycle;
mod record;
mod running;
mod turns;

use running::RunningAgent;

use super::agent::{AgentOutput, TurnInput};
use super::agent_pool::AgentPool;
use super::catalog::AgentCatalog;
use super::config::Config;
use super::db::Db;
use super::registry::SessionCommand;
use crate::protocol::{
    ClientMsgId, EntryCounter, PermissionOption, RequestId, ServerFrame, Session, SessionEvent,
    SessionPatch, SessionState,
};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot, watch, Notify};
use tokio::time::Instant;

/// Longest preview kept for the sidebar, in chars.
const PREVIEW_CHARS: usize = 140;
/// Unreadable agent lines reported per turn before the rest are only logged.
const GARBLED_REPORTS_PER_TURN: u32 = 3;

/// The channels a session task publishes on.
pub struct Channels {
    /// This session's stored events, as `ServerFrame::Event`.
    /// (Behind an `Arc`: the ring is allocated up front for every session, so its slots
    /// stay pointer-sized.)
    pub events: broadcast::Sender<Arc<super::wire::WireFrame>>,
    /// Session list changes for every socket (created, updated, removed).
    pub list: broadcast::Sender<ServerFrame>,
    /// The task's current view of the session.
    pub snapshot: watch::Sender<Session>,
}

/// The turn in progress.
struct Turn {
    /// The message it answers, kept to send again if the agent has to be restarted.
    input: TurnInput,
    started: Instant,
    /// Seq of its TurnStarted event: prefixes message ids, which agents reuse across restarts.
    start_seq: u64,
    /// The newest assistant message's text so far, for the preview.
    reply: String,
    /// Which message `reply` holds.
    reply_id: String,
    /// When the agent last said anything in this turn (or the user answered it), for the
    /// silence watchdog.
    last_heard: Instant,
    garbled_reports: u32,
    /// Whether the agent said anything for the transcript in this turn.
    heard: bool,
    /// Whether the agent was already restarted once for this turn.
    restarted: bool,
}

/// Where a Stop or End is on its ladder: protocol cancel, then SIGINT, SIGTERM, SIGKILL.
/// Stays set until the turn ends or the process exits, so an exit it caused reads as a
/// stop, not a crash.
struct StopLadder {
    next_step: u8,
    /// When to take the next step; `None` once SIGKILL was sent.
    at: Option<Instant>,
}

/// A session's task state.
pub struct SessionTask {
    session: Session,
    /// False until the first message is stored: drafts never reach the database.
    stored: bool,
    /// Why the last write failed, for the answer to whoever asked for it.
    storage_error: Option<String>,
    db: Db,
    config: Arc<Config>,
    /// The agents this server can run (how to start this session's).
    catalog: Arc<AgentCatalog>,
    channels: Channels,
    agent: Option<RunningAgent>,
    turn: Option<Turn>,
    /// Messages sent while a turn was running, started in order after it.
    queue: VecDeque<TurnInput>,
    /// Open permission requests and the options each offered.
    pending_permissions: HashMap<RequestId, Vec<PermissionOption>>,
    /// Message ids already accepted, so a resent Send makes no second turn.
    seen_messages: HashSet<ClientMsgId>,
    /// Which events start transcript entries (`message_count`).
    entries: EntryCounter,
    /// When each running tool call started (ms), so its result carries how long it ran.
    tool_started: HashMap<String, i64>,
    stopping: Option<StopLadder>,
    /// Set while an agent starts: if it is not ready by then, the session shows an error
    /// instead of waiting forever.
    start_deadline: Option<Instant>,
    /// The cap on live agents this session's agent counts against.
    pool: Arc<AgentPool>,
    /// Fired by the pool when it needs this session's idle agent stopped.
    reap: Arc<Notify>,
    /// The last message sent, for Retry.
    last_input: Option<TurnInput>,
    /// Set when the agent could not resume its conversation: the next start is fresh.
    start_fresh: bool,
}

impl SessionTask {
    /// A task for a session; `stored` says whether its row exists yet.
    pub fn new(
        session: Session,
        stored: bool,
        db: Db,
        config: Arc<Config>,
        catalog: Arc<AgentCatalog>,
        channels: Channels,
        pool: Arc<AgentPool>,
    ) -> Self {
        SessionTask {
            catalog,
            session,
            stored,
            storage_error: None,
            db,
            config,
            channels,
            agent: None,
            turn: None,
            queue: VecDeque::new(),
            pending_permissions: HashMap::new(),
            seen_messages: HashSet::new(),
            entries: EntryCounter::default(),
            tool_started: HashMap::new(),
            stopping: None,
            start_deadline: None,
            pool,
            reap: Arc::new(Notify::new()),
            last_input: None,
            start_fresh: false,
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
        if self.session.state.is_busy() {
            // The server stopped during a turn: say so instead of showing it as working forever.
            self.record(SessionEvent::Notice {
                message: "The server restarted during this turn; it was interrupted. Send a message to continue.".into(),
            })
            .await;
            self.set_state(SessionState::Interrupted {
                reason: "server restarted".into(),
            })
            .await;
        }
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
                output = next_output(&mut self.agent) => self.on_output(output).await,
                () = sleep_until(ladder_at) => self.ladder_step(),
                () = sleep_until(self.start_deadline) => self.start_timed_out().await,
                () = sleep_until(silence_at) => self.turn_went_silent().await,
                () = sleep_until(idle_at) => self.stop_idle_agent("idle").await,
                () = self.reap.notified() => self.stop_idle_agent("needed for another session").await,
            }
        }
        self.kill_agent().await;
    }

    /// When the running turn counts as silent: never while the user is being asked, or
    /// while a stop is already under way.
    fn silence_deadline(&self) -> Option<Instant> {
        let turn = self.turn.as_ref()?;
        let waiting_for_user = !self.pending_permissions.is_empty();
        (!waiting_for_user && self.stopping.is_none())
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
                let _ = reply.send(result);
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
            SessionCommand::Rename { title } => {
                let title = title.trim().chars().take(200).collect::<String>();
                if !title.is_empty() {
                    self.publish(SessionPatch {
                        title: Some(title),
                        ..SessionPatch::default()
                    })
                    .await;
                }
            }
            SessionCommand::Archive { reply } => {
                self.archive().await;
                let _ = reply.send(());
                return std::ops::ControlFlow::Break(());
            }
            SessionCommand::Shutdown => return std::ops::ControlFlow::Break(()),
        }
        std::ops::ControlFlow::Continue(())
    }
}

async fn next_output(agent: &mut Option<RunningAgent>) -> AgentOutput {
    match agent {
        Some(agent) => agent.next().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_are_one_short_line() {
        assert_eq!(clip("a\nb   c", 10), "a b c");
        assert_eq!(clip(&"x".repeat(200), 10).chars().count(), 10);
    }
}
