//! Turns: taking up messages in order, permissions, Stop's signal ladder, what the agent's
//! outputs do to the session, and the one place every turn ends (`finish_turn`).

use super::{clip, SessionTask, Setback, StopLadder, Turn, TurnOutcome};
use super::{GARBLED_REPORTS_PER_TURN, PREVIEW_CHARS};
use crate::protocol::{ClientMsgId, RequestId, SessionEvent, SessionPatch};
use crate::server::agent::{AgentOutput, TurnInput};
use crate::server::registry::ServiceError;
use nix::sys::signal::Signal;
use tokio::time::Instant;

/// Most messages one session holds waiting behind its running turn; more are refused (each
/// would start a turn of its own, and the queue lives in memory).
pub(super) const MAX_QUEUED_MESSAGES: usize = 100;

impl SessionTask {
    pub(super) async fn send(
        &mut self,
        client_msg_id: ClientMsgId,
        text: String,
        attachments: Vec<crate::protocol::Attachment>,
    ) -> Result<(), ServiceError> {
        if self.archived {
            return Err(ServiceError::InvalidState("the session has ended".into()));
        }
        if let Some(cause) = &self.storage_error {
            return Err(ServiceError::Storage(format!(
                "the message could not be saved: {cause}"
            )));
        }
        if self.seen_messages.contains(&client_msg_id) {
            return Ok(()); // a resend of a message we already have
        }
        self.refuse_over_budget()?;
        if self.queue.len() >= MAX_QUEUED_MESSAGES {
            return Err(ServiceError::LimitReached(format!(
                "{} messages already wait in this session; wait for them or press Stop",
                self.queue.len()
            )));
        }
        self.seen_messages.insert(client_msg_id);
        if !self.stored {
            self.session.title = crate::protocol::first_message_title(&text, &attachments);
        }
        let preview = match (text.trim().is_empty(), attachments.len()) {
            (true, 1) => "[1 image]".to_owned(),
            (true, n) => format!("[{n} images]"),
            _ => clip(&text, PREVIEW_CHARS),
        };
        let input = TurnInput {
            text: text.clone(),
            attachments: attachments.clone(),
            client_msg_id: Some(client_msg_id),
        };
        let stored = self
            .record(SessionEvent::UserMessage {
                client_msg_id,
                text,
                attachments,
            })
            .await;
        if !stored {
            // Not stored, so not taken: a resend may try again.
            self.seen_messages.remove(&client_msg_id);
            let cause = self.storage_error.as_deref().unwrap_or("unknown cause");
            return Err(ServiceError::Storage(format!(
                "the message could not be saved: {cause}"
            )));
        }
        self.publish(SessionPatch {
            preview: Some(preview),
            ..SessionPatch::default()
        })
        .await;
        // Taken up now if nothing runs, else after the turns before it (`take_up_queued`).
        self.queue.push_back(input);
        Ok(())
    }

    /// Starts the queued messages in order while no turn runs. Called after every step of
    /// the run loop, so every way a turn ends leads here. Nothing starts while storage fails.
    pub(super) async fn take_up_queued(&mut self) {
        if self.storage_error.is_some() {
            if self.turn.is_some() {
                self.kill_agent().await;
                let message = "Storage failed; the turn was stopped.".to_owned();
                self.finish_turn(TurnOutcome::Failed {
                    message,
                    detail: None,
                })
                .await;
            }
            self.queue.clear();
            return;
        }
        while self.turn.is_none() && !self.archived {
            let Some(input) = self.queue.pop_front() else {
                return;
            };
            let Some(exempt) = self.budget_allows_turn().await else {
                return;
            };
            self.start_turn(input).await;
            if let Some(turn) = self.turn.as_mut() {
                turn.budget_exempt = exempt;
            }
        }
    }

    /// Takes up one message: a new turn, which gets an agent (now, or after waiting for a
    /// slot) and is handed the message.
    pub(super) async fn start_turn(&mut self, input: TurnInput) {
        self.setback = None;
        self.last_input = Some(input.clone());
        let client_msg_id = input.client_msg_id;
        // The session says it is working before the turn's first event: a socket that
        // joins between the two must never hear "idle" about a turn it has seen start.
        self.turn = Some(Turn::new(input, 0, Instant::now()));
        self.publish_state().await;
        let start_seq = self.session.last_seq.next().0;
        if let Some(turn) = self.turn.as_mut() {
            turn.start_seq = start_seq;
        }
        self.record(SessionEvent::TurnStarted { client_msg_id })
            .await;
        self.hand_over_turn().await;
    }

