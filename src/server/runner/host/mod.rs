//! The runner process (`switchboard runner`): it owns agent processes and their drivers, so
//! they outlive a server restart. It listens on a unix socket in the data dir (0600) and
//! speaks the runner protocol (`wire`) over a WebSocket to one server at a time. Each
//! agent's outputs are numbered by its connection and kept in its [`Backlog`] until the
//! server has stored them; a server that comes back is resent what it lacks.

use super::backlog::Backlog;
use super::wire::{
    read_frame, AgentKey, FromRunner, HostedAgent, Role, RunnerCommand, RunnerInfo, ToRunner,
};
use crate::protocol::{AgentId, SessionId};
use crate::server::agent::process::OwnedTask;
use crate::server::agent::{self, AgentDriver, AgentOutput, DriverCommand, Numbered};
use futures::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

mod connection;
use connection::{connection, dial_server};

/// How a runner is set up.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// The socket it listens on.
    pub socket: PathBuf,
    /// Where spill files go.
    pub spill_dir: PathBuf,
    /// The protocol version it announces (an older one only in tests of the drain).
    pub protocol: u32,
    /// How long it waits for a server before it stops its agents and exits.
    pub linger: Duration,
    /// Bytes of unacknowledged outputs one agent keeps in memory.
    pub memory_limit: usize,
    /// Bytes one agent's spill file may hold before the agent is paused.
    pub spill_limit: u64,
    /// Set for another machine's runner: the server it dials, and as whom.
    pub remote: Option<RemoteServer>,
}

/// The server another machine's runner dials.
#[derive(Clone)]
pub struct RemoteServer {
    /// Where it is: each of its nodes, tried in turn.
    pub targets: Vec<super::dial::Target>,
    /// The machine's credential.
    pub credential: String,
}

impl std::fmt::Debug for RemoteServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credential.
        f.debug_struct("RemoteServer")
            .field("targets", &self.targets)
            .finish_non_exhaustive()
    }
}

/// Why the runner could not start.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// Another runner serves this socket.
    #[error("a runner already serves {0}")]
    Running(String),
    /// The socket could not be made.
    #[error("cannot listen on {path}: {source}")]
    Listen {
        /// The socket.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The server refused this machine's runner (it was revoked).
    #[error("{0}")]
    Refused(String),
}

/// One agent the runner holds.
struct Slot {
    session: SessionId,
    kind: AgentId,
    pid: i32,
    /// Its driver; dropping it kills the process group.
    driver: Mutex<Box<dyn AgentDriver>>,
    /// Its unacknowledged outputs and the connection they go to.
    outbox: Mutex<Outbox>,
    /// Woken when an ack makes room in a full backlog.
    room: Notify,
    /// The last command number applied.
    commands_applied: AtomicU64,
    /// True from a turn's start to its end.
    busy: AtomicBool,
    /// True while the pump waits for room.
    paused: AtomicBool,
    /// The task that reads its outputs; aborted with the slot.
    pump: Mutex<Option<OwnedTask<()>>>,
}

/// An agent's outputs on their way to the server.
struct Outbox {
    backlog: Backlog,
    /// The server connection attached to this agent, with its number.
    to: Option<(u64, mpsc::UnboundedSender<String>)>,
    /// The number of its exit output, once it exited.
    exit_seq: Option<u64>,
}

