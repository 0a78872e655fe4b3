//! The session task: the one owner of a session's agent process, seq counter, pending
//! permission requests, queue of waiting messages and state. Everything that happens to a
//! session passes through its command channel or its agent's output channel, here.

use super::agent::{self, AgentDriver, AgentOutput, StartRequest, TurnInput};
use super::config::Config;
use super::db::Db;
use super::registry::{ServiceError, SessionCommand};
use crate::protocol::{
    ClientMsgId, RequestId, ServerFrame, Session, SessionEvent, SessionPatch, SessionState,
};
use nix::sys::signal::Signal;
use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;

/// Longest preview kept for the sidebar, in chars.
const PREVIEW_CHARS: usize = 140;
/// Longest title made from a first message, in chars.
const TITLE_CHARS: usize = 60;
/// Unreadable agent lines reported per turn before the rest are only logged.
const GARBLED_REPORTS_PER_TURN: u32 = 3;

/// The channels a session task publishes on.
pub struct Channels {
    /// This session's stored events, as `ServerFrame::Event`.
    pub events: broadcast::Sender<ServerFrame>,
    /// Session list changes for every socket (created, updated, removed).
    pub list: broadcast::Sender<ServerFrame>,
    /// The task's current view of the session.
    pub snapshot: watch::Sender<Session>,
}

struct RunningAgent {
    driver: Box<dyn AgentDriver>,
    outputs: mpsc::Receiver<AgentOutput>,
}

/// The turn in progress.
struct Turn {
    started: Instant,
    /// Seq of its TurnStarted event: prefixes message ids, which agents reuse across restarts.
    start_seq: u64,
    /// The assistant text so far, for the preview.
    reply: String,
    garbled_reports: u32,
}

/// Where a Stop or End is on its ladder: protocol cancel, then SIGINT, SIGTERM, SIGKILL.
struct StopLadder {
    next_step: u8,
    at: Instant,
}

/// A session's task state.
pub struct SessionTask {
    session: Session,
    /// False until the first message is stored: drafts never reach the database.
    stored: bool,
    db: Db,
    config: Arc<Config>,
    channels: Channels,
    agent: Option<RunningAgent>,
    turn: Option<Turn>,
    /// Messages sent while a turn was running, started in order after it.
    queue: VecDeque<TurnInput>,
    pending_permissions: HashSet<RequestId>,
    /// Message ids already accepted, so a resent Send makes no second turn.
    seen_messages: HashSet<ClientMsgId>,
    /// Assistant message ids already counted as transcript entries.
    counted_messages: HashSet<String>,
    stopping: Option<StopLadder>,
}

impl SessionTask {
    /// A task for a session; `stored` says whether its row exists yet.
    pub fn new(session: Session, stored: bool, db: Db, config: Arc<Config>, channels: Channels) -> Self {
        SessionTask {
            session,
            stored,
            db,
            config,
            channels,
            agent: None,
            turn: None,
            queue: VecDeque::new(),
            pending_permissions: HashSet::new(),
            seen_messages: HashSet::new(),
            counted_messages: HashSet::new(),
            stopping: None,
        }
    }

