//! Where agents run: the placement of a session's agent process (in the server, or in the
//! runner that outlives it) and the runner's health, for the sidebar and the Doctor.

use serde::{Deserialize, Serialize};

/// Where a session's agent process runs. All `None` while no agent runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentPlacement {
    /// The agent's process id (and its process group's), once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The runner that holds it; `None` for an agent in the server's own process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<RunnerPlace>,
}

impl AgentPlacement {
    /// True when an agent process runs.
    pub fn is_running(&self) -> bool {
        self.pid.is_some()
    }

    /// One line for people: "runner 1234 (0.1.0), agent pid 5678".
    pub fn describe(&self) -> String {
        match (&self.runner, self.pid) {
            (_, None) => "no agent process".into(),
            (None, Some(pid)) => format!("in the server, agent pid {pid}"),
            (Some(runner), Some(pid)) => format!(
                "runner {} ({}), agent pid {pid}",
                runner.pid, runner.version
            ),
        }
    }
}

/// The runner an agent runs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerPlace {
    /// The runner's process id.
    pub pid: u32,
    /// Its Switchboard version.
    pub version: String,
}

/// The runner as the Doctor shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunnerHealth {
    /// `detached` (agents in a runner that outlives the server) or `embedded` (agents in
    /// the server's process).
    pub mode: String,
    /// True while the server is connected to its runner (always true when embedded).
    pub connected: bool,
    /// The runner's process id (the server's own when embedded).
    pub pid: Option<u32>,
    /// Its Switchboard version.
    pub version: Option<String>,
    /// The runner protocol version it speaks.
    pub protocol: Option<u32>,
    /// When it started, milliseconds since the Unix epoch.
    pub started_at_ms: Option<i64>,
    /// Agent processes it holds.
    pub agents: u32,
    /// Outputs it keeps that the server has not stored yet.
    pub unacknowledged: u64,
    /// Bytes of them in its spill file.
    pub spilled_bytes: u64,
    /// Agents paused because their backlog is full.
    pub paused: u32,
    /// Older runners being drained (finishing their turns, then exiting).
    pub draining: u32,
    /// What is wrong, if anything (cannot connect, reconnecting since ...).
    pub problem: Option<String>,
}
