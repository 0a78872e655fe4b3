//! The session registry and the domain services (create, send, cancel, answer, rename,
//! archive). One `SessionHandle` per live session; the WebSocket handler, server functions
//! and tests all go through these methods.

mod budgets;
mod cluster;
pub use cluster::LEASE_MS;
mod command;
pub use command::{ServiceError, SessionCommand};
mod code_ops;
mod compare;
mod create;
mod forward;
mod mirror;
mod placement;
mod sweep;
pub use cluster::{Node, NodeSettings};
pub use compare::AskSeveral;
mod imports;

use super::agent::AgentLauncher;
use super::agent_pool::AgentPool;
use super::catalog::AgentCatalog;
use super::config::Config;
use super::db::{Db, DbError};
use super::projects::{Places, Projects};
use super::session_stream::SessionStream;
use super::session_task::{SessionTask, TaskContext};
use crate::protocol::{
    Attachment, ClientLimits, ClientMsgId, NewSession, RequestId, Seq, ServerFrame, Session,
    SessionId,
};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

/// Session-list changes buffered per socket before it is sent a fresh list instead.
const LIST_BUFFER: usize = 1024;

/// One live session: its stream, and who drives it. The driving task owns everything else.
pub struct SessionHandle {
    /// The session's one ordered stream (events and patches) and its snapshot; sockets
    /// subscribe here, listings read the snapshot.
    stream: Arc<SessionStream>,
    /// This node's task, or the node whose task it is.
    driver: Driver,
}

/// Who drives a session.
enum Driver {
    /// This node: the session's task runs here.
    Local {
        /// Commands into the task; closed when the task ends.
        commands: mpsc::Sender<SessionCommand>,
        /// The task itself, awaited at shutdown.
        task: JoinHandle<()>,
    },
    /// Another node on the same database (its lease); here the log is mirrored into the
    /// stream and commands are forwarded.
    Remote(mirror::Mirror),
}

/// Where a command for a session goes.
enum Route {
    Local(mpsc::Sender<SessionCommand>),
    Remote(String),
}

/// Every live session, and the channel that tells sockets about list changes.
pub struct Registry {
    /// The one handle per live session.
    sessions: Mutex<HashMap<SessionId, SessionHandle>>,
    /// What every session task shares: storage, settings, agents, the list channel.
    context: TaskContext,
    /// The import job.
    importer: Arc<super::import::Importer>,
    /// This server's part among several nodes on one PostgreSQL database, if it is one.
    node: Option<Arc<Node>>,
}

impl Registry {
    /// Loads every stored, unarchived session and starts its task; agents are the
    /// configured programs.
    pub async fn load(db: Db, config: Arc<Config>) -> Result<Arc<Registry>, DbError> {
        let catalog = Arc::new(AgentCatalog::load(&config));
        let launcher: Arc<dyn AgentLauncher> = catalog.clone();
        Self::load_with(db, config, catalog, launcher).await
    }

    /// Like [`Registry::load`], with agents started by `launcher` (a scripted one in the
    /// session core's tests).
    pub async fn load_with(
        db: Db,
        config: Arc<Config>,
        catalog: Arc<AgentCatalog>,
        launcher: Arc<dyn AgentLauncher>,
    ) -> Result<Arc<Registry>, DbError> {
        Self::load_full(db, config, catalog, launcher, None, None).await
    }

    /// Like [`Registry::load`], with agents in `runners`: sessions whose agent a runner
    /// still holds take it over, turns and permission questions included.
    pub async fn load_detached(
        db: Db,
        config: Arc<Config>,
        catalog: Arc<AgentCatalog>,
        runners: Arc<crate::server::runner::Runners>,
        node: Option<NodeSettings>,
    ) -> Result<Arc<Registry>, DbError> {
        let launcher: Arc<dyn AgentLauncher> = runners.clone();
        Self::load_full(db, config, catalog, launcher, Some(runners), node).await
    }

    /// Like [`Registry::load`], as node `node` among others on one PostgreSQL database
    /// (agents in the server's process).
    pub async fn load_node(
        db: Db,
        config: Arc<Config>,
        node: Option<NodeSettings>,
    ) -> Result<Arc<Registry>, DbError> {
        let catalog = Arc::new(AgentCatalog::load(&config));
        let launcher: Arc<dyn AgentLauncher> = catalog.clone();
        Self::load_full(db, config, catalog, launcher, None, node).await
    }