    /// Runs until the session is archived or the server shuts down.
    pub async fn run(mut self, mut commands: mpsc::Receiver<SessionCommand>) {
        if self.stored && self.session.state.is_busy() {
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
        loop {
            let ladder_at = self.stopping.as_ref().map(|ladder| ladder.at);
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
            }
        }
        self.kill_agent().await;
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
            SessionCommand::AnswerPermission {
                request_id,
                option_id,
                reply,
            } => {
                let result = self.answer_permission(request_id, option_id).await;
                let _ = reply.send(result);
            }
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

    async fn send(
        &mut self,
        client_msg_id: ClientMsgId,
        text: String,
        attachments: Vec<crate::protocol::Attachment>,
    ) -> Result<(), ServiceError> {
        if self.session.state == SessionState::Archived {
            return Err(ServiceError::InvalidState("the session has ended".into()));
        }
        if !self.seen_messages.insert(client_msg_id) {
            return Ok(()); // a resend of a message we already have
        }
        if !self.stored {
            self.session.title = title_from(&text);
        }
        let preview = clip(&text, PREVIEW_CHARS);
        let stored = self
            .record(SessionEvent::UserMessage {
                client_msg_id,
                text: text.clone(),
                attachments,
            })
            .await;
        if !stored {
            return Err(ServiceError::Storage("the message could not be saved".into()));
        }
        self.publish(SessionPatch {
            preview: Some(preview),
            ..SessionPatch::default()
        })
        .await;
        let input = TurnInput { text };
        if self.turn.is_some() {
            self.queue.push_back(input);
        } else {
            self.start_turn(input).await;
        }
        Ok(())
    }

    async fn start_turn(&mut self, input: TurnInput) {
        if self.agent.is_none() && !self.start_agent().await {
            return;
        }
        let Some(agent) = self.agent.as_mut() else { return };
        if agent.driver.send_turn(input).is_err() {
            self.agent = None;
            return self.fail("The agent process is gone; send the message again to restart it.", None).await;
        }
        let start_seq = self.session.last_seq.next().0;
        self.record(SessionEvent::TurnStarted).await;
        self.turn = Some(Turn {
            started: Instant::now(),
            start_seq,
            reply: String::new(),
            garbled_reports: 0,
        });
        self.set_state(SessionState::Working).await;
    }

    async fn start_agent(&mut self) -> bool {
        self.set_state(SessionState::Starting).await;
        let request = StartRequest {
            kind: self.session.agent,
            cwd: PathBuf::from(&self.session.cwd),
            resume: self.session.agent_session_id.clone(),
            permission_mode: self.session.permission_mode.clone(),
        };
        match agent::start(&self.config, request) {
            Ok((driver, outputs)) => {
                tracing::info!(session = %self.session.id, pid = driver.process().pid(), "agent started");
                self.agent = Some(RunningAgent { driver, outputs });
                true
            }
            Err(e) => {
                self.fail(&format!("The {} could not be started: {e}", self.session.agent.label()), None)
                    .await;
                false
            }
        }
    }

    async fn answer_permission(&mut self, request_id: RequestId, option_id: String) -> Result<(), ServiceError> {
        if !self.pending_permissions.remove(&request_id) {
            return Err(ServiceError::InvalidState("no such permission request is open".into()));
        }
        let Some(agent) = self.agent.as_mut() else {
            return Err(ServiceError::InvalidState("the agent is not running".into()));
        };
        let _ = agent.driver.answer_permission(&request_id, &option_id);
        let allowed = matches!(option_id.as_str(), "allow" | "allow_once" | "allow_always")
            || option_id.starts_with("allow");
        self.record(SessionEvent::PermissionResolved {
            request_id,
            option_id: Some(option_id),
            allowed,
        })
        .await;
        if self.pending_permissions.is_empty() && self.turn.is_some() {
            self.set_state(SessionState::Working).await;
        }
        Ok(())
    }

    async fn cancel(&mut self) {
        self.queue.clear();
        if self.turn.is_none() {
            return;
        }
        self.resolve_open_permissions().await;
        if let Some(agent) = self.agent.as_mut() {
            let _ = agent.driver.interrupt();
            self.stopping = Some(StopLadder {
                next_step: 1,
                at: Instant::now() + self.config.cancel_step,
            });
        } else {
            self.end_turn(Default::default(), "cancelled").await;
        }
    }

    async fn resolve_open_permissions(&mut self) {
        for request_id in std::mem::take(&mut self.pending_permissions) {
            self.record(SessionEvent::PermissionResolved {
                request_id,
                option_id: None,
                allowed: false,
            })
            .await;
        }
    }

    /// One rung of the stop ladder: the agent ignored the previous, harder now.
    fn ladder_step(&mut self) {
        let (Some(ladder), Some(agent)) = (self.stopping.as_mut(), self.agent.as_ref()) else {
            self.stopping = None;
            return;
        };
        let signal = match ladder.next_step {
            1 => Signal::SIGINT,
            2 => Signal::SIGTERM,
            _ => Signal::SIGKILL,
        };
        tracing::info!(session = %self.session.id, ?signal, "agent ignored stop; signalling its group");
        agent.driver.process().signal(signal);
        ladder.next_step += 1;
        ladder.at = Instant::now() + self.config.cancel_step;
        if signal == Signal::SIGKILL {
            self.stopping = None;
        }
    }

    async fn on_output(&mut self, output: AgentOutput) {
        match output {
            AgentOutput::Ready { agent_session_id } => {
                if self.session.agent_session_id.as_deref() != Some(agent_session_id.as_str()) {
                    self.publish(SessionPatch {
                        agent_session_id: Some(agent_session_id),
                        ..SessionPatch::default()
                    })
                    .await;
                }
            }
            AgentOutput::Event(event) => self.on_agent_event(event).await,
            AgentOutput::TurnEnded { usage, stop_reason } => {
                self.stopping = None;
                self.end_turn(usage, &stop_reason).await;
            }
            AgentOutput::Garbled(message) => {
                tracing::warn!(session = %self.session.id, "unreadable agent output: {message}");
                let report = match self.turn.as_mut() {
                    Some(turn) => {
                        turn.garbled_reports += 1;
                        turn.garbled_reports <= GARBLED_REPORTS_PER_TURN
                    }
                    None => true,
                };
                if report {
                    self.record(SessionEvent::Notice {
                        message: format!("The agent printed something Switchboard could not read: {message}"),
                    })
                    .await;
                }
            }
            AgentOutput::Failed(message) => {
                self.agent = None;
                self.turn = None;
                self.fail(&message, None).await;
            }
            AgentOutput::Exited { code, stderr_tail } => self.on_exit(code, stderr_tail).await,
        }
    }

    async fn on_agent_event(&mut self, mut event: SessionEvent) {
        let start_seq = self.turn.as_ref().map(|t| t.start_seq).unwrap_or(0);
        match &mut event {
            SessionEvent::AssistantDelta { message_id, text } | SessionEvent::AssistantMessage { message_id, text } => {
                *message_id = format!("{start_seq}:{message_id}");
                if let Some(turn) = self.turn.as_mut() {
                    turn.reply.push_str(text);
                }
            }
            SessionEvent::Thinking { message_id, .. } => *message_id = format!("{start_seq}:{message_id}"),
            SessionEvent::PermissionRequested { request_id, .. } => {
                self.pending_permissions.insert(request_id.clone());
            }
            _ => {}
        }
        let awaiting = matches!(event, SessionEvent::PermissionRequested { .. });
        self.record(event).await;
        if awaiting {
            self.set_state(SessionState::AwaitingPermission).await;
        }
    }

    async fn end_turn(&mut self, usage: crate::protocol::Usage, stop_reason: &str) {
        let Some(turn) = self.turn.take() else { return };
        self.pending_permissions.clear();
        self.record(SessionEvent::TurnCompleted {
            usage,
            duration_ms: turn.started.elapsed().as_millis() as u64,
            stop_reason: stop_reason.to_owned(),
        })
        .await;
        let mut total = self.session.usage;
        total.add(&usage);
        let reply = turn.reply.trim();
        self.publish(SessionPatch {
            usage: Some(total),
            preview: (!reply.is_empty()).then(|| clip(reply, PREVIEW_CHARS)),
            state: Some(SessionState::Idle),
            ..SessionPatch::default()
        })
        .await;
        if let Some(next) = self.queue.pop_front() {
            self.start_turn(next).await;
        }
    }

    async fn on_exit(&mut self, code: Option<i32>, stderr_tail: String) {
        self.agent = None;
        let was_stopping = self.stopping.take().is_some();
        tracing::info!(session = %self.session.id, ?code, "agent exited");
        if self.turn.is_none() {
            return;
        }
        if was_stopping {
            return self.end_turn(Default::default(), "cancelled").await;
        }
        self.turn = None;
        self.queue.clear();
        self.pending_permissions.clear();
        let status = code.map_or_else(|| "a signal".to_owned(), |c| format!("status {c}"));
        let detail = (!stderr_tail.is_empty()).then_some(stderr_tail);
        self.fail(
            &format!("The agent exited with {status} in the middle of a turn. Send a message to restart it."),
            detail,
        )
        .await;
    }

    async fn fail(&mut self, message: &str, detail: Option<String>) {
        self.turn = None;
        self.record(SessionEvent::Error {
            message: message.to_owned(),
            detail,
        })
        .await;
        self.publish(SessionPatch {
            state: Some(SessionState::Error {
                message: message.to_owned(),
            }),
            preview: Some(clip(message, PREVIEW_CHARS)),
            ..SessionPatch::default()
        })
        .await;
    }

    async fn archive(&mut self) {
        self.kill_agent().await;
        if self.turn.take().is_some() {
            self.record(SessionEvent::Notice {
                message: "The session was ended during a turn.".into(),
            })
            .await;
        }
        if self.stored {
            self.set_state(SessionState::Archived).await;
        }
        let _ = self.channels.list.send(ServerFrame::SessionRemoved {
            session: self.session.id,
        });
    }

    /// Stops the agent for good: SIGTERM to its group, a grace period, then SIGKILL.
    async fn kill_agent(&mut self) {
        let Some(mut agent) = self.agent.take() else { return };
        agent.driver.process().signal(Signal::SIGTERM);
        let grace = self.config.cancel_step;
        let _ = tokio::time::timeout(grace, async {
            while let Some(output) = agent.outputs.recv().await {
                if matches!(output, AgentOutput::Exited { .. }) {
                    break;
                }
            }
        })
        .await;
        // Dropping the driver SIGKILLs the group, whatever is left of it.
        drop(agent);
    }

    async fn set_state(&mut self, state: SessionState) {
        if self.session.state != state {
            self.publish(SessionPatch {
                state: Some(state),
                ..SessionPatch::default()
            })
            .await;
        }
    }

    /// Stores an event under the next seq, then broadcasts it. Returns false when storage
    /// failed: then nobody sees the event and the session shows the failure.
    async fn record(&mut self, event: SessionEvent) -> bool {
        let now = now_ms();
        if !self.stored {
            self.session.created_at_ms = now;
            self.session.last_activity_ms = now;
            if let Err(e) = self.db.save_session(&self.session).await {
                tracing::error!(session = %self.session.id, "cannot store new session: {e}");
                return false;
            }
            self.stored = true;
            let _ = self.channels.list.send(ServerFrame::SessionCreated {
                session: self.session.clone(),
            });
        }
        let seq = self.session.last_seq.next();
        if let Err(e) = self.db.append_event(self.session.id, seq, now, &event).await {
            tracing::error!(session = %self.session.id, %seq, "cannot store event: {e}");
            self.storage_failed(&e.to_string());
            return false;
        }
        self.session.last_seq = seq;
        self.session.last_activity_ms = now;
        let new_entry = match &event {
            SessionEvent::AssistantDelta { message_id, .. }
            | SessionEvent::AssistantMessage { message_id, .. }
            | SessionEvent::Thinking { message_id, .. } => self.counted_messages.insert(message_id.clone()),
            other => other.is_entry(),
        };
        let _ = self.channels.events.send(ServerFrame::Event {
            session: self.session.id,
            seq,
            event,
        });
        if new_entry {
            self.publish(SessionPatch {
                message_count: Some(self.session.message_count + 1),
                last_activity_ms: Some(now),
                ..SessionPatch::default()
            })
            .await;
        } else {
            self.channels.snapshot.send_replace(self.session.clone());
        }
        true
    }

    /// Storage is failing: show it without touching the log (which may be what fails).
    fn storage_failed(&mut self, cause: &str) {
        let patch = SessionPatch {
            state: Some(SessionState::Error {
                message: format!("Storage failed, nothing more is saved: {cause}"),
            }),
            ..SessionPatch::default()
        };
        self.session.apply(&patch);
        self.channels.snapshot.send_replace(self.session.clone());
        let _ = self.channels.list.send(ServerFrame::SessionUpdated {
            session: self.session.id,
            patch,
        });
    }

    /// Applies a metadata change: stored first, then shown to every socket.
    async fn publish(&mut self, patch: SessionPatch) {
        if patch.is_empty() {
            return;
        }
        self.session.apply(&patch);
        if self.stored {
            if let Err(e) = self.db.save_session(&self.session).await {
                tracing::error!(session = %self.session.id, "cannot store session: {e}");
            }
        }
        self.channels.snapshot.send_replace(self.session.clone());
        if self.stored {
            let _ = self.channels.list.send(ServerFrame::SessionUpdated {
                session: self.session.id,
                patch,
            });
        }
    }
}

async fn next_output(agent: &mut Option<RunningAgent>) -> AgentOutput {
    match agent {
        Some(agent) => agent.outputs.recv().await.unwrap_or(AgentOutput::Exited {
            code: None,
            stderr_tail: String::new(),
        }),
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

fn title_from(text: &str) -> String {
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("New session");
    clip(first_line, TITLE_CHARS)
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_previews_are_one_short_line() {
        assert_eq!(title_from("\n  fix the build\nplease"), "fix the build");
        assert_eq!(clip("a\nb   c", 10), "a b c");
        assert_eq!(clip(&"x".repeat(200), 10).chars().count(), 10);
    }
}