/// The runner's shared state.
struct Host {
    options: HostOptions,
    info: Mutex<RunnerInfo>,
    agents: Mutex<HashMap<AgentKey, Arc<Slot>>>,
    /// The current server connection's number (0: none).
    server: AtomicU64,
    /// Frames to the current server connection.
    server_tx: Mutex<Option<mpsc::UnboundedSender<String>>>,
    /// Connections made so far, to number them.
    connections: AtomicU64,
    /// When the last server left (or the runner started).
    alone_since: Mutex<Option<Instant>>,
    /// Fired to exit.
    stop: Notify,
    /// The socket's lock, given up with the socket when draining.
    socket_lock: Mutex<Option<crate::server::data_lock::DataDirLock>>,
    /// Why the server refused this machine's runner, when it did: the runner exits.
    refused: Mutex<Option<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here is a few assignments; a poisoned lock still holds them.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs the runner until it is stopped, or has had no server for `linger`. `lock` is the
/// socket's lock file, held until the runner drains (then a new runner may take the socket).
pub async fn serve(
    options: HostOptions,
    socket_lock: crate::server::data_lock::DataDirLock,
) -> Result<(), HostError> {
    let listener = bind(&options.socket).await?;
    let info = RunnerInfo {
        instance: uuid::Uuid::new_v4(),
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        protocol: options.protocol,
        started_at_ms: crate::server::session_task::now_ms(),
        draining: false,
        build: super::build_id(),
        host: options.remote.is_some().then(super::dial::host_name),
        load: None,
    };
    tracing::info!(socket = %options.socket.display(), pid = info.pid, protocol = info.protocol, "runner listening");
    let host = Arc::new(Host {
        options,
        info: Mutex::new(info),
        agents: Mutex::new(HashMap::new()),
        server: AtomicU64::new(0),
        server_tx: Mutex::new(None),
        connections: AtomicU64::new(0),
        alone_since: Mutex::new(Some(Instant::now())),
        stop: Notify::new(),
        socket_lock: Mutex::new(Some(socket_lock)),
        refused: Mutex::new(None),
    });
    let _dialling = host
        .options
        .remote
        .clone()
        .map(|remote| OwnedTask::spawn(dial_server(Arc::clone(&host), remote)));
    let mut check = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(connection(Arc::clone(&host), stream));
                }
                Err(e) => tracing::warn!("runner accept failed: {e}"),
            },
            _ = check.tick() => {
                if host.should_exit() {
                    break;
                }
            }
            () = host.stop.notified() => break,
        }
    }
    tracing::info!("runner exiting");
    if !host.draining() {
        // A drained runner gave its socket up already; the path may be a new runner's.
        let _ = std::fs::remove_file(&host.options.socket);
    }
    // Dropping the slots drops their drivers, which kill the agents' process groups.
    lock(&host.agents).clear();
    let refused = lock(&host.refused).take();
    match refused {
        Some(why) => Err(HostError::Refused(why)),
        None => Ok(()),
    }
}

/// Binds the socket, private to this user. A socket file nobody answers on is left over
/// from a runner that died; one that answers belongs to a live runner.
async fn bind(path: &std::path::Path) -> Result<UnixListener, HostError> {
    let listen_error = |source| HostError::Listen {
        path: path.display().to_string(),
        source,
    };
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            return Err(HostError::Running(path.display().to_string()));
        }
        std::fs::remove_file(path).map_err(listen_error)?;
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(listen_error)?;
    }
    let listener = UnixListener::bind(path).map_err(listen_error)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(listen_error)?;
    Ok(listener)
}

impl Host {
    fn snapshot(&self) -> (RunnerInfo, Vec<HostedAgent>) {
        let mut info = lock(&self.info).clone();
        if self.options.remote.is_some() {
            info.load = super::dial::load_average();
        }
        let agents = lock(&self.agents)
            .iter()
            .map(|(key, slot)| slot.describe(*key))
            .collect();
        (info, agents)
    }

    fn draining(&self) -> bool {
        lock(&self.info).draining
    }

    /// Exit when drained and empty, when no server came for `linger`, or when its socket
    /// was removed (the data dir deleted): nobody can reach it any more.
    fn should_exit(&self) -> bool {
        if !self.draining() && !self.options.socket.exists() {
            tracing::warn!("the runner's socket is gone; exiting");
            return true;
        }
        let empty = lock(&self.agents).is_empty();
        if self.draining() && empty {
            return true;
        }
        let alone = *lock(&self.alone_since);
        alone.is_some_and(|since| since.elapsed() >= self.options.linger)
    }

