//! The runner protocol: what a server (or `switchboard runner status`) and a runner say to
//! each other, one JSON text message per WebSocket frame. Versioned: the first frame each
//! way is a `Hello` naming [`PROTOCOL_VERSION`]; a server meeting an older runner drains it.

use crate::protocol::{AgentId, SessionId};
use crate::server::agent::{AgentOutput, DriverCommand, ResolvedStart};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// The protocol this build speaks. Raised on any change a runner of the previous version
/// would misread.
pub const PROTOCOL_VERSION: u32 = 1;

/// A runner's name for one agent process, chosen by the server when it launches it and
/// stored with the session, so a restarted server finds its agent again.
pub type AgentKey = Uuid;

/// Who opens a connection to a runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A server: it launches agents and receives their outputs. One at a time; a new one
    /// replaces the old.
    Server,
    /// `switchboard runner status` / `stop`: asks and leaves.
    Control,
}

/// From a server (or the control command) to the runner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToRunner {
    /// The first frame of every connection.
    Hello {
        /// The protocol the sender speaks.
        version: u32,
        /// What it is.
        role: Role,
    },
    /// Start an agent. Idempotent by `agent`: a resend after a reconnect starts nothing new.
    Launch {
        /// The key the server chose.
        agent: AgentKey,
        /// What to start, looked up by the server (the runner reads no configuration).
        start: ResolvedStart,
    },
    /// Send this connection the agent's outputs after `after` (what the server has
    /// stored), then every new one as it comes.
    Attach {
        /// The agent.
        agent: AgentKey,
        /// The last output the server has stored.
        after: u64,
    },
    /// A command for the agent, numbered per agent from 1: the runner applies each number
    /// once, so a resend after a reconnect is harmless.
    Command {
        /// The agent.
        agent: AgentKey,
        /// Its number.
        n: u64,
        /// What to do.
        command: RunnerCommand,
    },
    /// The server has stored every output of the agent up to `through`.
    Ack {
        /// The agent.
        agent: AgentKey,
        /// The last stored output.
        through: u64,
    },
    /// Stop the agent's process group and forget it.
    Release {
        /// The agent.
        agent: AgentKey,
    },
    /// Take no new agents, stop the idle ones, let running turns finish, then exit.
    Drain,
    /// Report the runner's state.
    Status,
    /// Exit: after running turns end (drain), or at once with `now`.
    Stop {
        /// Kill every agent now instead of letting turns finish.
        now: bool,
    },
}

/// A command for an agent: the driver's own, or a signal to its process group.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum RunnerCommand {
    /// One of the driver's commands (turn, permission answer, interrupt, mode).
    Driver(DriverCommand),
    /// A signal to the agent's process group (Stop's ladder, shutdown), by number.
    Signal(i32),
}

/// From the runner to a connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromRunner {
    /// The answer to `Hello`: who the runner is and which agents it holds.
    Hello {
        /// The protocol the runner speaks.
        version: u32,
        /// The runner.
        info: RunnerInfo,
        /// Its agents.
        agents: Vec<HostedAgent>,
    },
    /// An agent was started (or already ran under this key).
    Launched {
        /// The agent.
        agent: AgentKey,
        /// Its process id.
        pid: i32,
    },
    /// An agent could not be started.
    LaunchFailed {
        /// The agent.
        agent: AgentKey,
        /// Why, for the transcript.
        error: String,
    },
    /// An attach took effect: resent outputs follow.
    Attached {
        /// The agent.
        agent: AgentKey,
        /// The last command number it applied: the server resends the ones after it.
        commands_applied: u64,
    },
    /// An agent's output, under its number.
    Output {
        /// The agent.
        agent: AgentKey,
        /// Its number in the agent's sequence.
        seq: u64,
        /// What the agent said.
        output: AgentOutput,
        /// The last command number the agent had applied when it said it: the server may
        /// forget the commands up to it (it keeps the others to resend after a reconnect).
        applied: u64,
    },
    /// The agent named is not (or no longer) held: it was released, or its runner
    /// restarted.
    Unknown {
        /// The agent.
        agent: AgentKey,
    },
    /// The runner began to drain (told so by `switchboard runner stop`): its server sends
    /// new agents elsewhere and keeps this connection for the turns still running.
    Draining,
    /// The answer to `Status`.
    Status {
        /// The runner.
        info: RunnerInfo,
        /// Its agents.
        agents: Vec<HostedAgent>,
    },
}

/// A runner, as it describes itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunnerInfo {
    /// Random per runner process: a server that reconnects to the same instance resumes
    /// its agents; a new instance holds none of them.
    pub instance: Uuid,
    /// Its process id.
    pub pid: u32,
    /// Its Switchboard version.
    pub version: String,
    /// The protocol it speaks.
    pub protocol: u32,
    /// When it started, milliseconds since the Unix epoch.
    pub started_at_ms: i64,
    /// True once it was told to drain.
    pub draining: bool,
    /// Which build of Switchboard it is (`runner::build_id`): a server of another build
    /// drains it, so an upgrade reaches the agents' drivers too.
    pub build: String,
    /// The host name, for another machine's runner (`None` on the server's own host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The host's one-minute load average when this was sent, where it can be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<f32>,
}

/// One agent a runner holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostedAgent {
    /// Its key.
    pub agent: AgentKey,
    /// The session it works for.
    pub session: SessionId,
    /// Which agent program.
    pub kind: AgentId,
    /// Its process id.
    pub pid: i32,
    /// The number of its newest output.
    pub last_seq: u64,
    /// Outputs kept until the server stores them.
    pub unacknowledged: usize,
    /// Bytes of them in the spill file.
    pub spilled_bytes: u64,
    /// True while it is not read because its backlog is full.
    pub paused: bool,
    /// True from a turn's start until its end.
    pub busy: bool,
    /// The last command number it applied: a server taking it over numbers on from here.
    pub commands_applied: u64,
}

/// The next frame of type `T` from a runner WebSocket; `None` when the connection ends.
/// Unreadable frames are logged and skipped: one bad frame does not cost the agents their
/// connection.
pub async fn read_frame<T, S>(frames: &mut S) -> Option<T>
where
    T: serde::de::DeserializeOwned,
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    use futures::StreamExt;
    loop {
        match frames.next().await? {
            Ok(Message::Text(text)) => match serde_json::from_str(&text) {
                Ok(frame) => return Some(frame),
                Err(e) => tracing::warn!("unreadable runner protocol frame: {e}"),
            },
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Where another machine's runner redeems its enrollment code (`POST`, JSON
/// `EnrollRequest`, answered with `Enrolled`).
pub const ENROLL_PATH: &str = "/runner/enroll";
/// Where another machine's runner connects: a `GET` with `Authorization: Bearer
/// <credential>` and `Upgrade: switchboard-runner`, answered `101`; then the server speaks
/// the runner protocol's WebSocket over the connection as the client, as it does on the
/// unix socket, so the runner needs no listening port.
pub const CONNECT_PATH: &str = "/runner/connect";
/// The `Upgrade` protocol name of a runner connection.
pub const RUNNER_UPGRADE: &str = "switchboard-runner";
/// The header carrying the connecting runner's host name.
pub const HOST_HEADER: &str = "x-switchboard-host";
/// The header carrying the connecting runner's Switchboard version.
pub const VERSION_HEADER: &str = "x-switchboard-version";