    /// Gives the running turn's message to the agent, starting one first if none runs (or
    /// joining the line for a slot; `slot_granted` continues from there).
    pub(super) async fn hand_over_turn(&mut self) {
        if self.agent.is_none() && !self.get_agent().await {
            return;
        }
        let (Some(agent), Some(turn)) = (self.agent.as_mut(), self.turn.as_ref()) else {
            return;
        };
        agent.idle_since = None;
        agent.lease.set_busy();
        if agent.driver.send_turn(turn.input.clone()).is_err() {
            self.agent = None;
            self.start_deadline = None;
            let message = "The agent process is gone; send the message again to restart it.";
            self.finish_turn(TurnOutcome::Failed {
                message: message.into(),
                detail: None,
            })
            .await;
        }
    }

    pub(super) async fn answer_permission(
        &mut self,
        request_id: RequestId,
        option_id: String,
    ) -> Result<(), ServiceError> {
        let Some(options) = self.pending_permissions.get(&request_id) else {
            return Err(ServiceError::InvalidState(
                "no such permission request is open".into(),
            ));
        };
        let Some(chosen) = options.iter().find(|o| o.id == option_id) else {
            return Err(ServiceError::Invalid(format!(
                "{option_id} is not one of the offered options"
            )));
        };
        let allowed = chosen.kind.allows();
        let answered = self.agent.as_mut().is_some_and(|agent| {
            agent
                .driver
                .answer_permission(&request_id, &option_id)
                .is_ok()
        });
        if !answered {
            return Err(ServiceError::InvalidState(
                "the agent is not running".into(),
            ));
        }
        self.pending_permissions.remove(&request_id);
        if let Some(turn) = self.turn.as_mut() {
            turn.last_heard = Instant::now();
        }
        self.record(SessionEvent::PermissionResolved {
            request_id,
            option_id: Some(option_id),
            allowed,
        })
        .await;
        Ok(())
    }

    /// The user's Stop: the messages waiting behind the turn are dropped too, and the turn
    /// is stopped.
    pub(super) async fn cancel(&mut self) {
        let dropped = self.queue.len();
        self.queue.clear();
        if dropped > 0 {
            // They are in the transcript as sent; it must say they never reached the agent.
            self.record(SessionEvent::Notice {
                message: format!(
                    "Stopped: {dropped} waiting message{} not sent to the agent.",
                    if dropped == 1 { " was" } else { "s were" }
                ),
            })
            .await;
        }
        self.stop_turn().await;
    }

    /// Stops the running turn: at once if no agent has it yet (it waits for a slot, or the
    /// agent is gone), else by asking the agent and then climbing the signal ladder.
    pub(super) async fn stop_turn(&mut self) {
        let Some(turn) = &self.turn else { return };
        if turn.slot.is_some() || self.agent.is_none() {
            return self.finish_turn(TurnOutcome::Cancelled).await;
        }
        if self.stopping.is_some() {
            return; // already on its way down
        }
        self.withdraw_permissions().await;
        if let Some(agent) = self.agent.as_mut() {
            let _ = agent.driver.interrupt();
        }
        self.stopping = Some(StopLadder {
            next_step: 1,
            at: Some(Instant::now() + self.config.cancel_step),
        });
    }

    /// Every open permission request is answered "no" on the agent's behalf (the turn it
    /// belongs to is ending), so no card stays answerable.
    async fn withdraw_permissions(&mut self) {
        for request_id in std::mem::take(&mut self.pending_permissions).into_keys() {
            self.record(SessionEvent::PermissionResolved {
                request_id,
                option_id: None,
                allowed: false,
            })
            .await;
        }
    }

    /// One rung of the stop ladder: the agent ignored the previous, harder now.
    pub(super) fn ladder_step(&mut self) {
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
        agent.driver.signal(signal);
        ladder.next_step += 1;
        ladder.at = (signal != Signal::SIGKILL).then(|| Instant::now() + self.config.cancel_step);
    }

