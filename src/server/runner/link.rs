//! The server's side of the runner protocol. One [`RunnerLink`] per runner socket: its task
//! (`link_task`) owns the connection and every route (agent key to session channel);
//! drivers (`driver`) and the launcher only send it requests. It reconnects when the
//! connection drops, resends launches and commands the runner may not have seen, attaches
//! each agent after the last output the session stored, and drops outputs it already
//! forwarded: so each output reaches its session exactly once, in order, whatever happens
//! to the socket.

use super::driver::RemoteDriver;
use super::link_task::{lock, LinkTask, NewRoute, Remote, Request, RunnerStream, Shared};
use super::wire::{AgentKey, HostedAgent, RunnerInfo, ToRunner};
use crate::protocol::{RunnerPlace, SessionId};
use crate::server::agent::process::OwnedTask;
use crate::server::agent::{Numbered, ResolvedStart};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// A runner's own report: who it is and the agents it holds.
pub type RunnerStatus = (RunnerInfo, Vec<HostedAgent>);

/// Outputs that may wait for one session task before the link waits for it.
const ROUTE_QUEUE: usize = 256;

/// What the link asks of whoever starts a runner when none answers.
pub type Spawn = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// The server's link to one runner.
pub struct RunnerLink {
    requests: mpsc::UnboundedSender<Request>,
    shared: Arc<Mutex<Shared>>,
    /// True once the runner said hello (on any connection).
    hello: watch::Receiver<bool>,
    /// The link task; aborted with the link.
    _task: OwnedTask<()>,
}

impl RunnerLink {
    /// Connects to the runner on `socket` (starting one with `spawn` when none answers)
    /// and waits for its hello, at most `wait`.
    pub async fn connect(
        socket: PathBuf,
        spawn: Option<Spawn>,
        protocol: u32,
        wait: Duration,
    ) -> Result<Arc<RunnerLink>, String> {
        let (link, mut hello) = Self::open(socket.clone(), spawn, protocol, None);
        let ready = tokio::time::timeout(wait, hello.wait_for(|said| *said)).await;
        if !matches!(ready, Ok(Ok(_))) {
            let problem = link.problem().unwrap_or_default();
            return Err(format!(
                "no runner answered on {} within {} s: {problem}",
                socket.display(),
                wait.as_secs()
            ));
        }
        Ok(link)
    }

    /// Like `connect`, without waiting: requests wait in the link until it is connected.
    pub fn start(socket: PathBuf, spawn: Option<Spawn>, protocol: u32) -> Arc<RunnerLink> {
        Self::open(socket, spawn, protocol, None).0
    }

    /// A link to another machine's runner, named `machine`, which dials the server: each
    /// connection it makes is handed to the link on the returned sender. Out of contact
    /// for `unreachable_after`, the link tells the sessions of its agents.
    pub fn remote(
        machine: String,
        protocol: u32,
        unreachable_after: Duration,
    ) -> (Arc<RunnerLink>, mpsc::UnboundedSender<RunnerStream>) {
        let (streams_tx, streams) = mpsc::unbounded_channel();
        let remote = Remote {
            machine,
            unreachable_after,
            streams,
        };
        let socket = PathBuf::new(); // never dialled
        (
            Self::open(socket, None, protocol, Some(remote)).0,
            streams_tx,
        )
    }

