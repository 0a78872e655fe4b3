//! The agent process's life: getting a live-agent slot (at once or in line), starting the
//! agent, resuming its conversation or saying it could not, stopping it when idle, and the
//! session-level operations that touch it (permission mode, retry).

use super::{RunningAgent, SessionTask, TurnOutcome};
use crate::protocol::{SessionEvent, SessionPatch};
use crate::server::agent::StartRequest;
use crate::server::agent_pool::{Lease, Slot};
use crate::server::registry::ServiceError;
use std::path::Path;
use tokio::time::Instant;

impl SessionTask {
    /// Gets the running turn an agent: true when one runs now; false when the turn waits
    /// for a slot (then `slot_granted` goes on) or the start failed (the turn is finished).
    pub(super) async fn get_agent(&mut self) -> bool {
        match self.pool.request(self.session.id) {
            Slot::Free(lease) => self.launch(lease).await,
            Slot::Wait(wait) => {
                tracing::info!(session = %self.session.id, ahead = wait.ahead(), "waiting for an agent slot");
                if let Some(turn) = self.turn.as_mut() {
                    turn.slot = Some(wait);
                }
                false
            }
        }
    }

    /// A slot freed for the turn that waited: start the agent and hand it the message.
    pub(super) async fn slot_granted(&mut self, lease: Lease) {
        let Some(turn) = self.turn.as_mut() else {
            return; // the lease is dropped, and the slot with it
        };
        turn.slot = None;
        if self.launch(lease).await {
            self.hand_over_turn().await;
        }
    }

    /// The machine (its id) the session's project is on; `None`: this server's host.
    pub(super) fn machine(&self) -> Option<String> {
        self.projects.machine_of(self.session.project)
    }

    /// Starts the agent in the slot `lease` holds, resuming the stored conversation unless
    /// it was lost. False (and the turn failed) when it cannot start.
    async fn launch(&mut self, lease: Lease) -> bool {
        let resume = match self.start_fresh {
            true => None,
            false => self.session.agent_session_id.clone(),
        };
        // Checked before every start, not only at create: the folder may have become a
        // symlink out of the roots, or the roots may have changed since.
        let machine = self.machine();
        let checked = self
            .projects
            .check_folder(machine.as_deref(), Path::new(&self.session.cwd));
        let cwd = match checked {
            Ok(cwd) => cwd,
            Err(e) => {
                let message = format!("The agent cannot run in {}: {e}", self.session.cwd);
                self.finish_turn(TurnOutcome::Failed {
                    message,
                    detail: None,
                })
                .await;
                return false;
            }
        };
        let request = StartRequest {
            session: self.session.id,
            kind: self.session.agent.clone(),
            cwd,
            resume,
            permission_mode: self.session.permission_mode.clone(),
            model: self.session.model.clone(),
            machine,
        };
        // A new agent's link says at once if its machine is out of contact; an old agent
        // the machine may still hold is not waited for any more.
        self.unreachable = None;
        self.machine_wait = None;
        match self.launcher.launch(request) {
            Ok((driver, outputs)) => {
                tracing::info!(session = %self.session.id, pid = ?driver.pid(), "agent started");
                if let Some(key) = driver.runner_key() {
                    // Its outputs are counted from here, so a restarted server asks for the
                    // right ones.
                    let from = self.session.last_seq;
                    if let Err(e) = self
                        .db
                        .begin_output_cursor(self.session.id, key, from)
                        .await
                    {
                        tracing::error!(session = %self.session.id, "cannot record the runner agent: {e}");
                    }
                }
                self.agent = Some(RunningAgent::new(driver, outputs, lease));
                self.start_deadline = Some(Instant::now() + self.config.agent_start_timeout);
                true
            }
            Err(e) => {
                let message = format!(
                    "The {} could not be started: {e}",
                    self.session.agent.label()
                );
                self.finish_turn(TurnOutcome::Failed {
                    message,
                    detail: None,
                })
                .await;
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
        self.restart_turn().await;
    }

    /// Starts the agent again for the running turn and gives it the turn's message (once).
    pub(super) async fn restart_turn(&mut self) {
        let Some(turn) = self.turn.as_mut() else {
            return;
        };
        turn.restarted = true;
        self.hand_over_turn().await;
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
        // Before anything queued: it is the message the user is waiting for.
        self.queue.push_front(input);
        Ok(())
    }

    /// Stops the agent for good: SIGTERM to its group, a grace period, then SIGKILL.
    pub(super) async fn kill_agent(&mut self) {
        self.start_deadline = None;
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