    /// Ends the running turn, whichever way it ended: Stop's ladder, open permission
    /// requests, tool timings and the slot wait go; the transcript says how it ended; the
    /// session's setback follows the outcome; an agent that is still alive waits for the
    /// next turn. The queue is untouched: the run loop takes up the next message
    /// (`take_up_queued`), and only the user's Stop empties it. An outcome `Failed` with
    /// no turn (the agent failed between turns) is still shown.
    pub(super) async fn finish_turn(&mut self, outcome: TurnOutcome) {
        let turn = self.turn.take();
        if turn.is_none() && !matches!(outcome, TurnOutcome::Failed { .. }) {
            return;
        }
        self.stopping = None;
        // However it ended, the agent may have changed files: count them (debounced).
        self.counting.soon();
        self.withdraw_permissions().await;
        // Calls that never reported a result get no duration; the map stays small.
        self.tool_started.clear();
        let duration_ms = turn
            .as_ref()
            .map_or(0, |turn| turn.started.elapsed().as_millis() as u64);
        let reply = turn.as_ref().map(|turn| turn.reply.trim().to_owned());
        // A turn stopped mid-way may report nothing: what it reported so far stands.
        let so_far = turn
            .as_ref()
            .map(|turn| turn.usage_so_far)
            .unwrap_or_default();
        let outcome = match outcome {
            TurnOutcome::Completed { usage, stop_reason } if usage == Default::default() => {
                TurnOutcome::Completed {
                    usage: so_far,
                    stop_reason,
                }
            }
            TurnOutcome::Cancelled if so_far != Default::default() => TurnOutcome::Completed {
                usage: so_far,
                stop_reason: "cancelled".into(),
            },
            other => other,
        };
        match outcome {
            TurnOutcome::Completed { usage, stop_reason } => {
                self.setback = None;
                self.record(SessionEvent::TurnCompleted {
                    usage,
                    duration_ms,
                    stop_reason,
                })
                .await;
                let mut total = self.session.usage;
                total.add(&usage);
                self.publish(SessionPatch {
                    usage: Some(total),
                    preview: reply
                        .filter(|reply| !reply.is_empty())
                        .map(|reply| clip(&reply, PREVIEW_CHARS)),
                    ..SessionPatch::default()
                })
                .await;
                self.spending.turn_stored(
                    self.session.id,
                    self.session.project,
                    crate::protocol::Spent::of(&usage),
                );
            }
            TurnOutcome::Cancelled => {
                self.setback = None;
                self.spending.turn_dropped(self.session.id);
                self.record(SessionEvent::TurnCompleted {
                    usage: Default::default(),
                    duration_ms,
                    stop_reason: "cancelled".into(),
                })
                .await;
            }
            TurnOutcome::Failed { message, detail } => {
                self.record(SessionEvent::Error {
                    message: message.clone(),
                    detail,
                })
                .await;
                self.publish(SessionPatch {
                    preview: Some(clip(&message, PREVIEW_CHARS)),
                    ..SessionPatch::default()
                })
                .await;
                self.setback = Some(Setback::Failed(message));
                self.spending.turn_dropped(self.session.id);
            }
        }
        self.refresh_budget().await;
        self.agent_went_idle();
    }

