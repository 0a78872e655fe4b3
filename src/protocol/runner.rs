//! Where agents run: the placement of a session's agent process (in the server, or in the
//! runner that outlives it), the runner's health, for the sidebar and the Doctor, and the
//! machines whose runners connect to the server from other hosts (the Machines page).

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
    /// The host it runs on, when it is another machine's runner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
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

/// A machine whose runner connects to the server from another host, as the Machines page
/// lists it. Enrolled once with a one-time code; its credential is stored hashed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineInfo {
    /// Its public id (projects name their machine by it).
    pub id: String,
    /// The name the admin gave its enrollment code.
    pub name: String,
    /// The host name its runner reported, once it connected.
    pub host: Option<String>,
    /// The Switchboard version of its runner, once it connected.
    pub version: Option<String>,
    /// When it enrolled, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// When its runner was last heard from, if ever.
    pub last_contact_ms: Option<i64>,
    /// When it was revoked: its runner is refused from then on.
    pub revoked_at_ms: Option<i64>,
    /// True while its runner is connected to this server node.
    pub connected: bool,
    /// True when its runner has been out of contact for longer than the server waits:
    /// its sessions show as unreachable.
    pub unreachable: bool,
    /// Agent processes its runner holds (as of its last report).
    pub agents: u32,
    /// Its host's one-minute load average (as of its last report).
    pub load: Option<f32>,
}

/// A one-time enrollment code just made: shown once; only its hash is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEnrollment {
    /// The code, for `switchboard runner --enroll`.
    pub code: String,
    /// The machine's name on the Machines page.
    pub name: String,
    /// When the code stops working, milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
}

/// What a runner sends to redeem an enrollment code (`POST /runner/enroll`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// The one-time code.
    pub code: String,
    /// The runner's host name.
    pub host: String,
}

/// The answer to an enrollment: the machine's credential, shown to the runner once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolled {
    /// The machine's id.
    pub machine: String,
    /// The machine's name.
    pub name: String,
    /// The secret the runner sends as `Authorization: Bearer` on every connection.
    pub credential: String,
}