    /// Takes no new agents and stops the idle ones; busy ones stop when their turn ends.
    /// Gives up the socket's path and lock, so a new runner can start there while this one
    /// finishes over the connections it has.
    fn drain(&self) {
        {
            let mut info = lock(&self.info);
            if !info.draining {
                info.draining = true;
                let _ = std::fs::remove_file(&self.options.socket);
                lock(&self.socket_lock).take();
                if let Some(to) = lock(&self.server_tx).as_ref() {
                    if let Ok(text) = serde_json::to_string(&FromRunner::Draining) {
                        let _ = to.send(text);
                    }
                }
            }
        }
        let idle: Vec<Arc<Slot>> = lock(&self.agents)
            .values()
            .filter(|slot| !slot.busy.load(Ordering::Relaxed))
            .cloned()
            .collect();
        for slot in idle {
            lock(&slot.driver).shutdown();
        }
    }

    fn slot(&self, key: &AgentKey) -> Option<Arc<Slot>> {
        lock(&self.agents).get(key).cloned()
    }

    fn launch(
        self: &Arc<Self>,
        key: AgentKey,
        start: agent::ResolvedStart,
        conn: (u64, &mpsc::UnboundedSender<String>),
    ) -> FromRunner {
        if let Some(slot) = self.slot(&key) {
            return FromRunner::Launched {
                agent: key,
                pid: slot.pid,
            };
        }
        if self.draining() {
            return FromRunner::LaunchFailed {
                agent: key,
                error: "the runner is being replaced; try again".into(),
            };
        }
        let kind = start.request.kind.clone();
        let session = start.request.session;
        if !start.request.cwd.is_dir() {
            return FromRunner::LaunchFailed {
                agent: key,
                error: format!(
                    "the folder {} does not exist on {}",
                    start.request.cwd.display(),
                    lock(&self.info).host.as_deref().unwrap_or("this host")
                ),
            };
        }
        let runner_dir = self
            .options
            .spill_dir
            .parent()
            .unwrap_or(&self.options.spill_dir);
        let start = for_this_host(
            start,
            std::env::current_exe().ok(),
            std::env::var_os("PATH"),
            runner_dir,
        );
        let (driver, outputs) = match agent::start_resolved(start) {
            Ok(launched) => launched,
            Err(e) => {
                return FromRunner::LaunchFailed {
                    agent: key,
                    error: e.to_string(),
                }
            }
        };
        let pid = driver.pid().unwrap_or(0);
        let spill = self.options.spill_dir.join(format!("{key}.spill"));
        let slot = Arc::new(Slot {
            session,
            kind,
            pid,
            driver: Mutex::new(driver),
            outbox: Mutex::new(Outbox {
                backlog: Backlog::new(spill, self.options.memory_limit, self.options.spill_limit),
                to: Some((conn.0, conn.1.clone())),
                exit_seq: None,
            }),
            room: Notify::new(),
            commands_applied: AtomicU64::new(0),
            busy: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            pump: Mutex::new(None),
        });
        tracing::info!(agent = %key, %session, pid, "agent started");
        let pump = OwnedTask::spawn(pump(Arc::clone(self), key, Arc::clone(&slot), outputs));
        *lock(&slot.pump) = Some(pump);
        lock(&self.agents).insert(key, slot);
        FromRunner::Launched { agent: key, pid }
    }

    /// Forgets an agent: its driver is dropped (the process group killed) and its pump
    /// aborted.
    fn release(&self, key: &AgentKey) {
        let removed = lock(&self.agents).remove(key);
        if let Some(slot) = removed {
            tracing::info!(agent = %key, "agent released");
            lock(&slot.pump).take();
        }
    }
}

