//! The link's task: the one owner of a runner connection and of every route. It connects
//! (starting a runner when none answers), or, for another machine's runner, waits for it
//! to dial in; brings each route up to date after a reconnect (launches and commands sent
//! again, agents attached after what is stored), then relays requests to the runner and
//! outputs to sessions until the connection drops.

use super::link::{RunnerStatus, Spawn};
use super::wire::{AgentKey, FromRunner, HostedAgent, Role, RunnerCommand, RunnerInfo, ToRunner};
use crate::protocol::SessionId;
use crate::server::agent::{AgentOutput, Numbered, ResolvedStart};
use futures::SinkExt;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;

/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Locks a link's shared state; a poisoned lock still holds valid fields.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A request to the link task.
pub(super) enum Request {
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
    /// Drops the connection and every agent (a revoked machine): a runner that dials in
    /// again is refused.
    Cut,
}

/// Where a new route's outputs go.
pub(super) struct NewRoute {
    pub(super) outputs: mpsc::Sender<Numbered>,
    pub(super) pid: Arc<AtomicI32>,
}

/// One agent as the link routes it.
pub(super) struct Route {
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
pub(super) struct Shared {
    /// The runner as its last hello described it.
    pub(super) runner: Option<RunnerInfo>,
    pub(super) connected: bool,
    /// Agents the runner held when the server first connected, by session, until a
    /// session claims its agent (a restarted server adopting them).
    pub(super) held: HashMap<SessionId, Vec<HostedAgent>>,
    pub(super) problem: Option<String>,
    /// Set for a runner being drained: when its connection drops the link ends (its socket
    /// path may be a new runner's by then), and its agents are lost.
    pub(super) once: bool,
    /// Set when the runner says it drains.
    pub(super) runner_draining: bool,
    /// True while another machine's runner has been out of contact too long.
    pub(super) unreachable: bool,
}

/// A byte stream a runner connection runs over: this host's unix socket, or another
/// machine's upgraded HTTP connection (plain or TLS).
pub trait RunnerIo: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> RunnerIo for T {}

/// A connection as the link receives it.
pub type RunnerStream = Box<dyn RunnerIo>;

type Socket = tokio_tungstenite::WebSocketStream<RunnerStream>;

mod remote;
use remote::next_stream;
pub(super) use remote::Remote;

/// The link's task state.
pub(super) struct LinkTask {
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
    /// Set for another machine's runner: connections come from it, not from `socket`.
    remote: Option<Remote>,
    /// A connection that arrived from the remote runner, to be opened next. (In a mutex
    /// only to make the task's state `Sync`: an upgraded HTTP connection is not.)
    arrived: Mutex<Option<RunnerStream>>,
    /// Since when the runner is out of contact.
    down_since: tokio::time::Instant,
}

impl LinkTask {
    /// The task of a link to the runner on `socket`.
    pub(super) fn new(
        socket: PathBuf,
        spawn: Option<Spawn>,
        protocol: u32,
        shared: Arc<Mutex<Shared>>,
        hello: watch::Sender<bool>,
        remote: Option<Remote>,
    ) -> LinkTask {
        LinkTask {
            socket,
            spawn,
            protocol,
            shared,
            routes: HashMap::new(),
            instance: None,
            hello,
            status: None,
            remote,
            arrived: Mutex::new(None),
            down_since: tokio::time::Instant::now(),
        }
    }

    pub(super) async fn run(mut self, mut requests: mpsc::UnboundedReceiver<Request>) {
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
                        let unreachable_at = self
                            .remote
                            .as_ref()
                            .filter(|_| !lock(&self.shared).unreachable)
                            .map(|remote| self.down_since + remote.unreachable_after);
                        tokio::select! {
                            () = &mut deadline => break,
                            request = requests.recv() => match request {
                                Some(request) => {
                                    self.on_request(request, None).await;
                                }
                                None => return,
                            },
                            stream = next_stream(&mut self.remote) => {
                                *lock(&self.arrived) = Some(stream);
                                break;
                            }
                            () = crate::server::session_task::sleep_until(unreachable_at) => {
                                self.set_unreachable(true).await;
                            }
                        }
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            backoff = Duration::from_millis(20);
            self.set_unreachable(false).await;
            if self.connected(ws, &mut requests).await.is_break() {
                return;
            }
            self.down_since = tokio::time::Instant::now();
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

    /// Connects (starting a runner when none answers and we may), or takes the connection
    /// another machine's runner made, and says hello.
    async fn open(&mut self) -> Result<(Socket, Vec<HostedAgent>), String> {
        let arrived = lock(&self.arrived).take();
        let stream: RunnerStream = match (&self.remote, arrived) {
            (Some(_), Some(stream)) => stream,
            (Some(remote), None) => {
                return Err(format!("the runner of {} is not connected", remote.machine))
            }
            (None, _) => Box::new(self.dial().await?),
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

    /// Connects to this host's runner on its socket, starting one when none answers and
    /// this link may.
    async fn dial(&self) -> Result<UnixStream, String> {
        match UnixStream::connect(&self.socket).await {
            Ok(stream) => Ok(stream),
            Err(e) => {
                let Some(spawn) = &self.spawn else {
                    return Err(format!("cannot connect: {e}"));
                };
                spawn()?;
                let mut tries = 0;
                loop {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    match UnixStream::connect(&self.socket).await {
                        Ok(stream) => break Ok(stream),
                        Err(e) if tries > 200 => {
                            break Err(format!("the runner started but does not answer: {e}"))
                        }
                        Err(_) => tries += 1,
                    }
                }
            }
        }
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
                // The remote runner dialled again (it lost this connection first): the
                // newer connection is the live one.
                stream = next_stream(&mut self.remote) => {
                    tracing::info!("the runner connected again; leaving the older connection");
                    *lock(&self.arrived) = Some(stream);
                    return std::ops::ControlFlow::Continue(());
                }
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
                self.tell_if_unreachable(&route);
                self.routes.insert(key, Route::new(route, Some(start)));
                frame
            }
            Request::Attach {
                key,
                after,
                commands_applied,
                route,
            } => {
                self.tell_if_unreachable(&route);
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
            Request::Cut => {
                lock(&self.arrived).take();
                let keys: Vec<AgentKey> = self.routes.keys().copied().collect();
                for key in keys {
                    self.lose(key, "its machine was revoked").await;
                }
                return ws.is_none();
            }
        };
        match ws {
            Some(ws) => send(ws, &frame).await.is_ok(),
            None => true,
        }
    }

    async fn on_frame(&mut self, frame: FromRunner, ws: &mut Socket) {
        match frame {
            FromRunner::Output {
                agent,
                seq,
                output,
                applied,
            } => {
                let Some(route) = self.routes.get_mut(&agent) else {
                    return;
                };
                // Applied commands need no resend: the list stays as short as what is in
                // flight, however long the session.
                while route.commands.front().is_some_and(|(n, _)| *n <= applied) {
                    route.commands.pop_front();
                }
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
            FromRunner::Draining => {
                tracing::info!("the runner drains; new agents go to a new one");
                let mut shared = lock(&self.shared);
                shared.runner_draining = true;
                // Its socket is a new runner's now: this link ends with this connection.
                shared.once = true;
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
