//! Agents that outlive the server: a runner process (`switchboard runner`) owns the agent
//! processes and their drivers; the server talks to it over a unix socket in the data dir
//! with the runner protocol. `host` is the runner, `link` the server's side, `backlog` the
//! runner's bounded store of outputs the server has not stored yet. With `runner.mode =
//! "embedded"` none of this runs: agents are children of the server, as before.

pub mod backlog;
pub mod cli;
pub mod dial;
pub mod driver;
pub mod host;
pub mod link;
mod link_task;
pub mod wire;

pub use link_task::{RunnerIo, RunnerStream};
pub use wire::PROTOCOL_VERSION;

use crate::protocol::{RunnerHealth, SessionId};
use crate::server::agent::{self, AgentError, AgentLauncher, Launched, StartRequest};
use crate::server::catalog::AgentCatalog;
use crate::server::config::{Config, RunnerMode};
use link::RunnerLink;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use wire::{AgentKey, FromRunner, HostedAgent, Role, RunnerInfo, ToRunner};

/// How long the server waits for its runner at start.
const CONNECT_WAIT: Duration = Duration::from_secs(15);

/// This build of Switchboard: the program file's size and time, read once at start
/// (SWITCHBOARD_BUILD_ID overrides it, to test an upgrade). A runner of another build is
/// drained by the server, so an upgrade reaches the drivers and parsers the runner runs.
pub fn build_id() -> String {
    static BUILD: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BUILD
        .get_or_init(|| {
            if let Ok(id) = std::env::var("SWITCHBOARD_BUILD_ID") {
                return id;
            }
            let meta = std::env::current_exe().and_then(std::fs::metadata);
            match meta {
                Ok(meta) => {
                    let modified = meta
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_nanos());
                    format!("{}-{}-{modified}", env!("CARGO_PKG_VERSION"), meta.len())
                }
                Err(_) => env!("CARGO_PKG_VERSION").to_owned(),
            }
        })
        .clone()
}

/// The folder of the runner's sockets, log and spill files in the data dir.
pub fn runner_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("runner")
}

/// The socket of the runner speaking `protocol`: one per version, so an older runner that
/// drains and a new one can both run for a while.
pub fn socket_path(data_dir: &Path, protocol: u32) -> PathBuf {
    runner_dir(data_dir).join(format!("v{protocol}.sock"))
}

/// The socket a server with `config` uses.
pub fn configured_socket(config: &Config) -> PathBuf {
    config
        .runner
        .socket
        .clone()
        .unwrap_or_else(|| socket_path(&config.data_dir, config.runner.protocol))
}

/// How another machine's runner reaches its server (`switchboard runner --server`).
#[derive(Debug, Clone)]
pub struct RemoteArgs {
    /// The server's URL; with several nodes, each node's (tried in turn).
    pub servers: Vec<String>,
    /// A one-time enrollment code to redeem first.
    pub enroll: Option<String>,
    /// A PEM file of certificates to trust besides the system's.
    pub ca: Option<PathBuf>,
    /// Allows `http://` (the credential travels unencrypted).
    pub insecure_plain: bool,
}

/// The server and credential of this machine: enrolls first when given a code, else reads
/// the credential an earlier enrollment stored.
async fn machine_credential(dir: &Path, args: &RemoteArgs) -> Result<host::RemoteServer, String> {
    if args.servers.is_empty() {
        return Err("give the server with --server https://HOST[:PORT]".into());
    }
    let targets = args
        .servers
        .iter()
        .map(|url| dial::Target::new(url, args.ca.as_deref(), args.insecure_plain))
        .collect::<Result<Vec<_>, _>>()?;
    let credential = match &args.enroll {
        Some(code) => {
            let enrolled = dial::enroll_with_any(&targets, code, &dial::host_name())
                .await
                .map_err(|e| format!("enrollment failed: {e}"))?;
            let file = dial::MachineFile {
                server: args.servers.join(","),
                machine: enrolled.machine,
                name: enrolled.name,
                credential: enrolled.credential,
            };
            dial::write_machine_file(dir, &file)?;
            println!(
                "enrolled as the machine {:?}; the credential is in {}",
                file.name,
                dial::machine_file(dir).display()
            );
            file.credential
        }
        None => match dial::read_machine_file(dir)? {
            Some(file) => file.credential,
            None => {
                return Err(format!(
                    "this machine has not enrolled ({} is missing): run once with --enroll \
                     CODE (an admin makes a code on the Machines page)",
                    dial::machine_file(dir).display()
                ))
            }
        },
    };
    Ok(host::RemoteServer {
        targets,
        credential,
    })
}