    fn open(
        socket: PathBuf,
        spawn: Option<Spawn>,
        protocol: u32,
        remote: Option<Remote>,
    ) -> (Arc<RunnerLink>, watch::Receiver<bool>) {
        let (requests, request_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (hello_tx, hello) = watch::channel(false);
        let task = LinkTask::new(
            socket,
            spawn,
            protocol,
            Arc::clone(&shared),
            hello_tx,
            remote,
        );
        let link = Arc::new(RunnerLink {
            requests,
            shared,
            hello: hello.clone(),
            _task: OwnedTask::spawn(task.run(request_rx)),
        });
        (link, hello)
    }

    /// True once a link that never reconnects has lost its connection: its runner is gone.
    pub fn ended(&self) -> bool {
        let shared = lock(&self.shared);
        shared.once && !shared.connected
    }

    /// True once the runner said it drains (`switchboard runner stop`): new agents belong
    /// in a new runner.
    pub fn runner_draining(&self) -> bool {
        lock(&self.shared).runner_draining
    }

    /// A sender of requests to the link's task (for its drivers).
    pub(super) fn requests(&self) -> mpsc::UnboundedSender<Request> {
        self.requests.clone()
    }

    /// The runner's protocol version, from its hello.
    pub fn protocol(&self) -> Option<u32> {
        lock(&self.shared).runner.as_ref().map(|info| info.protocol)
    }

    /// The runner as its last hello described it.
    pub fn info(&self) -> Option<RunnerInfo> {
        lock(&self.shared).runner.clone()
    }

    /// Where agents of this runner run.
    pub fn place(&self) -> Option<RunnerPlace> {
        lock(&self.shared).runner.as_ref().map(|info| RunnerPlace {
            pid: info.pid,
            version: info.version.clone(),
            host: info.host.clone(),
        })
    }

    /// The runner's build, from its hello.
    pub fn build(&self) -> Option<String> {
        lock(&self.shared)
            .runner
            .as_ref()
            .map(|info| info.build.clone())
    }

    /// Never reconnects: for a runner being drained, whose socket path a new runner takes.
    pub fn keep_to_this_connection(&self) {
        lock(&self.shared).once = true;
    }

    /// True while connected.
    pub fn connected(&self) -> bool {
        lock(&self.shared).connected
    }

    /// Fires (true) once the runner has said hello: a session whose agent it may hold
    /// waits for it after a restart.
    pub fn hello(&self) -> watch::Receiver<bool> {
        self.hello.clone()
    }

    /// True while another machine's runner has been out of contact too long.
    pub fn unreachable(&self) -> bool {
        lock(&self.shared).unreachable
    }

    /// Drops the connection (a revoked machine's) and its sessions' agents.
    pub fn cut(&self) {
        let _ = self.requests.send(Request::Cut);
    }

    /// What went wrong last, if the link is down.
    pub fn problem(&self) -> Option<String> {
        lock(&self.shared).problem.clone()
    }

    /// Takes the agent the runner held for `session` when the server connected, if any.
    /// More than one (an agent being replaced when the server died): the newest is kept,
    /// the others released.
    pub fn claim(&self, session: SessionId, stored_key: Option<AgentKey>) -> Option<HostedAgent> {
        let mut agents = lock(&self.shared).held.remove(&session)?;
        let chosen = agents
            .iter()
            .position(|agent| Some(agent.agent) == stored_key)
            .unwrap_or(agents.len() - 1);
        let agent = agents.remove(chosen);
        for other in agents {
            self.release(other.agent);
        }
        Some(agent)
    }

    /// Releases every held agent no session claimed (their sessions ended meanwhile).
    pub fn release_unclaimed(&self) {
        let held = std::mem::take(&mut lock(&self.shared).held);
        for agent in held.into_values().flatten() {
            tracing::info!(agent = %agent.agent, session = %agent.session, "releasing an agent no session claimed");
            self.release(agent.agent);
        }
    }

    /// Stops an agent of this runner and forgets it.
    pub fn release(&self, key: AgentKey) {
        let _ = self.requests.send(Request::Release { key });
    }

    /// Starts an agent in the runner; its outputs come on the returned channel.
    pub fn launch(self: &Arc<Self>, start: ResolvedStart) -> crate::server::agent::Launched {
        let key = uuid::Uuid::new_v4();
        let (route, outputs) = self.new_route();
        let driver = RemoteDriver::new(self, key, Arc::clone(&route.pid));
        let _ = self.requests.send(Request::Launch {
            key,
            start: Box::new(start),
            route,
        });
        (Box::new(driver), outputs)
    }

    /// Takes over an agent the runner holds: outputs after `after` come on the channel.
    pub fn attach(
        self: &Arc<Self>,
        agent: &HostedAgent,
        after: u64,
    ) -> crate::server::agent::Launched {
        let (route, outputs) = self.new_route();
        route.pid.store(agent.pid, Ordering::Relaxed);
        let driver = RemoteDriver::new(self, agent.agent, Arc::clone(&route.pid));
        let _ = self.requests.send(Request::Attach {
            key: agent.agent,
            after,
            commands_applied: agent.commands_applied,
            route,
        });
        (Box::new(driver), outputs)
    }

    fn new_route(&self) -> (NewRoute, mpsc::Receiver<Numbered>) {
        let (outputs, receiver) = mpsc::channel(ROUTE_QUEUE);
        let route = NewRoute {
            outputs,
            pid: Arc::new(AtomicI32::new(0)),
        };
        (route, receiver)
    }

    /// Tells the runner to drain: no new agents, idle ones stopped, exit when empty.
    pub fn drain(&self) {
        let _ = self.requests.send(Request::Raw(ToRunner::Drain));
    }

    /// The runner's own report, asked now; `None` while disconnected.
    pub async fn status(&self) -> Option<RunnerStatus> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(Request::Status(reply)).ok()?;
        tokio::time::timeout(Duration::from_secs(2), answer)
            .await
            .ok()?
            .ok()
            .flatten()
    }
}
