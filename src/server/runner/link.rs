//! The server's side of the runner protocol. One [`RunnerLink`] task per runner socket owns
//! the connection and every route (agent key to session channel); drivers and the launcher
//! only send it requests. It reconnects when the connection drops, resends launches and
//! commands the runner may not have seen, attaches each agent after the last output the
//! session stored, and drops outputs it already forwarded: so each output reaches its
//! session exactly once, in order, whatever happens to the socket.

use super::wire::{AgentKey, FromRunner, HostedAgent, Role, RunnerCommand, RunnerInfo, ToRunner};
use crate::protocol::{AgentPlacement, RunnerPlace, SessionId};
use crate::server::agent::process::OwnedTask;
use crate::server::agent::{AgentDriver, AgentError, AgentOutput, DriverCommand, Numbered};
use crate::server::agent::{ResolvedStart, TurnInput};
use futures::SinkExt;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;

/// A runner's own report: who it is and the agents it holds.
pub type RunnerStatus = (RunnerInfo, Vec<HostedAgent>);

/// Outputs that may wait for one session task before the link waits for it.
const ROUTE_QUEUE: usize = 256;
/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// What the link asks of whoever starts a runner when none answers.
pub type Spawn = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// A request to the link task.
enum Request {
    Launch {
        key: AgentKey,
        start: Box<ResolvedStart>,
        route: NewRoute,
    },
    Attach {
        key: AgentKey,
        after: u64,
        commands_applied: u64,
        route: NewRoute,
    },
    Command {
        key: AgentKey,
        command: RunnerCommand,
    },
    Ack {
        key: AgentKey,
        through: u64,
    },
    Release {
        key: AgentKey,
    },
    Raw(ToRunner),
    Status(oneshot::Sender<Option<RunnerStatus>>),
}

/// Where a new route's outputs go.
struct NewRoute {
    outputs: mpsc::Sender<Numbered>,
    pid: Arc<AtomicI32>,
}

/// One agent as the link routes it.
struct Route {
    outputs: mpsc::Sender<Numbered>,
    pid: Arc<AtomicI32>,
    /// The highest output number put on `outputs`: anything at or below it is a resend.
    forwarded: u64,
    /// The highest the session has stored.
    stored: u64,
    /// The launch, until the runner says it started.
    launch: Option<Box<ResolvedStart>>,
    /// Commands the runner may not have applied yet, with their numbers.
    commands: VecDeque<(u64, RunnerCommand)>,
    /// The last command number given.
    last_command: u64,
}

/// What everyone may read about the link.
#[derive(Default)]
struct Shared {
    /// The runner as its last hello described it.
    runner: Option<RunnerInfo>,
    connected: bool,
    /// Agents the runner held when the server first connected, by session, until a
    /// session claims its agent (a restarted server adopting them).
    held: HashMap<SessionId, Vec<HostedAgent>>,
    problem: Option<String>,
    /// Set for a runner being drained: when its connection drops the link ends (its socket
    /// path may be a new runner's by then), and its agents are lost.
    once: bool,
}

/// The server's link to one runner.
pub struct RunnerLink {
    requests: mpsc::UnboundedSender<Request>,
    shared: Arc<Mutex<Shared>>,
    /// The link task; aborted with the link.
    _task: OwnedTask<()>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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
        let (requests, request_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (hello_tx, mut hello) = watch::channel(false);
        let task = LinkTask {
            socket: socket.clone(),
            spawn,
            protocol,
            shared: Arc::clone(&shared),
            routes: HashMap::new(),
            instance: None,
            hello: hello_tx,
            status: None,
        };
        let link = Arc::new(RunnerLink {
            requests,
            shared: Arc::clone(&shared),
            _task: OwnedTask::spawn(task.run(request_rx)),
        });
        let ready = tokio::time::timeout(wait, hello.wait_for(|said| *said)).await;
        if !matches!(ready, Ok(Ok(_))) {
            let problem = lock(&shared).problem.clone().unwrap_or_default();
            return Err(format!(
                "no runner answered on {} within {} s: {problem}",
                socket.display(),
                wait.as_secs()
            ));
        }
        Ok(link)
    }

