//! The agent process's life: starting it (within the cap on live agents), resuming its
//! conversation or saying it could not, stopping it when idle, and the session-level
//! operations that touch it (permission mode, retry).

use super::{RunningAgent, SessionTask};
use crate::protocol::{SessionEvent, SessionPatch, SessionState};
use crate::server::agent::{self, StartRequest};
use crate::server::registry::ServiceError;
use std::path::PathBuf;
use tokio::time::Instant;

impl SessionTask {
    /// Starts the agent, resuming the stored conversation unless it was lost.
    pub(super) async fn start_agent(&mut self) -> bool {
        self.set_state(SessionState::Starting).await;
        let lease = match self
            .pool
            .acquire(self.session.id, self.config.agent_start_timeout)
            .await
        {
            Ok(lease) => lease,
            Err(full) => {
                self.fail(&format!("The agent could not be started: {full}."), None)
                    .await;
                return false;
            }
        };
        let resume = match self.start_fresh {
            true => None,
            false => self.session.agent_session_id.clone(),
        };
        let request = StartRequest {
            kind: self.session.agent.clone(),
            cwd: PathBuf::from(&self.session.cwd),
            resume,
            permission_mode: self.session.permission_mode.clone(),
            model: self.session.model.clone(),
        };
        match agent::start(&self.catalog, request) {
            Ok((driver, outputs)) => {
                tracing::info!(session = %self.session.id, pid = driver.process().pid(), "agent started");
                self.agent = Some(RunningAgent::new(driver, outputs, lease));
                self.start_deadline = Some(Instant::now() + self.config.agent_start_timeout);
                true
            }
            Err(e) => {
                let message = format!(
                    "The {} could not be started: {e}",
                    self.session.agent.label()
                );
                self.fail(&message, None).await;
                false
            }
        }
    }

    /// Between turns: the agent may be stopped when idle too long or when its slot is needed.
    pub(super) fn agent_went_idle(&mut self) {
        if let Some(agent) = self.agent.as_mut() {
            agent.idle_since.get_or_insert_with(Instant::now);
            agent.lease.set_idle(&self.reap);
        }
    }

    /// Stops an idle agent; its conversation resumes on the next message, so the user sees
    /// nothing but a slower first reply. A turn that started meanwhile keeps its agent.
    pub(super) async fn stop_idle_agent(&mut self, why: &str) {
        if self.turn.is_some() || self.agent.as_ref().is_none_or(|a| a.idle_since.is_none()) {
            return;
        }
        tracing::info!(session = %self.session.id, why, "stopping idle agent");
        self.kill_agent().await;
    }

    /// The agent could not resume the stored conversation: say so, in the log and as a
    /// banner, then start a fresh one and give it the message that was waiting.
    pub(super) async fn resume_failed(&mut self, reason: String) {
        tracing::warn!(session = %self.session.id, "resume failed: {reason}");
        self.agent = None;
        self.start_deadline = None;
        self.start_fresh = true;
        self.record(SessionEvent::ConversationReset { reason })
            .await;
        if self.turn.is_none() {
            return self.set_state(SessionState::Idle).await;
        }
        self.restart_turn().await;
    }

    /// Starts the agent again for the running turn and gives it the turn's message (once).
    pub(super) async fn restart_turn(&mut self) {
        let Some(turn) = self.turn.as_mut() else {
            return;
        };
        turn.restarted = true;
        let input = turn.input.clone();
        if self.start_agent().await {
            if let Some(agent) = self.agent.as_mut() {
                agent.lease.set_busy();
                if agent.driver.send_turn(input).is_ok() {
                    return self.set_state(SessionState::Working).await;
                }
            }
            self.fail("The agent exited before it got the message.", None)
                .await;
        }
    }

    /// Changes the permission mode: stored, announced, and passed to a running agent at
    /// once (the next start uses it anyway).
    pub(super) async fn set_permission_mode(&mut self, mode: String) -> Result<(), ServiceError> {
        let known = self
            .catalog
            .get(&self.session.agent)
            .is_some_and(|entry| entry.info.modes.contains(&mode));
        if !known {
            return Err(ServiceError::Invalid(format!(
                "{} does not know permission mode {mode}",
                self.session.agent.label()
            )));
        }
        if mode == self.session.permission_mode {
            return Ok(());
        }
        if !self.stored {
            // A draft has no log yet: the mode travels with its first message.
            self.session.permission_mode = mode;
            return Ok(());
        }
        if let Some(agent) = self.agent.as_mut() {
            if agent.driver.set_mode(&mode).is_err() {
                // The process is on its way out; the next start reads the stored mode.
                tracing::debug!(session = %self.session.id, "mode change reached no agent");
            }
        }
        self.publish(SessionPatch {
            permission_mode: Some(mode.clone()),
            ..SessionPatch::default()
        })
        .await;
        self.record(SessionEvent::PermissionModeChanged { mode })
            .await;
        Ok(())
    }

    /// Runs the last message again, after the agent failed it.
    pub(super) async fn retry(&mut self) -> Result<(), ServiceError> {
        if self.turn.is_some() {
            return Err(ServiceError::InvalidState("a turn is running".into()));
        }
        let input = match self.last_input.clone() {
            Some(input) => input,
            None => self
                .db
                .last_user_message(self.session.id)
                .await?
                .ok_or_else(|| ServiceError::InvalidState("there is no message to retry".into()))?,
        };
        self.record(SessionEvent::Notice {
            message: "Retrying the last message.".into(),
        })
        .await;
        self.start_turn(input).await;
        Ok(())
    }

    /// Stops the agent for good: SIGTERM to its group, a grace period, then SIGKILL.
    pub(super) async fn kill_agent(&mut self) {
        let Some(mut agent) = self.agent.take() else {
            return;
        };
        agent.driver.shutdown();
        let grace = self.config.cancel_step;
        let _ = tokio::time::timeout(grace, agent.wait_exit()).await;
        // Dropping the driver SIGKILLs the group, whatever is left of it; the lease frees
        // its slot.
        drop(agent);
    }
}
