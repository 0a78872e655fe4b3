//! The session's side of an agent in the runner: an [`AgentDriver`] whose every call is a
//! request to the link's task (a numbered command, an acknowledgement, a release).

use super::link::RunnerLink;
use super::link_task::Request;
use super::wire::{AgentKey, RunnerCommand};
use crate::protocol::{AgentPlacement, RunnerPlace};
use crate::server::agent::{AgentDriver, AgentError, DriverCommand, TurnInput};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// An agent in the runner, as its session task holds it. Dropping it releases the agent
/// (its process group is killed), unless `keep_running` said the server is stopping.
pub struct RemoteDriver {
    key: AgentKey,
    requests: mpsc::UnboundedSender<Request>,
    pid: Arc<AtomicI32>,
    runner: Option<RunnerPlace>,
    keep: bool,
}

impl RemoteDriver {
    pub(super) fn new(link: &RunnerLink, key: AgentKey, pid: Arc<AtomicI32>) -> RemoteDriver {
        RemoteDriver {
            key,
            requests: link.requests(),
            pid,
            runner: link.place(),
            keep: false,
        }
    }

    fn command(&self, command: RunnerCommand) -> Result<(), AgentError> {
        let key = self.key;
        self.requests
            .send(Request::Command { key, command })
            .map_err(|_| AgentError::Gone)
    }
}

impl AgentDriver for RemoteDriver {
    fn send_turn(&mut self, turn: TurnInput) -> Result<(), AgentError> {
        self.command(RunnerCommand::Driver(DriverCommand::Turn(turn)))
    }

    fn answer_permission(
        &mut self,
        request: &crate::protocol::RequestId,
        option_id: &str,
    ) -> Result<(), AgentError> {
        self.command(RunnerCommand::Driver(DriverCommand::Permission {
            request: request.clone(),
            option_id: option_id.to_owned(),
        }))
    }

    fn interrupt(&mut self) -> Result<(), AgentError> {
        self.command(RunnerCommand::Driver(DriverCommand::Interrupt))
    }

    fn set_mode(&mut self, mode: &str) -> Result<(), AgentError> {
        self.command(RunnerCommand::Driver(DriverCommand::SetMode(
            mode.to_owned(),
        )))
    }

    fn pid(&self) -> Option<i32> {
        Some(self.pid.load(Ordering::Relaxed)).filter(|pid| *pid > 0)
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        let _ = self.command(RunnerCommand::Signal(signal as i32));
    }

    fn stderr_tail(&self) -> String {
        // The runner sends the tail with the exit; nothing is kept here.
        String::new()
    }

    fn placement(&self) -> AgentPlacement {
        AgentPlacement {
            pid: self.pid().and_then(|pid| u32::try_from(pid).ok()),
            runner: self.runner.clone(),
        }
    }

    fn runner_key(&self) -> Option<AgentKey> {
        Some(self.key)
    }

    fn stored(&mut self, through: u64) {
        let key = self.key;
        let _ = self.requests.send(Request::Ack { key, through });
    }

    fn keep_running(&mut self) -> bool {
        self.keep = true;
        true
    }
}

impl Drop for RemoteDriver {
    fn drop(&mut self) {
        if !self.keep {
            let key = self.key;
            let _ = self.requests.send(Request::Release { key });
        }
    }
}