/// Runs the runner process until it is stopped (`switchboard runner`); with `remote`, as
/// another machine's runner dialling that server.
pub async fn run_host(config: &Config, remote: Option<RemoteArgs>) -> Result<(), String> {
    let dir = runner_dir(&config.data_dir);
    crate::server::private_dir::ensure_private_dir(&dir).map_err(|e| e.to_string())?;
    let remote = match &remote {
        Some(args) => Some(machine_credential(&dir, args).await?),
        None => None,
    };
    let socket = configured_socket(config);
    let lock_file = socket.with_extension("lock");
    // Two servers starting at once may each start a runner: the second finds this lock
    // taken and leaves quietly, and both servers connect to the first.
    let lock = match crate::server::data_lock::DataDirLock::acquire_file(&lock_file, &dir) {
        Ok(lock) => lock,
        Err(crate::server::data_lock::LockError::Busy(_)) => {
            tracing::info!("a runner already serves {}", socket.display());
            return Ok(());
        }
        Err(e) => return Err(e.to_string()),
    };
    let options = host::HostOptions {
        socket,
        spill_dir: dir.join("spill"),
        protocol: config.runner.protocol,
        linger: config.runner.linger,
        memory_limit: config.runner.memory_limit,
        spill_limit: config.runner.spill_limit,
        remote,
    };
    crate::server::private_dir::ensure_private_dir(&options.spill_dir)
        .map_err(|e| e.to_string())?;
    host::serve(options, lock).await.map_err(|e| e.to_string())
}

/// Starts `switchboard runner` for this data dir in its own session, detached from the
/// server (a server's SIGKILL does not reach it), logging to `runner/runner.log`.
fn spawner(config: &Config) -> link::Spawn {
    let data_dir = config.data_dir.clone();
    let config_file = config.config_file.clone();
    Arc::new(move || {
        use std::os::unix::process::CommandExt;
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
        let dir = runner_dir(&data_dir);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("runner.log"))
            .map_err(|e| format!("cannot open the runner's log: {e}"))?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let mut command = std::process::Command::new(exe);
        command.arg("runner").arg("--data-dir").arg(&data_dir);
        if let Some(file) = &config_file {
            command.arg("--config").arg(file);
        }
        for secret in crate::server::config::SECRET_ENV {
            command.env_remove(secret);
        }
        // SAFETY: between fork and exec only setsid(2), which is async-signal-safe, runs.
        unsafe {
            command.pre_exec(|| {
                nix::unistd::setsid()
                    .map(drop)
                    .map_err(std::io::Error::from)
            });
        }
        let mut child = command
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot start the runner: {e}"))?;
        tracing::info!(pid = child.id(), "started a runner");
        // Reaped here if it ends while this server runs; init reaps it otherwise.
        std::thread::spawn(move || child.wait());
        Ok(())
    })
}