    /// The runner's protocol version, from its hello.
    pub fn protocol(&self) -> Option<u32> {
        lock(&self.shared).runner.as_ref().map(|info| info.protocol)
    }

    /// Where agents of this runner run.
    pub fn place(&self) -> Option<RunnerPlace> {
        lock(&self.shared).runner.as_ref().map(|info| RunnerPlace {
            pid: info.pid,
            version: info.version.clone(),
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
    fn new(link: &RunnerLink, key: AgentKey, pid: Arc<AtomicI32>) -> RemoteDriver {
        RemoteDriver {
            key,
            requests: link.requests.clone(),
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

type Socket = tokio_tungstenite::WebSocketStream<UnixStream>;

/// The link's task state.
struct LinkTask {
    socket: PathBuf,
    spawn: Option<Spawn>,
    protocol: u32,
    shared: Arc<Mutex<Shared>>,
    routes: HashMap<AgentKey, Route>,
    /// The runner instance last connected to: a different one holds none of our agents.
    instance: Option<uuid::Uuid>,
    hello: watch::Sender<bool>,
    /// Who waits for the answer to a `Status`.
    status: Option<oneshot::Sender<Option<RunnerStatus>>>,
}

impl LinkTask {
    async fn run(mut self, mut requests: mpsc::UnboundedReceiver<Request>) {
        let mut backoff = Duration::from_millis(20);
        loop {
            let ws = match self.open().await {
                Ok(ws) => ws,
                Err(problem) => {
                    {
                        let mut shared = lock(&self.shared);
                        shared.connected = false;
                        shared.problem = Some(problem);
                    }
                    // Requests still count while disconnected: they are sent on reconnect.
                    let deadline = tokio::time::sleep(backoff);
                    tokio::pin!(deadline);
                    loop {
                        tokio::select! {
                            () = &mut deadline => break,
                            request = requests.recv() => match request {
                                Some(request) => {
                                    self.on_request(request, None).await;
                                }
                                None => return,
                            },
                        }
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            backoff = Duration::from_millis(20);
            if self.connected(ws, &mut requests).await.is_break() {
                return;
            }
            let once = {
                let mut shared = lock(&self.shared);
                shared.connected = false;
                shared.once
            };
            if once {
                let keys: Vec<AgentKey> = self.routes.keys().copied().collect();
                for key in keys {
                    self.lose(key, "the connection to the draining runner dropped")
                        .await;
                }
                return;
            }
        }
    }

    /// Connects (starting a runner when none answers and we may) and says hello.
    async fn open(&mut self) -> Result<(Socket, Vec<HostedAgent>), String> {
        let stream = match UnixStream::connect(&self.socket).await {
            Ok(stream) => stream,
            Err(e) => {
                let Some(spawn) = &self.spawn else {
                    return Err(format!("cannot connect: {e}"));
                };
                spawn()?;
                let mut tries = 0;
                loop {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    match UnixStream::connect(&self.socket).await {
                        Ok(stream) => break stream,
                        Err(e) if tries > 200 => {
                            return Err(format!("the runner started but does not answer: {e}"))
                        }
                        Err(_) => tries += 1,
                    }
                }
            }
        };
        let (mut ws, _) = tokio_tungstenite::client_async("ws://runner/", stream)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let hello = ToRunner::Hello {
            version: self.protocol,
            role: Role::Server,
        };
        send(&mut ws, &hello).await?;
        let Some(FromRunner::Hello { info, agents, .. }) = read(&mut ws).await else {
            return Err("the runner did not say hello".into());
        };
        tracing::info!(
            pid = info.pid,
            protocol = info.protocol,
            agents = agents.len(),
            "connected to the runner"
        );
        let first = self.instance.is_none();
        let same = self.instance == Some(info.instance);
        if !first && !same {
            tracing::warn!("the runner was replaced; its agents are gone");
        }
        self.instance = Some(info.instance);
        let mut shared = lock(&self.shared);
        if first {
            for agent in &agents {
                shared
                    .held
                    .entry(agent.session)
                    .or_default()
                    .push(agent.clone());
            }
        }
        shared.runner = Some(info);
        shared.connected = true;
        shared.problem = None;
        Ok((ws, agents))
    }

    /// Runs one connection: first the routes are brought up to date, then requests and
    /// frames until it drops. `Break` when the link itself is dropped.
    async fn connected(
        &mut self,
        (mut ws, agents): (Socket, Vec<HostedAgent>),
        requests: &mut mpsc::UnboundedReceiver<Request>,
    ) -> std::ops::ControlFlow<()> {
        let held: std::collections::HashSet<AgentKey> = agents.iter().map(|a| a.agent).collect();
        let mut lost = Vec::new();
        let mut frames = Vec::new();
        for (key, route) in &self.routes {
            match &route.launch {
                Some(start) if !held.contains(key) => {
                    // The launch never arrived: send it again, and every command after it
                    // (a new agent has applied none).
                    frames.push(ToRunner::Launch {
                        agent: *key,
                        start: (**start).clone(),
                    });
                    frames.extend(route.commands.iter().map(|(n, command)| ToRunner::Command {
                        agent: *key,
                        n: *n,
                        command: command.clone(),
                    }));
                }
                // `Attached` says which commands to send again.
                _ if held.contains(key) => frames.push(ToRunner::Attach {
                    agent: *key,
                    after: route.stored,
                }),
                _ => lost.push(*key),
            }
        }
        for frame in &frames {
            if send(&mut ws, frame).await.is_err() {
                return std::ops::ControlFlow::Continue(());
            }
        }
        for key in lost {
            self.lose(key, "the runner stopped, and the agent process with it")
                .await;
        }
        let _ = self.hello.send(true);
        loop {
            tokio::select! {
                request = requests.recv() => match request {
                    Some(request) => {
                        if !self.on_request(request, Some(&mut ws)).await {
                            return std::ops::ControlFlow::Continue(());
                        }
                    }
                    None => return std::ops::ControlFlow::Break(()),
                },
                frame = read(&mut ws) => match frame {
                    Some(frame) => self.on_frame(frame, &mut ws).await,
                    None => {
                        tracing::warn!("the runner connection dropped; reconnecting");
                        return std::ops::ControlFlow::Continue(());
                    }
                },
            }
        }
    }

    /// Records a request and, when connected, sends it. False when the send failed.
    async fn on_request(&mut self, request: Request, ws: Option<&mut Socket>) -> bool {
        let frame = match request {
            Request::Launch { key, start, route } => {
                let frame = ToRunner::Launch {
                    agent: key,
                    start: (*start).clone(),
                };
                self.routes.insert(key, Route::new(route, Some(start)));
                frame
            }
            Request::Attach {
                key,
                after,
                commands_applied,
                route,
            } => {
                let mut route = Route::new(route, None);
                route.forwarded = after;
                route.stored = after;
                // The runner applies each number once: go on from the last it applied.
                route.last_command = commands_applied;
                self.routes.insert(key, route);
                ToRunner::Attach { agent: key, after }
            }
            Request::Command { key, command } => {
                let Some(route) = self.routes.get_mut(&key) else {
                    return true;
                };
                route.last_command += 1;
                let n = route.last_command;
                route.commands.push_back((n, command.clone()));
                ToRunner::Command {
                    agent: key,
                    n,
                    command,
                }
            }
            Request::Ack { key, through } => {
                let Some(route) = self.routes.get_mut(&key) else {
                    return true;
                };
                route.stored = route.stored.max(through);
                ToRunner::Ack {
                    agent: key,
                    through,
                }
            }
            Request::Release { key } => {
                self.routes.remove(&key);
                ToRunner::Release { agent: key }
            }
            Request::Raw(frame) => frame,
            Request::Status(reply) => {
                if ws.is_none() {
                    let _ = reply.send(None);
                    return true;
                }
                // One question at a time is plenty (the Doctor); a newer one replaces it.
                self.status = Some(reply);
                ToRunner::Status
            }
        };
        match ws {
            Some(ws) => send(ws, &frame).await.is_ok(),
            None => true,
        }
    }

    async fn on_frame(&mut self, frame: FromRunner, ws: &mut Socket) {
        match frame {
            FromRunner::Output { agent, seq, output } => {
                let Some(route) = self.routes.get_mut(&agent) else {
                    return;
                };
                if seq <= route.forwarded {
                    return; // resent after a reconnect: the session has it already
                }
                route.forwarded = seq;
                let outputs = route.outputs.clone();
                if outputs.send(Numbered { seq, output }).await.is_err() {
                    // The session dropped its agent; nobody will release it otherwise.
                    self.routes.remove(&agent);
                    let _ = send(ws, &ToRunner::Release { agent }).await;
                }
            }
            FromRunner::Launched { agent, pid } => {
                if let Some(route) = self.routes.get_mut(&agent) {
                    route.launch = None;
                    route.pid.store(pid, Ordering::Relaxed);
                }
            }
            FromRunner::LaunchFailed { agent, error } => {
                if let Some(route) = self.routes.remove(&agent) {
                    let _ = route
                        .outputs
                        .send(Numbered {
                            seq: 0,
                            output: AgentOutput::Failed(format!(
                                "The agent could not be started: {error}"
                            )),
                        })
                        .await;
                }
            }
            FromRunner::Attached {
                agent,
                commands_applied,
            } => {
                let Some(route) = self.routes.get_mut(&agent) else {
                    return;
                };
                route.launch = None;
                route.commands.retain(|(n, _)| *n > commands_applied);
                let resend: Vec<ToRunner> = route
                    .commands
                    .iter()
                    .map(|(n, command)| ToRunner::Command {
                        agent,
                        n: *n,
                        command: command.clone(),
                    })
                    .collect();
                for frame in resend {
                    let _ = send(ws, &frame).await;
                }
            }
            FromRunner::Unknown { agent } => {
                self.lose(agent, "the runner no longer holds the agent process")
                    .await;
            }
            FromRunner::Status { info, agents } => {
                if let Some(reply) = self.status.take() {
                    let _ = reply.send(Some((info, agents)));
                }
            }
            FromRunner::Hello { .. } => {}
        }
    }

    /// The agent is gone with its runner: its session hears so, once.
    async fn lose(&mut self, key: AgentKey, reason: &str) {
        if let Some(route) = self.routes.remove(&key) {
            let lost = Numbered {
                seq: 0,
                output: AgentOutput::Lost {
                    reason: reason.to_owned(),
                },
            };
            let _ = route.outputs.send(lost).await;
        }
    }
}

impl Route {
    fn new(route: NewRoute, launch: Option<Box<ResolvedStart>>) -> Route {
        Route {
            outputs: route.outputs,
            pid: route.pid,
            forwarded: 0,
            stored: 0,
            launch,
            commands: VecDeque::new(),
            last_command: 0,
        }
    }
}

async fn send(ws: &mut Socket, frame: &ToRunner) -> Result<(), String> {
    let text = serde_json::to_string(frame).map_err(|e| e.to_string())?;
    ws.send(Message::text(text))
        .await
        .map_err(|e| e.to_string())
}

/// The next frame from the runner; `None` when the connection ends.
async fn read(ws: &mut Socket) -> Option<FromRunner> {
    super::wire::read_frame(ws).await
}
