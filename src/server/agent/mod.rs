//! Agent drivers: one per agent protocol, behind one trait, so the session task never knows
//! which program it talks to. A driver turns session commands into the agent's protocol on
//! stdin, and the agent's stdout into `AgentOutput`s on a channel. One connection loop
//! (`connection`) runs every protocol; `claude`, `codex` and `acp` each only parse and frame.

pub mod acp;
pub mod acp_events;
pub mod claude;
pub mod claude_events;
pub mod codex;
pub mod codex_events;
pub mod codex_items;
pub mod codex_policy;
pub mod connection;
pub mod process;
#[cfg(test)]
pub mod scripted;

use crate::protocol::{
    AgentId, AgentProtocol, Attachment, ClientMsgId, RequestId, SessionEvent, Usage, DEMO,
};
use crate::server::catalog::AgentCatalog;
pub use connection::QueuedDriver;
use std::collections::BTreeMap;
use std::path::PathBuf;
use tokio::sync::mpsc;

/// What a driver reports to its session task. Serializable: a runner sends it to the server.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum AgentOutput {
    /// The agent is ready for prompts (the start deadline is met).
    Ready,
    /// The agent's own id of the conversation it holds; a later start resumes it.
    Conversation {
        /// The id.
        agent_session_id: String,
    },
    /// The agent could not resume the stored conversation and exited; the session starts a
    /// fresh one and says so.
    ResumeFailed {
        /// The agent's words.
        reason: String,
    },
    /// Something for the transcript.
    Event(SessionEvent),
    /// The turn ended.
    TurnEnded {
        /// Tokens and cost, when reported.
        usage: Usage,
        /// Why it ended (`end_turn`, `cancelled`, ...).
        stop_reason: String,
    },
    /// What the running turn has spent so far, after one of its model calls (the turn's
    /// whole spending, not the call's): budgets are checked on it.
    Spending {
        /// Tokens and cost since the turn began, as far as the agent reports them.
        usage: Usage,
    },
    /// The agent said something the driver could not use (garbage, protocol error).
    Garbled(String),
    /// The agent cannot go on (it refused to open a session); the process is dropped.
    Failed(String),
    /// The agent's runner went away and took the process with it (it was killed, or the
    /// machine restarted); the turn it was in is interrupted, not failed.
    Lost {
        /// What happened, for the transcript.
        reason: String,
    },
    /// The agent's machine is out of contact (its runner stopped dialling in): the session
    /// shows so, and waits.
    Unreachable {
        /// The machine's name.
        machine: String,
    },
    /// The machine is back: whatever the agent did meanwhile follows.
    Reachable,
    /// The process exited; nothing follows.
    Exited {
        /// Exit code, `None` when killed by a signal.
        code: Option<i32>,
        /// The last lines it wrote to stderr.
        stderr_tail: String,
    },
}

/// One output and its number in the agent's sequence (1, 2, ...), given by the connection
/// that read it. A runner keeps each output until the server has stored the outputs up to
/// its number; `seq` 0 marks an output said by the server itself (a launch that failed).
#[derive(Debug)]
pub struct Numbered {
    /// Its number.
    pub seq: u64,
    /// The output.
    pub output: AgentOutput,
}

/// A user turn as the agent receives it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TurnInput {
    /// The message text.
    pub text: String,
    /// Images and files pasted with it.
    pub attachments: Vec<Attachment>,
    /// The message's id (its `UserMessage`'s), which the turn's `TurnStarted` names; the
    /// agent never sees it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<ClientMsgId>,
}

impl TurnInput {
    /// The turn a stored `UserMessage` asks for; `None` for any other event.
    pub fn of_message(event: SessionEvent) -> Option<Self> {
        match event {
            SessionEvent::UserMessage {
                client_msg_id,
                text,
                attachments,
            } => Some(TurnInput {
                text,
                attachments,
                client_msg_id: Some(client_msg_id),
            }),
            _ => None,
        }
    }
}