/// The server's runners: the current one, which starts every new agent, and older ones
/// being drained (their running turns finish; then they exit).
pub struct Runners {
    /// Where new agents start; replaced when its runner drains.
    current: Mutex<Arc<RunnerLink>>,
    /// Runners finishing their turns.
    draining: Mutex<Vec<Arc<RunnerLink>>>,
    catalog: Arc<AgentCatalog>,
    /// How to reach (or start) a new current runner.
    socket: PathBuf,
    spawn: Option<link::Spawn>,
    protocol: u32,
    /// Other machines' runners, for the sessions of their projects.
    machines: Arc<crate::server::machines::Machines>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each critical section swaps or clones an Arc; a poisoned lock still holds valid ones.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Runners {
    /// Connects to this data dir's runner, starting it when none runs, and drains any
    /// runner of an older protocol found beside it.
    pub async fn start(
        config: &Config,
        catalog: Arc<AgentCatalog>,
        machines: Arc<crate::server::machines::Machines>,
    ) -> Result<Arc<Runners>, String> {
        let dir = runner_dir(&config.data_dir);
        crate::server::private_dir::ensure_private_dir(&dir).map_err(|e| e.to_string())?;
        let ours = config.runner.protocol;
        let mut draining = Vec::new();
        for (version, socket) in older_sockets(&dir, ours) {
            match RunnerLink::connect(socket.clone(), None, version, Duration::from_secs(2)).await {
                Ok(link) => {
                    tracing::info!(version, "draining a runner of an older protocol");
                    link.keep_to_this_connection();
                    link.drain();
                    draining.push(link);
                }
                Err(e) => tracing::debug!("no older runner on {}: {e}", socket.display()),
            }
        }
        let spawn = config.runner.socket.is_none().then(|| spawner(config));
        let socket = configured_socket(config);
        let mut current =
            RunnerLink::connect(socket.clone(), spawn.clone(), ours, CONNECT_WAIT).await?;
        let build = current.build();
        if spawn.is_some() && build.as_deref() != Some(build_id().as_str()) {
            // Another build (an upgrade, a rebuild): it finishes its turns over this link,
            // and a runner of this build takes the socket.
            tracing::info!(runner = ?build, ours = %build_id(), "draining a runner of another build");
            current.keep_to_this_connection();
            current.drain();
            // Answered after the drain, on the same connection: the socket is free now.
            let _ = current.status().await;
            draining.push(current);
            current =
                RunnerLink::connect(socket.clone(), spawn.clone(), ours, CONNECT_WAIT).await?;
        }
        Ok(Arc::new(Runners {
            current: Mutex::new(current),
            draining: Mutex::new(draining),
            catalog,
            socket,
            spawn,
            protocol: ours,
            machines,
        }))
    }

    /// The runner new agents start in. When the current one drains (`runner stop`), a link
    /// to a new one is opened (its requests wait until it answers) and the old one keeps
    /// its connection for the turns still running there.
    fn current(&self) -> Arc<RunnerLink> {
        let mut current = lock(&self.current);
        if current.runner_draining() && self.spawn.is_some() {
            let fresh = RunnerLink::start(self.socket.clone(), self.spawn.clone(), self.protocol);
            let old = std::mem::replace(&mut *current, fresh);
            let mut draining = lock(&self.draining);
            draining.retain(|link| !link.ended());
            draining.push(old);
        }
        Arc::clone(&current)
    }

    /// Every link: the current one, those draining, and other machines'.
    fn links(&self) -> Vec<Arc<RunnerLink>> {
        let mut links = vec![Arc::clone(&lock(&self.current))];
        links.extend(lock(&self.draining).iter().cloned());
        links.extend(self.machines.links());
        links
    }

    /// Other machines' runners.
    pub fn machines(&self) -> &Arc<crate::server::machines::Machines> {
        &self.machines
    }

    /// The link to `machine`'s runner, if it may run agents.
    pub fn machine_link(&self, machine: &str) -> Option<Arc<RunnerLink>> {
        self.machines.link(machine).ok()
    }

    /// Takes the agent a runner held for `session` when the server started, with the link
    /// that holds it.
    pub fn claim(
        &self,
        session: SessionId,
        stored_key: Option<AgentKey>,
    ) -> Option<(Arc<RunnerLink>, HostedAgent)> {
        self.links()
            .into_iter()
            .find_map(|link| link.claim(session, stored_key).map(|agent| (link, agent)))
    }

    /// Releases the agents no session claimed.
    pub fn release_unclaimed(&self) {
        for link in self.links() {
            link.release_unclaimed();
        }
    }

    /// The Doctor's view of the current runner.
    pub async fn health(&self) -> RunnerHealth {
        let current = self.current();
        let mut health = RunnerHealth {
            mode: "detached".into(),
            connected: current.connected(),
            problem: current.problem(),
            draining: lock(&self.draining).len() as u32,
            ..RunnerHealth::default()
        };
        match current.status().await {
            Some((info, agents)) => fill_health(&mut health, &info, &agents),
            // Busy (or between connections): who it is is known from its hello.
            None => {
                if let Some(info) = current.info() {
                    fill_health(&mut health, &info, &[]);
                }
            }
        }
        health
    }
}

/// The runner's figures into the Doctor's report.
fn fill_health(health: &mut RunnerHealth, info: &RunnerInfo, agents: &[HostedAgent]) {
    health.pid = Some(info.pid);
    health.version = Some(info.version.clone());
    health.protocol = Some(info.protocol);
    health.started_at_ms = Some(info.started_at_ms);
    health.agents = agents.len() as u32;
    health.unacknowledged = agents.iter().map(|a| a.unacknowledged as u64).sum();
    health.spilled_bytes = agents.iter().map(|a| a.spilled_bytes).sum();
    health.paused = agents.iter().filter(|a| a.paused).count() as u32;
}

/// The Doctor's report when agents run in the server itself.
pub fn embedded_health() -> RunnerHealth {
    RunnerHealth {
        mode: "embedded".into(),
        connected: true,
        pid: Some(std::process::id()),
        version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        ..RunnerHealth::default()
    }
}

/// Sockets of runners speaking an older protocol than `ours`, with their versions.
fn older_sockets(dir: &Path, ours: u32) -> Vec<(u32, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version: u32 = name
                .strip_prefix('v')?
                .strip_suffix(".sock")?
                .parse()
                .ok()?;
            (version < ours).then(|| (version, entry.path()))
        })
        .collect()
}

