//! A scripted agent for the session core's unit tests: no process, the test plays the
//! agent. Each launch hands the test a [`ScriptedAgent`] that sees every command the
//! session gave its driver and says what the agent outputs, in the order the test chooses.

use super::{
    AgentDriver, AgentError, AgentLauncher, AgentOutput, Launched, Numbered, StartRequest,
    TurnInput,
};
use crate::protocol::RequestId;
use nix::sys::signal::Signal;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// What the session asked of a scripted agent's driver.
#[derive(Debug, Clone, PartialEq)]
pub enum DriverCall {
    /// `send_turn`, with the message's text.
    Turn(String),
    /// `answer_permission`.
    Permission {
        /// The request answered.
        request: RequestId,
        /// The option chosen.
        option_id: String,
    },
    /// `interrupt`.
    Interrupt,
    /// `set_mode`.
    SetMode(String),
    /// `signal` (Stop's ladder, shutdown).
    Signal(Signal),
}

/// The test's side of one launched agent.
pub struct ScriptedAgent {
    /// How the session started it.
    pub request: StartRequest,
    /// What the agent reports; dropping it reads as the process's end.
    pub outputs: mpsc::Sender<Numbered>,
    /// Outputs said so far (their numbers).
    said: std::sync::atomic::AtomicU64,
    /// What the session asked of the driver, in order.
    pub calls: mpsc::UnboundedReceiver<DriverCall>,
}

impl ScriptedAgent {
    /// Reports one output, as the agent's connection would.
    pub async fn say(&self, output: AgentOutput) {
        // The session may have dropped the agent already; then nobody listens, as with a
        // real process that is being killed.
        let seq = self.said.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let _ = self.outputs.send(Numbered { seq, output }).await;
    }

    /// The next call the session made, waiting at most five seconds.
    pub async fn next_call(&mut self) -> Option<DriverCall> {
        tokio::time::timeout(std::time::Duration::from_secs(5), self.calls.recv())
            .await
            .ok()
            .flatten()
    }
}

/// Launches scripted agents; each launch is handed to the test on `launched`, or refused
/// with `refuse` set (a missing binary, say).
pub struct ScriptedLauncher {
    launched: mpsc::UnboundedSender<ScriptedAgent>,
    /// When set, launches fail with this reason.
    pub refuse: Mutex<Option<String>>,
}

impl ScriptedLauncher {
    /// A launcher and the receiver of the agents it starts.
    pub fn new() -> (
        Arc<ScriptedLauncher>,
        mpsc::UnboundedReceiver<ScriptedAgent>,
    ) {
        let (launched, agents) = mpsc::unbounded_channel();
        let launcher = ScriptedLauncher {
            launched,
            refuse: Mutex::new(None),
        };
        (Arc::new(launcher), agents)
    }
}

impl AgentLauncher for ScriptedLauncher {
    fn launch(&self, request: StartRequest) -> Result<Launched, AgentError> {
        let refused = self.refuse.lock().ok().and_then(|r| r.clone());
        if let Some(reason) = refused {
            return Err(AgentError::Spawn {
                program: request.kind.to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, reason),
            });
        }
        let (outputs, output_rx) = mpsc::channel(64);
        let (calls_tx, calls) = mpsc::unbounded_channel();
        let agent = ScriptedAgent {
            request,
            outputs,
            said: Default::default(),
            calls,
        };
        let _ = self.launched.send(agent);
        Ok((Box::new(ScriptedDriver { calls: calls_tx }), output_rx))
    }
}

/// The session's side: records every call for the test.
struct ScriptedDriver {
    calls: mpsc::UnboundedSender<DriverCall>,
}

impl ScriptedDriver {
    fn call(&self, call: DriverCall) -> Result<(), AgentError> {
        self.calls.send(call).map_err(|_| AgentError::Gone)
    }
}

impl AgentDriver for ScriptedDriver {
    fn send_turn(&mut self, turn: TurnInput) -> Result<(), AgentError> {
        self.call(DriverCall::Turn(turn.text))
    }

    fn answer_permission(
        &mut self,
        request: &RequestId,
        option_id: &str,
    ) -> Result<(), AgentError> {
        self.call(DriverCall::Permission {
            request: request.clone(),
            option_id: option_id.to_owned(),
        })
    }

    fn interrupt(&mut self) -> Result<(), AgentError> {
        self.call(DriverCall::Interrupt)
    }

    fn set_mode(&mut self, mode: &str) -> Result<(), AgentError> {
        self.call(DriverCall::SetMode(mode.to_owned()))
    }

    fn pid(&self) -> Option<i32> {
        None
    }

    fn signal(&self, signal: Signal) {
        let _ = self.calls.send(DriverCall::Signal(signal));
    }

    fn stderr_tail(&self) -> String {
        String::new()
    }
}