/// Why a driver could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The program could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The cause (e.g. not found).
        source: std::io::Error,
    },
    /// No command is configured.
    #[error("no command configured for this agent")]
    NoCommand,
    /// The agent's program is not installed.
    #[error("{agent} is not installed: {problem}.{}", install.as_ref().map(|i| format!(" Install it with `{i}` (then add agents/node_modules/.bin to PATH).")).unwrap_or_default())]
    NotInstalled {
        /// The agent's name.
        agent: String,
        /// What is missing.
        problem: String,
        /// The command that installs it, when known.
        install: Option<String>,
    },
    /// No agent has this key.
    #[error("unknown agent {0}; see the Doctor page for the agents this server knows")]
    Unknown(String),
    /// The process is gone; the next message restarts it.
    #[error("the agent process has exited")]
    Gone,
    /// The machine it should run on cannot take it (unknown, revoked).
    #[error("{0}")]
    Machine(String),
}

/// The operations every agent protocol supports. Calls only queue work for the driver's
/// connection task, so they never block the session task.
pub trait AgentDriver: Send {
    /// Sends a user turn. The driver queues it until the agent is ready.
    fn send_turn(&mut self, turn: TurnInput) -> Result<(), AgentError>;
    /// Answers a pending permission request with one of its option ids.
    fn answer_permission(&mut self, request: &RequestId, option_id: &str)
        -> Result<(), AgentError>;
    /// Asks the agent, in its own protocol, to stop the running turn.
    fn interrupt(&mut self) -> Result<(), AgentError>;
    /// Switches the agent's permission mode, for this and later turns.
    fn set_mode(&mut self, mode: &str) -> Result<(), AgentError>;
    /// The process id (also its group's), for the log; `None` for a scripted test driver.
    fn pid(&self) -> Option<i32>;
    /// Sends a signal to the agent's whole process group (Stop's ladder, shutdown).
    fn signal(&self, signal: nix::sys::signal::Signal);
    /// The last lines the agent wrote to stderr, for an error's detail.
    fn stderr_tail(&self) -> String;
    /// Asks the agent to exit (the caller waits a grace period, then kills the group).
    fn shutdown(&mut self) {
        self.signal(nix::sys::signal::Signal::SIGTERM);
    }
    /// Where the agent runs, for the sidebar and the Doctor.
    fn placement(&self) -> crate::protocol::AgentPlacement {
        crate::protocol::AgentPlacement {
            pid: self.pid().and_then(|pid| u32::try_from(pid).ok()),
            runner: None,
        }
    }
    /// The runner's name for this agent, stored with the session so a restarted server
    /// finds it again; `None` for an agent in the server's own process.
    fn runner_key(&self) -> Option<uuid::Uuid> {
        None
    }
    /// The session has stored every output up to `through`: a runner may forget them.
    fn stored(&mut self, _through: u64) {}
    /// The server is stopping: let the agent run on when it can (it lives in a runner);
    /// false when dropping the driver will stop it.
    fn keep_running(&mut self) -> bool {
        false
    }
}

/// Starts agents for sessions. The server's is the [`AgentCatalog`] (real child
/// processes); the session core's unit tests give a scripted one.
pub trait AgentLauncher: Send + Sync {
    /// Starts the agent a session asks for; its outputs arrive on the returned channel.
    fn launch(&self, request: StartRequest) -> Result<Launched, AgentError>;
}

/// A started agent: the driver to command it and the channel of what it reports.
pub type Launched = (Box<dyn AgentDriver>, mpsc::Receiver<Numbered>);

impl AgentLauncher for AgentCatalog {
    fn launch(&self, request: StartRequest) -> Result<Launched, AgentError> {
        start(self, request)
    }
}

/// What the session task asks of a driver's connection task: the same four requests in
/// every protocol, each protocol says them in its own.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum DriverCommand {
    /// A user turn (queued by the connection until the agent is ready).
    Turn(TurnInput),
    /// The answer to a permission request.
    Permission {
        /// The request answered.
        request: RequestId,
        /// The chosen option.
        option_id: String,
    },
    /// Stop the running turn.
    Interrupt,
    /// Switch the permission mode.
    SetMode(String),
}