impl AgentLauncher for Runners {
    fn launch(&self, request: StartRequest) -> Result<Launched, AgentError> {
        // Looked up here: a missing agent is refused with the server's own catalog, and the
        // runner needs no configuration.
        let machine = request.machine.clone();
        let start = agent::resolve(&self.catalog, request)?;
        match machine {
            None => Ok(self.current().launch(start)),
            Some(machine) => {
                let link = self
                    .machines
                    .link(&machine)
                    .map_err(|e| AgentError::Machine(e.to_string()))?;
                Ok(link.launch(start))
            }
        }
    }
}

/// What `runner status` and `runner stop` print: asks the runner of `config`'s data dir.
pub async fn control(
    config: &Config,
    frame: ToRunner,
) -> Result<(RunnerInfo, Vec<HostedAgent>), String> {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let socket = configured_socket(config);
    let stream = tokio::net::UnixStream::connect(&socket)
        .await
        .map_err(|e| {
            format!(
                "no runner runs for {} ({}): {e}",
                config.data_dir.display(),
                socket.display()
            )
        })?;
    let (mut ws, _) = tokio_tungstenite::client_async("ws://runner/", stream)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let hello = ToRunner::Hello {
        version: config.runner.protocol,
        role: Role::Control,
    };
    for frame in [hello, frame] {
        let text = serde_json::to_string(&frame).map_err(|e| e.to_string())?;
        ws.send(Message::text(text))
            .await
            .map_err(|e| e.to_string())?;
    }
    while let Some(message) = ws.next().await {
        let Ok(Message::Text(text)) = message else {
            continue;
        };
        if let Ok(FromRunner::Status { info, agents }) = serde_json::from_str(&text) {
            return Ok((info, agents));
        }
    }
    Err("the runner closed the connection without answering".into())
}

/// Whether agents run detached for `config`.
pub fn detached(config: &Config) -> bool {
    config.runner.mode == RunnerMode::Detached
}