impl Slot {
    fn describe(&self, key: AgentKey) -> HostedAgent {
        let outbox = lock(&self.outbox);
        HostedAgent {
            agent: key,
            session: self.session,
            kind: self.kind.clone(),
            pid: self.pid,
            last_seq: outbox.backlog.last_seq(),
            unacknowledged: outbox.backlog.len(),
            spilled_bytes: outbox.backlog.sizes().1,
            paused: self.paused.load(Ordering::Relaxed),
            busy: self.busy.load(Ordering::Relaxed),
            commands_applied: self.commands_applied.load(Ordering::SeqCst),
        }
    }

    fn apply(&self, n: u64, command: RunnerCommand) {
        // Each number once: a server resends what it is not sure arrived.
        if self.commands_applied.fetch_max(n, Ordering::SeqCst) >= n {
            return;
        }
        let mut driver = lock(&self.driver);
        let result = match command {
            RunnerCommand::Driver(DriverCommand::Turn(input)) => {
                self.busy.store(true, Ordering::Relaxed);
                driver.send_turn(input)
            }
            RunnerCommand::Driver(DriverCommand::Permission { request, option_id }) => {
                driver.answer_permission(&request, &option_id)
            }
            RunnerCommand::Driver(DriverCommand::Interrupt) => driver.interrupt(),
            RunnerCommand::Driver(DriverCommand::SetMode(mode)) => driver.set_mode(&mode),
            RunnerCommand::Signal(number) => {
                if let Ok(signal) = nix::sys::signal::Signal::try_from(number) {
                    driver.signal(signal);
                }
                Ok(())
            }
        };
        // A driver whose process is gone reports the exit as its last output.
        if let Err(e) = result {
            tracing::debug!("command reached no agent: {e}");
        }
    }
}