    pub(super) async fn on_output(&mut self, output: AgentOutput) {
        if let Some(turn) = self.turn.as_mut() {
            turn.last_heard = Instant::now();
        }
        match output {
            AgentOutput::Ready => {
                self.start_deadline = None;
                if self.turn.is_none() {
                    self.agent_went_idle();
                }
            }
            AgentOutput::ResumeFailed { reason } => self.resume_failed(reason).await,
            AgentOutput::Conversation { agent_session_id } => {
                self.start_fresh = false;
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
                self.finish_turn(TurnOutcome::Completed { usage, stop_reason })
                    .await;
            }
            AgentOutput::Spending { usage } => self.on_spending(usage).await,
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
                        message: format!(
                            "The agent printed something Switchboard could not read: {message}"
                        ),
                    })
                    .await;
                }
            }
            AgentOutput::Failed(message) => {
                self.start_deadline = None;
                self.agent = None;
                self.finish_turn(TurnOutcome::Failed {
                    message,
                    detail: None,
                })
                .await;
            }
            AgentOutput::Exited { code, stderr_tail } => self.on_exit(code, stderr_tail).await,
            AgentOutput::Lost { reason } => self.agent_lost(reason).await,
            AgentOutput::Unreachable { machine } => {
                tracing::warn!(session = %self.session.id, %machine, "the agent's machine is out of contact");
                self.unreachable = Some(machine);
            }
            AgentOutput::Reachable => {
                self.unreachable = None;
                // The silence watch starts again from now, not from before the gap.
                if let Some(turn) = self.turn.as_mut() {
                    turn.last_heard = tokio::time::Instant::now();
                }
            }
        }
    }

    pub(super) async fn on_agent_event(&mut self, mut event: SessionEvent) {
        if let Some(turn) = self.turn.as_mut() {
            turn.heard = true;
        }
        let start_seq = self.turn.as_ref().map(|t| t.start_seq).unwrap_or(0);
        let whole = matches!(event, SessionEvent::AssistantMessage { .. });
        match &mut event {
            SessionEvent::AssistantDelta { message_id, text }
            | SessionEvent::AssistantMessage { message_id, text } => {
                *message_id = format!("{start_seq}:{message_id}");
                if let Some(turn) = self.turn.as_mut() {
                    // The preview is the newest message: a delta grows it, a whole message
                    // (which repeats its deltas) or another message's text replaces it.
                    let same = turn.reply_id == *message_id;
                    if !same || whole {
                        turn.reply.clear();
                        turn.reply_id.clone_from(message_id);
                    }
                    turn.reply.push_str(text);
                }
            }
            SessionEvent::Thinking { message_id, .. } => {
                *message_id = format!("{start_seq}:{message_id}")
            }
            SessionEvent::PermissionRequested {
                request_id,
                options,
                ..
            } => {
                self.pending_permissions
                    .insert(request_id.clone(), options.clone());
            }
            _ => {}
        }
        self.record(event).await;
    }

    pub(super) async fn on_exit(&mut self, code: Option<i32>, stderr_tail: String) {
        self.agent = None;
        self.start_deadline = None;
        let was_stopping = self.stopping.take().is_some();
        tracing::info!(session = %self.session.id, ?code, "agent exited");
        let Some(turn) = self.turn.as_ref() else {
            return;
        };
        if was_stopping {
            return self.finish_turn(TurnOutcome::Cancelled).await;
        }
        if !turn.heard && !turn.restarted {
            // It died before answering (killed while idle, just as the message arrived):
            // start it again once and give it the message; its conversation resumes.
            tracing::info!(session = %self.session.id, ?code, "agent exited before answering; restarting it");
            self.record(SessionEvent::Notice {
                message: "The agent process had exited; it was started again for this message."
                    .into(),
            })
            .await;
            return self.restart_turn().await;
        }
        let status = code.map_or_else(|| "a signal".to_owned(), |c| format!("status {c}"));
        let message = format!(
            "The agent exited with {status} in the middle of a turn. Send a message to restart it."
        );
        let detail = (!stderr_tail.is_empty()).then_some(stderr_tail);
        self.finish_turn(TurnOutcome::Failed { message, detail })
            .await;
    }

    /// The watchdog: a turn with no word from the agent for too long is stopped, so the
    /// session never sticks in "working". Messages queued behind it still run.
    pub(super) async fn turn_went_silent(&mut self) {
        let secs = self.config.turn_silence.as_secs();
        if let Some(turn) = self.turn.as_mut() {
            turn.last_heard = Instant::now();
        }
        tracing::warn!(session = %self.session.id, secs, "agent went silent; stopping the turn");
        self.record(SessionEvent::Notice {
            message: format!("The agent sent nothing for {secs} s, so the turn was stopped."),
        })
        .await;
        self.stop_turn().await;
    }

    /// The agent never became ready: stop it and say so, rather than show "working" forever.
    pub(super) async fn start_timed_out(&mut self) {
        self.start_deadline = None;
        let stderr = self
            .agent
            .take()
            .map(|agent| agent.driver.stderr_tail())
            .filter(|tail| !tail.is_empty());
        let secs = self.config.agent_start_timeout.as_secs();
        let message = format!("The agent did not get ready within {secs} s and was stopped. Is the configured command an ACP agent?");
        self.finish_turn(TurnOutcome::Failed {
            message,
            detail: stderr,
        })
        .await;
    }

    pub(super) async fn archive(&mut self) {
        self.kill_agent().await;
        self.queue.clear();
        if self.turn.take().is_some() {
            // Its spending so far no longer runs against the project's and the day's budgets.
            self.spending.turn_dropped(self.session.id);
            self.record(SessionEvent::Notice {
                message: "The session was ended during a turn.".into(),
            })
            .await;
        }
        self.pending_permissions.clear();
        self.archived = true;
        self.publish_state().await;
        let _ = self
            .list
            .send(crate::protocol::ServerFrame::SessionRemoved {
                session: self.session.id,
            });
    }
}
