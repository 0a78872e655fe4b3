//! Agents that live in a runner: each output's number is stored with what it made and then
//! acknowledged (persist before acknowledge); a restarted server takes over the agent its
//! runner kept, and rebuilds the running turn, its open permission questions and the
//! messages queued behind it from the log; an agent lost with its runner interrupts the
//! turn. Also publishes where the agent runs.

use super::{now_ms, RunningAgent, SessionTask, Setback, Turn, TurnOutcome};
use crate::protocol::{LoggedEvent, Seq, SessionEvent, SessionPatch};
use crate::server::agent::{Numbered, TurnInput};
use crate::server::agent_pool::Slot;
use crate::server::db::runner::OutputCursor;
use tokio::time::Instant;

/// The runner output being handled, and whether an event already carried its number.
pub(super) struct PendingCursor {
    /// The output.
    pub(super) cursor: OutputCursor,
    /// True once stored.
    pub(super) stored: bool,
}

impl SessionTask {
    /// One output from the agent. From a runner: handled, its number stored (with the first
    /// event it made, or alone), then acknowledged, so the runner forgets only what is
    /// safe; a server that dies in between is resent the output and stores it once.
    pub(super) async fn on_numbered(&mut self, Numbered { seq, output }: Numbered) {
        let key = self.agent.as_ref().and_then(|a| a.driver.runner_key());
        let Some(agent) = key.filter(|_| seq > 0) else {
            return self.on_output(output).await;
        };
        self.cursor = Some(PendingCursor {
            cursor: OutputCursor { agent, seq },
            stored: false,
        });
        self.on_output(output).await;
        let Some(pending) = self.cursor.take() else {
            return;
        };
        if !pending.stored {
            if self.storage_error.is_some() || !self.stored {
                return; // not stored, so not acknowledged: the runner keeps it
            }
            if let Err(e) = self
                .db
                .save_output_cursor(self.session.id, pending.cursor)
                .await
            {
                tracing::error!(session = %self.session.id, seq, "cannot store an output's number: {e}");
                return;
            }
        }
        if let Some(running) = self.agent.as_mut() {
            if running.driver.runner_key() == Some(agent) {
                running.driver.stored(seq);
            }
        }
    }

    /// After a server start: takes over the agent a runner kept for this session, if any,
    /// asking for its outputs after the last one stored. True when it did.
    pub(super) async fn adopt_agent(&mut self) -> bool {
        let Some(runners) = self.runners.clone() else {
            return false;
        };
        let stored = match self.db.output_cursor(self.session.id).await {
            Ok(cursor) => cursor,
            Err(e) => {
                tracing::error!(session = %self.session.id, "cannot read the output cursor: {e}");
                None
            }
        };
        let Some((link, held)) = runners.claim(self.session.id, stored.map(|c| c.agent)) else {
            return false;
        };
        // The folder is checked as before every start: the roots may have narrowed while
        // the server was down, and a kept agent must not go on working outside them.
        let cwd = std::path::Path::new(&self.session.cwd);
        let machine = self.machine();
        if let Err(e) = self.projects.check_folder(machine.as_deref(), cwd) {
            tracing::warn!(session = %self.session.id, "not taking over the kept agent: {e}");
            link.release(held.agent);
            return false;
        }
        // Outputs of a newer agent than the stored one: none of them is stored yet.
        let after = stored
            .filter(|c| c.agent == held.agent)
            .map_or(0, |c| c.seq);
        let lease = match self.pool.request(self.session.id) {
            Slot::Free(lease) => lease,
            Slot::Wait(_) => {
                tracing::warn!(session = %self.session.id, "no agent slot for a kept agent; stopping it");
                link.release(held.agent);
                return false;
            }
        };
        tracing::info!(session = %self.session.id, pid = held.pid, after, "took over the agent its runner kept");
        let (driver, outputs) = link.attach(&held, after);
        self.agent = Some(RunningAgent::new(driver, outputs, lease));
        true
    }

    /// After a start, for a turn running on another machine whose runner is not connected
    /// yet: wait for it (the session shows the machine unreachable meanwhile) rather than
    /// call the turn interrupted. True when it waits.
    pub(super) fn wait_for_machine(&mut self) -> bool {
        let (Some(machine), Some(runners)) = (self.machine(), self.runners.clone()) else {
            return false;
        };
        let Some(link) = runners.machine_link(&machine) else {
            return false;
        };
        if *link.hello().borrow() {
            return false; // connected, and it did not hold the agent
        }
        tracing::info!(session = %self.session.id, %machine, "waiting for the machine's runner to take the turn back");
        self.machine_wait = Some(link.hello());
        self.unreachable = Some(runners.machines().name(&machine).unwrap_or(machine));
        true
    }