/// How to start a CLI agent with its own protocol (Claude Code's stream-json, Codex's
/// app-server).
#[derive(Debug, Clone)]
pub struct CliStart {
    /// The executable, with any arguments of its own (e.g. a node launcher's); the driver
    /// adds its protocol's.
    pub command: Vec<String>,
    /// The agent's conversation (Claude) or thread (Codex) to resume; `None` starts fresh.
    pub resume: Option<String>,
    /// The permission mode, in the agent's own names.
    pub permission_mode: String,
    /// The model, when chosen.
    pub model: Option<String>,
}

/// What a session asks for when it starts its agent.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StartRequest {
    /// The session it works for.
    pub session: crate::protocol::SessionId,
    /// Which agent.
    pub kind: AgentId,
    /// Working directory.
    pub cwd: PathBuf,
    /// The agent's conversation to resume, if there was one.
    pub resume: Option<String>,
    /// The agent's permission mode.
    pub permission_mode: String,
    /// The model, when chosen.
    pub model: Option<String>,
    /// The machine (its id) to run on; `None`: this server's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
}

/// An agent start with everything looked up: the program, its environment and protocol.
/// The server resolves it from its catalog; whoever runs the agent (the server itself, or
/// its runner) needs nothing else.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ResolvedStart {
    /// What the session asked for.
    pub request: StartRequest,
    /// The argv that starts it (program first).
    pub argv: Vec<String>,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// Which protocol it speaks.
    pub protocol: AgentProtocol,
}

/// Looks up how to start the agent a session asks for: an unknown or missing agent is
/// refused here, before anything is spawned.
pub fn resolve(catalog: &AgentCatalog, request: StartRequest) -> Result<ResolvedStart, AgentError> {
    let entry = catalog
        .get(&request.kind)
        .ok_or_else(|| AgentError::Unknown(request.kind.to_string()))?;
    let argv = entry.argv.clone().ok_or_else(|| AgentError::NotInstalled {
        agent: entry.info.label.clone(),
        problem: entry.info.problem.clone().unwrap_or_default(),
        install: entry.info.install_hint.clone(),
    })?;
    let mut env = entry.env.clone();
    if request.kind.as_str() == DEMO && request.permission_mode == "bypassPermissions" {
        env.insert("SWITCHBOARD_DEMO_BYPASS".into(), "1".into());
    }
    Ok(ResolvedStart {
        request,
        argv,
        env,
        protocol: entry.info.protocol,
    })
}

/// Starts the agent for a session; its outputs arrive on the returned channel.
pub fn start(catalog: &AgentCatalog, request: StartRequest) -> Result<Launched, AgentError> {
    start_resolved(resolve(catalog, request)?)
}

/// Starts a resolved agent: its process and its protocol's connection task.
pub fn start_resolved(start: ResolvedStart) -> Result<Launched, AgentError> {
    let ResolvedStart {
        request,
        argv,
        env,
        protocol,
    } = start;
    match protocol {
        AgentProtocol::Claude => {
            let start = CliStart {
                command: argv,
                resume: request.resume,
                permission_mode: request.permission_mode,
                model: request.model,
            };
            let (driver, outputs) = claude::start(start, &env, &request.cwd)?;
            Ok((Box::new(driver), outputs))
        }
        AgentProtocol::Codex => codex::start_codex(&request, argv, &env),
        AgentProtocol::Acp => {
            let (driver, outputs) = acp::start(
                &argv,
                &env,
                &request.cwd,
                request.resume,
                Some(request.permission_mode),
            )?;
            Ok((Box::new(driver), outputs))
        }
    }
}

/// The first executable called `name` in the directories on PATH.
pub fn find_on_path(name: &str) -> Option<String> {
    find_in(std::env::var_os("PATH").as_deref(), name)
}

/// The first executable called `name` in the directories of `search_path` (PATH-like).
pub fn find_in(search_path: Option<&std::ffi::OsStr>, name: &str) -> Option<String> {
    std::env::split_paths(search_path?)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
        .map(|found| found.display().to_string())
}

/// Whether `path` is a file this user may run.
pub fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