    async fn load_full(
        db: Db,
        config: Arc<Config>,
        catalog: Arc<AgentCatalog>,
        launcher: Arc<dyn AgentLauncher>,
        runners: Option<Arc<crate::server::runner::Runners>>,
        node: Option<NodeSettings>,
    ) -> Result<Arc<Registry>, DbError> {
        // Listening before anything is read: nothing stored after the read goes unseen.
        let node = match node {
            Some(settings) => Some(Arc::new(Node::join(settings).await?)),
            None => None,
        };
        let (list, _) = broadcast::channel(LIST_BUFFER);
        let projects = Projects::load(db.clone(), places(&config))
            .await
            .map_err(|e| DbError::Corrupt(format!("projects: {e}")))?;
        let importer = Arc::new(super::import::Importer::new(
            super::import::Stores::from_config(&config),
            list.clone(),
        ));
        let spending = Arc::new(super::spending::Spending::load(db.clone(), config.budgets).await?);
        let registry = Arc::new(Registry {
            importer,
            node,
            sessions: Mutex::new(HashMap::new()),
            context: TaskContext {
                projects: Arc::new(projects),
                db: db.clone(),
                pool: AgentPool::new(config.max_live_agents),
                config,
                catalog,
                launcher,
                list,
                runners: runners.clone(),
                spending,
            },
        });
        for session in db.live_sessions().await? {
            let id = session.id;
            if !registry.lease(id).await? {
                // Another node drives it; its holder is found by the first sweep.
                let mirror = registry.mirror(session, String::new());
                registry.lock().insert(id, mirror);
                continue;
            }
            let (handle, recovered) = registry.spawn_task(session, true);
            // Listed only once recovered, so no client sees a dead turn as "working".
            let _ = recovered.await;
            registry.lock().insert(id, handle);
        }
        if registry.node.is_some() {
            // This node's Playground may be new to the others.
            registry.projects_changed().await;
        }
        if let Some(runners) = &runners {
            // Agents of sessions that ended meanwhile.
            runners.release_unclaimed();
        }
        Ok(registry)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, SessionHandle>> {
        // Critical sections are a map lookup; a poisoned lock still holds a valid map.
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn spawn_task(&self, session: Session, stored: bool) -> (SessionHandle, oneshot::Receiver<()>) {
        let stream = SessionStream::new(session.clone());
        self.spawn_task_on(session, stored, stream)
    }

    /// A task for `session` publishing on `stream` (a mirror's, when this node takes the
    /// session over: its subscribers stay subscribed).
    fn spawn_task_on(
        &self,
        session: Session,
        stored: bool,
        stream: Arc<SessionStream>,
    ) -> (SessionHandle, oneshot::Receiver<()>) {
        let (commands, command_rx) = mpsc::channel(64);
        let task = SessionTask::new(session, stored, &self.context, Arc::clone(&stream));
        let (recovered_tx, recovered) = oneshot::channel();
        let handle = SessionHandle {
            stream,
            driver: Driver::Local {
                commands,
                task: tokio::spawn(task.run(command_rx, recovered_tx)),
            },
        };
        (handle, recovered)
    }

    /// The database, for log replay.
    pub fn db(&self) -> &Db {
        &self.context.db
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.context.config
    }

    /// The projects.
    pub fn projects(&self) -> &Arc<Projects> {
        &self.context.projects
    }

    /// What a client may send, as configured.
    pub fn client_limits(&self) -> ClientLimits {
        let config = &self.context.config;
        ClientLimits {
            max_frame_bytes: config.max_frame_bytes,
            max_message_bytes: config.max_message_bytes,
            max_attachments: config.max_attachments,
            max_attachment_bytes: config.max_attachment_bytes,
        }
    }

    /// The agents this server can run, in picker order.
    pub fn agents(&self) -> Vec<crate::protocol::AgentInfo> {
        self.context.catalog.infos()
    }

    /// The Doctor's report: every agent with its version, asked now.
    pub async fn doctor(&self) -> Vec<crate::protocol::AgentInfo> {
        self.context.catalog.doctor().await
    }

    /// Looks for the agents' programs again (one was installed since the start) and gives
    /// the Doctor's report. New sessions use what it found; sockets connecting from now on
    /// get the new list.
    pub async fn rescan_agents(&self) -> Vec<crate::protocol::AgentInfo> {
        self.context.catalog.rescan();
        self.context.catalog.doctor().await
    }

    /// Where agents run, and how that runner is doing.
    pub async fn runner_health(&self) -> crate::protocol::RunnerHealth {
        match &self.context.runners {
            Some(runners) => runners.health().await,
            None => crate::server::runner::embedded_health(),
        }
    }

    /// Every session that is not archived, newest activity first.
    pub fn sessions(&self) -> Vec<Session> {
        let mut sessions: Vec<Session> = self
            .lock()
            .values()
            .map(|handle| handle.stream.snapshot())
            .filter(|session| session.last_seq > Seq(0))
            .collect();
        sessions.sort_by_key(|s| std::cmp::Reverse(s.last_activity_ms));
        sessions
    }

    /// Session list changes (created, updated, removed), for one socket.
    pub fn list_updates(&self) -> broadcast::Receiver<ServerFrame> {
        self.context.list.subscribe()
    }

    /// The session's ordered stream, to subscribe to.
    pub fn stream(&self, id: SessionId) -> Result<Arc<SessionStream>, ServiceError> {
        self.lock()
            .get(&id)
            .map(|handle| Arc::clone(&handle.stream))
            .ok_or(ServiceError::UnknownSession(id))
    }

    /// `Ok` when a live session has this id, else `UnknownSession`.
    pub fn check_known(&self, id: SessionId) -> Result<(), ServiceError> {
        self.route(id).map(drop)
    }

    fn route(&self, id: SessionId) -> Result<Route, ServiceError> {
        match self.lock().get(&id).map(|handle| &handle.driver) {
            Some(Driver::Local { commands, .. }) => Ok(Route::Local(commands.clone())),
            Some(Driver::Remote(mirror)) => Ok(Route::Remote(mirror.node.clone())),
            None => Err(ServiceError::UnknownSession(id)),
        }
    }

    /// Gives `command` to the session's task, here or on the node that drives it.
    async fn command(&self, id: SessionId, command: SessionCommand) -> Result<(), ServiceError> {
        match self.route(id)? {
            Route::Local(commands) => commands
                .send(command)
                .await
                .map_err(|_| ServiceError::UnknownSession(id)),
            Route::Remote(node) => self.forward(id, node, command).await,
        }
    }

    /// Sends a user message; with `create`, makes the session first (the draft's first
    /// message). The session is stored together with that message, never empty.
    pub async fn send(
        &self,
        id: SessionId,
        client_msg_id: ClientMsgId,
        text: String,
        attachments: Vec<Attachment>,
        create: Option<NewSession>,
    ) -> Result<(), ServiceError> {
        if text.trim().is_empty() && attachments.is_empty() {
            return Err(ServiceError::Invalid("the message is empty".into()));
        }
        let config = &self.context.config;
        if text.len() > config.max_message_bytes {
            return Err(ServiceError::TooLarge(format!(
                "the message is {} bytes; the limit is {}",
                text.len(),
                config.max_message_bytes
            )));
        }
        check_attachments(&attachments, config)?;
        if let Some(new) = &create {
            // With several nodes, a session on another machine is made where its runner is.
            if let Some(target) = self.machine_node_elsewhere(new.project).await? {
                let (reply, answer) = oneshot::channel();
                let forwarded = forward::Forwarded::Create {
                    new: Box::new(new.clone()),
                    client_msg_id,
                    text,
                    attachments,
                };
                self.forward_as_json(id, target, forwarded, forward::ReplyTo::Result(reply))
                    .await?;
                return answer.await.map_err(|_| ServiceError::UnknownSession(id))?;
            }
        }
        self.send_here(id, client_msg_id, text, attachments, create)
            .await
    }

    /// Like [`Registry::send`], always on this node (a forwarded creation lands here).
    pub(super) async fn send_here(
        &self,
        id: SessionId,
        client_msg_id: ClientMsgId,
        text: String,
        attachments: Vec<Attachment>,
        create: Option<NewSession>,
    ) -> Result<(), ServiceError> {
        if let Some(new) = create {
            self.create(id, new, &text).await?;
        }
        let (reply, answer) = oneshot::channel();
        self.command(
            id,
            SessionCommand::Send {
                client_msg_id,
                text,
                attachments,
                reply,
            },
        )
        .await?;
        answer.await.map_err(|_| ServiceError::UnknownSession(id))?
    }

    /// Stops the running turn (protocol cancel, then signals).
    pub async fn cancel(&self, id: SessionId) -> Result<(), ServiceError> {
        self.command(id, SessionCommand::Cancel).await
    }

    /// Answers a permission request.
    pub async fn answer_permission(
        &self,
        id: SessionId,
        request_id: RequestId,
        option_id: String,
    ) -> Result<(), ServiceError> {
        let (reply, answer) = oneshot::channel();
        self.command(
            id,
            SessionCommand::AnswerPermission {
                request_id,
                option_id,
                reply,
            },
        )
        .await?;
        answer.await.map_err(|_| ServiceError::UnknownSession(id))?
    }

    /// Changes a session's permission mode, also during a turn.
    pub async fn set_permission_mode(
        &self,
        id: SessionId,
        mode: String,
    ) -> Result<(), ServiceError> {
        let (reply, answer) = oneshot::channel();
        self.command(id, SessionCommand::SetPermissionMode { mode, reply })
            .await?;
        answer.await.map_err(|_| ServiceError::UnknownSession(id))?
    }

    /// Sends the last message again after the agent failed it.
    pub async fn retry(&self, id: SessionId) -> Result<(), ServiceError> {
        let (reply, answer) = oneshot::channel();
        self.command(id, SessionCommand::Retry { reply }).await?;
        answer.await.map_err(|_| ServiceError::UnknownSession(id))?
    }

    /// Agent processes alive now (for the benchmarks and the limits test).
    pub fn live_agents(&self) -> usize {
        self.context.pool.live()
    }

    /// One more (`delta` 1) or one fewer (-1) browser tab shows `id`. False when there is
    /// no such session (a draft not yet created): then nothing was counted.
    pub async fn count_viewer(&self, id: SessionId, delta: i32) -> bool {
        self.command(id, SessionCommand::Viewers { delta })
            .await
            .is_ok()
    }

    /// Renames a session.
    /// Renames a session; returns once the new title is published, so an answer read after
    /// it (the API's) shows it. An empty title is refused.
    pub async fn rename(&self, id: SessionId, title: String) -> Result<(), ServiceError> {
        let (reply, answer) = oneshot::channel();
        self.command(id, SessionCommand::Rename { title, reply })
            .await?;
        answer.await.map_err(|_| ServiceError::UnknownSession(id))?
    }

    /// Kills a session's agent's process group and archives it (see `end_session`, which
    /// also deals with a worktree).
    async fn archive(&self, id: SessionId) -> Result<(), ServiceError> {
        let (reply, answer) = oneshot::channel();
        self.command(id, SessionCommand::Archive { reply }).await?;
        let _ = answer.await;
        let handle = self.lock().remove(&id);
        match handle.map(|handle| handle.driver) {
            Some(Driver::Local { task, .. }) => {
                let _ = task.await;
                if let Some(node) = &self.node {
                    if let Err(e) = self.context.db.release_leases(&node.id, Some(id)).await {
                        tracing::warn!(session = %id, "cannot give back an ended session's lease: {e}");
                    }
                }
            }
            Some(Driver::Remote(mirror)) => {
                // The ending patch reaches this node's subscribers before the list says so.
                mirror.stop().await;
                let _ = self
                    .context
                    .list
                    .send(ServerFrame::SessionRemoved { session: id });
            }
            None => {}
        }
        Ok(())
    }

    /// Stops every session task (and so every agent) and waits for them; as one of several
    /// nodes, gives back its leases so another node takes its sessions over at once.
    pub async fn shutdown(&self) {
        let _no_sweep = self.stop_sweeping().await;
        let drivers: Vec<Driver> = self
            .lock()
            .drain()
            .map(|(_, handle)| handle.driver)
            .collect();
        let mut tasks = Vec::new();
        for driver in drivers {
            if let Driver::Local { commands, task } = driver {
                let _ = commands.send(SessionCommand::Shutdown).await;
                tasks.push(task);
            }
        }
        for task in tasks {
            let _ = task.await;
        }
        self.leave().await;
    }
}

/// Images only, within the count and size limits.
fn check_attachments(
    attachments: &[Attachment],
    config: &crate::server::config::Config,
) -> Result<(), ServiceError> {
    if attachments.len() > config.max_attachments {
        return Err(ServiceError::LimitReached(format!(
            "{} attachments; the limit is {}",
            attachments.len(),
            config.max_attachments
        )));
    }
    for attachment in attachments {
        const IMAGES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];
        if !IMAGES.contains(&attachment.mime_type.as_str()) {
            return Err(ServiceError::Invalid(format!(
                "{}: {} is not an accepted type (PNG, JPEG, GIF, WebP)",
                attachment.name, attachment.mime_type
            )));
        }
        let decoded = attachment.data_base64.len() / 4 * 3;
        if decoded > config.max_attachment_bytes {
            return Err(ServiceError::TooLarge(format!(
                "{} is about {} KiB; the limit is {} KiB",
                attachment.name,
                decoded / 1024,
                config.max_attachment_bytes / 1024
            )));
        }
    }
    Ok(())
}

/// The folders agents may run in, from the configuration (resolved: symlinks and `..`).
fn places(config: &Config) -> Places {
    let canonical = |path: &Path| path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    Places {
        data_dir: canonical(&config.data_dir),
        config_file: config.config_file.as_deref().map(canonical),
        roots: config
            .roots
            .iter()
            .filter_map(|root| root.canonicalize().ok())
            .collect(),
    }
}