    /// True when the log's last turn has no end: it was running when the server stopped.
    pub(super) async fn turn_open_in_log(&mut self) -> bool {
        let (db, id) = (self.db.clone(), self.session.id);
        let Ok(Some((start, _))) = db.last_turn_started(id).await else {
            return false;
        };
        match db.events_since(id, start).await {
            Ok(events) => !events
                .iter()
                .any(|logged| matches!(logged.event, SessionEvent::TurnCompleted { .. })),
            Err(e) => {
                tracing::error!(session = %id, "cannot read the last turn: {e}");
                false
            }
        }
    }

    /// The awaited machine's runner dialled in: its agent is taken over and the turn goes
    /// on, or, if it no longer holds one, the turn was interrupted.
    pub(super) async fn machine_back(&mut self) {
        self.machine_wait = None;
        self.unreachable = None;
        if self.adopt_agent().await {
            self.rebuild_turn().await;
            if self.turn.is_none() {
                self.agent_went_idle();
            }
        } else {
            self.interrupted_by_restart().await;
        }
    }

    /// The server stopped during a turn whose agent is gone: say so instead of showing it
    /// as working forever.
    pub(super) async fn interrupted_by_restart(&mut self) {
        self.record(SessionEvent::Notice {
            message: "The server restarted during this turn; it was interrupted. Send a message to continue.".into(),
        })
        .await;
        self.setback = Some(Setback::Interrupted("server restarted".into()));
    }

    /// Rebuilds the turn the server died in from the log: when it started, its message,
    /// its open permission questions, its reply so far, and the messages queued behind it.
    pub(super) async fn rebuild_turn(&mut self) {
        let id = self.session.id;
        let started = match self.db.last_turn_started(id).await {
            Ok(Some(started)) => started,
            Ok(None) => return,
            Err(e) => return tracing::error!(session = %id, "cannot find the running turn: {e}"),
        };
        let (start, at_ms) = started;
        let events = match self
            .db
            .events_since(id, Seq(start.0.saturating_sub(1)))
            .await
        {
            Ok(events) => events,
            Err(e) => return tracing::error!(session = %id, "cannot read the running turn: {e}"),
        };
        let input = match self.db.user_message_before(id, start).await {
            Ok(input) => input.unwrap_or(TurnInput {
                text: String::new(),
                attachments: Vec::new(),
                client_msg_id: None,
            }),
            Err(e) => return tracing::error!(session = %id, "cannot read the turn's message: {e}"),
        };
        let age = std::time::Duration::from_millis((now_ms() - at_ms).max(0) as u64);
        let started = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
        let mut turn = Turn::new(input.clone(), start.0, started);
        for LoggedEvent { event, .. } in events {
            match event {
                SessionEvent::PermissionRequested {
                    request_id,
                    options,
                    ..
                } => {
                    self.pending_permissions.insert(request_id, options);
                }
                SessionEvent::PermissionResolved { request_id, .. } => {
                    self.pending_permissions.remove(&request_id);
                }
                SessionEvent::AssistantDelta { message_id, text }
                | SessionEvent::AssistantMessage { message_id, text } => {
                    if turn.reply_id != message_id {
                        turn.reply.clear();
                        turn.reply_id = message_id;
                    }
                    turn.reply.push_str(&text);
                    turn.heard = true;
                }
                message @ SessionEvent::UserMessage { .. } => {
                    self.queue.extend(TurnInput::of_message(message))
                }
                SessionEvent::ToolCall { .. } | SessionEvent::Thinking { .. } => turn.heard = true,
                _ => {}
            }
        }
        self.last_input = Some(input);
        self.turn = Some(turn);
        if let Some(agent) = self.agent.as_ref() {
            agent.lease.set_busy();
        }
    }

    /// The agent went away with its runner (killed, or replaced): the turn is interrupted,
    /// as by a server restart, and the next message starts the agent again and resumes.
    pub(super) async fn agent_lost(&mut self, reason: String) {
        tracing::warn!(session = %self.session.id, "agent lost: {reason}");
        self.agent = None;
        self.start_deadline = None;
        self.stopping = None;
        if self.turn.is_none() {
            return;
        }
        self.record(SessionEvent::Notice {
            message: format!(
                "The agent's process is gone ({reason}); the turn was interrupted. Send a message to continue."
            ),
        })
        .await;
        self.finish_turn(TurnOutcome::Cancelled).await;
        self.setback = Some(Setback::Interrupted(reason));
    }

    /// Publishes where the agent runs when that changed (an agent started, stopped, or its
    /// pid became known).
    pub(super) async fn publish_placement(&mut self) {
        let placement = self
            .agent
            .as_ref()
            .map(|agent| agent.driver.placement())
            .unwrap_or_default();
        if self.stored && placement != self.session.placement {
            self.publish(SessionPatch {
                placement: Some(placement),
                ..SessionPatch::default()
            })
            .await;
        }
    }
}