/// Reads one agent's outputs into its backlog and, while a server is attached, to it. A
/// full backlog stops the reading, which stops the connection reading the agent's stdout:
/// the agent waits, nothing is dropped.
async fn pump(
    host: Arc<Host>,
    key: AgentKey,
    slot: Arc<Slot>,
    mut outputs: mpsc::Receiver<Numbered>,
) {
    while let Some(Numbered { seq, output }) = outputs.recv().await {
        let ended_turn = matches!(output, AgentOutput::TurnEnded { .. });
        let exited = matches!(output, AgentOutput::Exited { .. });
        let frame = FromRunner::Output {
            agent: key,
            seq,
            output,
            applied: slot.commands_applied.load(Ordering::SeqCst),
        };
        let text = match serde_json::to_string(&frame) {
            Ok(text) => text,
            Err(e) => {
                tracing::error!(agent = %key, seq, "cannot encode an output: {e}");
                continue;
            }
        };
        // Never dropped: while the spill file refuses it, the agent waits, unread.
        while let Err(e) = keep(&slot, seq, &text, exited) {
            tracing::error!(agent = %key, seq, "cannot keep an output, retrying in 1 s: {e}");
            slot.paused.store(true, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        slot.paused.store(false, Ordering::Relaxed);
        if ended_turn || exited {
            slot.busy.store(false, Ordering::Relaxed);
            if ended_turn && host.draining() {
                lock(&slot.driver).shutdown();
            }
        }
        if exited {
            return;
        }
        while lock(&slot.outbox).backlog.is_full() {
            slot.paused.store(true, Ordering::Relaxed);
            tracing::warn!(agent = %key, "backlog full; the agent is paused until the server stores its outputs");
            slot.room.notified().await;
        }
        slot.paused.store(false, Ordering::Relaxed);
    }
}

/// Keeps output `seq` (encoded as `text`) in the agent's backlog and sends it to the
/// attached server, under one lock so an attach's resend cannot slip between the two.
fn keep(slot: &Slot, seq: u64, text: &str, exited: bool) -> std::io::Result<()> {
    let mut outbox = lock(&slot.outbox);
    outbox.backlog.push(seq, text.to_owned())?;
    if exited {
        outbox.exit_seq = Some(seq);
    }
    let gone = outbox
        .to
        .as_ref()
        .is_some_and(|(_, to)| to.send(text.to_owned()).is_err());
    if gone {
        outbox.to = None;
    }
    Ok(())
}

/// An agent start as the server resolved it, made to fit this host (another machine's
/// runner): the demo agent is this runner's own program; a program the server named by a
/// path that does not exist here is looked up by its name on this host's PATH; the demo
/// agent's state goes in the runner's folder when the server's does not exist here.
fn for_this_host(
    mut start: agent::ResolvedStart,
    own_exe: Option<PathBuf>,
    search_path: Option<std::ffi::OsString>,
    runner_dir: &std::path::Path,
) -> agent::ResolvedStart {
    let program = start.argv.first().cloned().unwrap_or_default();
    if start.argv.get(1).is_some_and(|arg| arg == "demo-agent") {
        if let Some(exe) = own_exe {
            start.argv[0] = exe.display().to_string();
        }
    } else if program.contains('/') && !std::path::Path::new(&program).is_file() {
        let name = std::path::Path::new(&program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        if let Some(found) = name.and_then(|n| agent::find_in(search_path.as_deref(), &n)) {
            start.argv[0] = found;
        }
    }
    if let Some(state) = start.env.get_mut("SWITCHBOARD_DEMO_STATE_DIR") {
        let parent_exists = std::path::Path::new(state.as_str())
            .parent()
            .is_some_and(std::path::Path::is_dir);
        if !parent_exists {
            *state = runner_dir.join("demo-agent").display().to_string();
        }
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(argv: &[&str], state: Option<&str>) -> agent::ResolvedStart {
        let mut env = std::collections::BTreeMap::new();
        if let Some(state) = state {
            env.insert("SWITCHBOARD_DEMO_STATE_DIR".to_owned(), state.to_owned());
        }
        agent::ResolvedStart {
            request: agent::StartRequest {
                session: SessionId(uuid::Uuid::nil()),
                kind: AgentId::demo(),
                cwd: PathBuf::from("/"),
                resume: None,
                permission_mode: "default".into(),
                model: None,
                machine: Some("m".into()),
            },
            argv: argv.iter().map(|a| (*a).to_owned()).collect(),
            env,
            protocol: crate::protocol::AgentProtocol::Acp,
        }
    }

    #[test]
    fn a_start_resolved_on_the_server_is_fitted_to_the_machine() {
        let dir = tempfile::tempdir().expect("dir");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).expect("bin");
        let tool = bin.join("claude");
        std::fs::write(&tool, "#!/bin/sh\n").expect("tool");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let path = Some(bin.clone().into_os_string());
        let own = Some(PathBuf::from("/opt/here/switchboard"));
        let runner = dir.path().join("runner");

        // The demo agent: this runner's program; its state here, as the server's is not.
        let demo = for_this_host(
            start(
                &["/srv/switchboard", "demo-agent"],
                Some("/nonexistent/data/demo-agent"),
            ),
            own.clone(),
            path.clone(),
            &runner,
        );
        assert_eq!(demo.argv, ["/opt/here/switchboard", "demo-agent"]);
        assert_eq!(
            demo.env["SWITCHBOARD_DEMO_STATE_DIR"],
            runner.join("demo-agent").display().to_string()
        );
        // A program at a path this host lacks: found by name on PATH.
        let moved = for_this_host(
            start(&["/srv/agents/node_modules/.bin/claude", "--x"], None),
            own.clone(),
            path.clone(),
            &runner,
        );
        assert_eq!(moved.argv, [tool.display().to_string(), "--x".to_owned()]);
        // One that exists stays; one found nowhere is left for the start to report.
        let here = tool.display().to_string();
        let kept = for_this_host(start(&[&here], None), own.clone(), path.clone(), &runner);
        assert_eq!(kept.argv, [here]);
        let missing = for_this_host(start(&["/srv/nothing"], None), own, path, &runner);
        assert_eq!(missing.argv, ["/srv/nothing"]);
    }
}
