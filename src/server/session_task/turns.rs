//! Turns: starting the agent, sending messages, permissions, Stop's signal ladder, and
//! what the agent's outputs do to the session.

use super::SessionTask;
use super::{clip, StopLadder, Turn, GARBLED_REPORTS_PER_TURN, PREVIEW_CHARS};
use crate::protocol::{
    ClientMsgId, RequestId, ServerFrame, SessionEvent, SessionPatch, SessionState,
};
use crate::server::agent::{AgentOutput, TurnInput};
use crate::server::registry::ServiceError;
use nix::sys::signal::Signal;
use tokio::time::Instant;

impl SessionTask {
    pub(super) async fn send(
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
        };
        let stored = self
            .record(SessionEvent::UserMessage {
                client_msg_id,
                text,
                attachments,
            })
            .await;
        if !stored {
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
        if self.turn.is_some() {
            self.queue.push_back(input);
        } else {
            self.start_turn(input).await;
        }
        Ok(())
    }

    pub(super) async fn start_turn(&mut self, input: TurnInput) {
        if self.agent.is_none() && !self.start_agent().await {
            return;
        }
        let Some(agent) = self.agent.as_mut() else {
            return;
        };
        agent.idle_since = None;
        agent.lease.set_busy();
        self.last_input = Some(input.clone());
        if agent.driver.send_turn(input.clone()).is_err() {
            self.agent = None;
            return self
                .fail(
                    "The agent process is gone; send the message again to restart it.",
                    None,
                )
                .await;
        }
        let start_seq = self.session.last_seq.next().0;
        self.record(SessionEvent::TurnStarted).await;
        self.turn = Some(Turn {
            input,
            started: Instant::now(),
            start_seq,
            reply: String::new(),
            reply_id: String::new(),
            last_heard: Instant::now(),
            garbled_reports: 0,
            heard: false,
            restarted: false,
        });
        self.set_state(SessionState::Working).await;
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
        let Some(agent) = self.agent.as_mut() else {
            return Err(ServiceError::InvalidState(
                "the agent is not running".into(),
            ));
        };
        if agent
            .driver
            .answer_permission(&request_id, &option_id)
            .is_err()
        {
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
        if self.pending_permissions.is_empty() && self.turn.is_some() {
            self.set_state(SessionState::Working).await;
        }
        Ok(())
    }

    pub(super) async fn cancel(&mut self) {
        self.queue.clear();
        if self.turn.is_none() {
            return;
        }
        self.resolve_open_permissions().await;
        if let Some(agent) = self.agent.as_mut() {
            let _ = agent.driver.interrupt();
            self.stopping = Some(StopLadder {
                next_step: 1,
                at: Some(Instant::now() + self.config.cancel_step),
            });
        } else {
            self.end_turn(Default::default(), "cancelled").await;
        }
    }

    pub(super) async fn resolve_open_permissions(&mut self) {
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
        agent.driver.process().signal(signal);
        ladder.next_step += 1;
        ladder.at = (signal != Signal::SIGKILL).then(|| Instant::now() + self.config.cancel_step);
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
                self.turn = None;
                self.fail(&message, None).await;
            }
            AgentOutput::Exited { code, stderr_tail } => self.on_exit(code, stderr_tail).await,
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
        let awaiting = matches!(event, SessionEvent::PermissionRequested { .. });
        self.record(event).await;
        if awaiting {
            self.set_state(SessionState::AwaitingPermission).await;
        }
    }

    pub(super) async fn end_turn(&mut self, usage: crate::protocol::Usage, stop_reason: &str) {
        let Some(turn) = self.turn.take() else { return };
        self.pending_permissions.clear();
        // Calls that never reported a result get no duration; the map stays small.
        self.tool_started.clear();
        self.record(SessionEvent::TurnCompleted {
            usage,
            duration_ms: turn.started.elapsed().as_millis() as u64,
            stop_reason: stop_reason.to_owned(),
        })
        .await;
        self.agent_went_idle();
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

    pub(super) async fn on_exit(&mut self, code: Option<i32>, stderr_tail: String) {
        self.agent = None;
        self.start_deadline = None;
        let was_stopping = self.stopping.take().is_some();
        tracing::info!(session = %self.session.id, ?code, "agent exited");
        if self.turn.is_none() {
            return;
        }
        if was_stopping {
            return self.end_turn(Default::default(), "cancelled").await;
        }
        if self.turn.as_ref().is_some_and(|t| !t.heard && !t.restarted) {
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

    /// The watchdog: a turn with no word from the agent for too long is stopped, so the
    /// session never sticks in "working".
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
        self.cancel().await;
    }

    /// The agent never became ready: stop it and say so, rather than show "working" forever.
    pub(super) async fn start_timed_out(&mut self) {
        self.start_deadline = None;
        let stderr = self
            .agent
            .take()
            .map(|agent| agent.driver.process().stderr_tail())
            .filter(|tail| !tail.is_empty());
        self.queue.clear();
        self.pending_permissions.clear();
        let secs = self.config.agent_start_timeout.as_secs();
        self.fail(
            &format!("The agent did not get ready within {secs} s and was stopped. Is the configured command an ACP agent?"),
            stderr,
        )
        .await;
    }

    pub(super) async fn fail(&mut self, message: &str, detail: Option<String>) {
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

    pub(super) async fn archive(&mut self) {
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
}
