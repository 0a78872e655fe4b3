//! Several server nodes on one PostgreSQL database. Each session is driven by one node at a
//! time, the holder of its lease (`db::cluster`): there its task runs as on a single
//! server. Every other node mirrors it (`mirror`), so a browser on any node sees it live,
//! and forwards its commands to the holder through the database (`forward`). A node that
//! stops renewing (it died, or lost the database) loses its leases after `LEASE_MS`; the
//! first node to see that takes the sessions over, from the log. With SQLite there is one
//! server and none of this runs.

use super::forward::{self, Answer};
use super::mirror::{Mirror, Nudge};
use super::{Driver, Registry, ServiceError, SessionCommand, SessionHandle};
use crate::protocol::{ServerFrame, Session, SessionId};
use crate::server::db::cluster::{Note, CHANNEL};
use crate::server::db::DbError;
use crate::server::session_stream::SessionStream;
use crate::server::session_task::now_ms;
use sqlx::postgres::PgListener;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};

/// How long a lease lasts without renewal: how long a dead node's sessions wait before
/// another node takes them over.
pub const LEASE_MS: i64 = 10_000;

/// How often a node renews its leases, looks for expired ones and for sessions and
/// notifications it missed.
const SWEEP_EVERY: Duration = Duration::from_secs(2);

/// Logins and API tokens are read again every this many sweeps (30 s) even without a
/// notification.
const ACCESS_EVERY_SWEEPS: u64 = 15;

/// How long a forwarded command waits for the driving node's answer.
const ANSWER_WAIT: Duration = Duration::from_secs(20);

/// The file in the data dir that keeps a node's id across restarts, so a restarted node
/// gets its own leases back at once instead of waiting for them to expire.
const NODE_ID_FILE: &str = "node-id";

/// How this server joins the others on its database.
pub struct NodeSettings {
    /// This node's id (stable for its data dir).
    pub id: String,
    /// The database's URL, for the connection that listens for notifications. A secret.
    pub url: String,
}

impl NodeSettings {
    /// The node of `data_dir` (its id made on first start) on the database at `url`.
    pub fn for_data_dir(data_dir: &Path, url: String) -> std::io::Result<NodeSettings> {
        let path = data_dir.join(NODE_ID_FILE);
        let id = match std::fs::read_to_string(&path) {
            Ok(id) if !id.trim().is_empty() => id.trim().to_owned(),
            _ => {
                let id = uuid::Uuid::new_v4().to_string();
                std::fs::write(&path, &id)?;
                id
            }
        };
        Ok(NodeSettings { id, url })
    }
}

/// This node's part in the cluster, held by the registry.
pub struct Node {
    /// This node's id.
    pub id: String,
    /// Forwarded commands waiting for their answer, by command row.
    waiters: Mutex<HashMap<i64, oneshot::Sender<()>>>,
    /// Wakes the sweep early (a notification about a session this node does not know).
    sweep: Notify,
    /// Wakes the command runner (a command for this node).
    commands: Notify,
    /// The listening connection, until the node's tasks start.
    listener: Mutex<Option<PgListener>>,
    /// Fires when logins or API tokens may have changed on another node.
    access: tokio::sync::broadcast::Sender<()>,
    /// Held by a sweep pass while it runs; a stopping node takes it so no pass is under
    /// way, and none starts, while it gives its sessions back.
    pass: tokio::sync::Mutex<()>,
    /// Set when the server stops: from then on the sweep takes nothing over. (The sessions
    /// a stopping node has just given back would otherwise look like its own sessions "not
    /// driven here" and be started again, by a process about to exit.)
    stopping: std::sync::atomic::AtomicBool,
}

impl Node {
    /// Connects the listening side, so nothing stored from now on goes unnoticed.
    pub async fn join(settings: NodeSettings) -> Result<Node, DbError> {
        let mut listener = PgListener::connect(&settings.url).await?;
        listener.listen(CHANNEL).await?;
        tracing::info!(node = %settings.id, "joined the database's server nodes");
        Ok(Node {
            id: settings.id,
            waiters: Mutex::default(),
            sweep: Notify::new(),
            commands: Notify::new(),
            listener: Mutex::new(Some(listener)),
            access: tokio::sync::broadcast::channel(4).0,
            pass: tokio::sync::Mutex::new(()),
            stopping: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn waiters(&self) -> std::sync::MutexGuard<'_, HashMap<i64, oneshot::Sender<()>>> {
        self.waiters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Registry {
    pub(super) fn node(&self) -> Option<&Arc<Node>> {
        self.node.as_ref()
    }

    /// Fires when logins or API tokens changed on another node (or every half minute, in
    /// case a notification was missed): the server reads them again. `None` on one server.
    pub fn access_changes(&self) -> Option<tokio::sync::broadcast::Receiver<()>> {
        self.node().map(|node| node.access.subscribe())
    }

    /// Takes the lease on a session this node is about to drive: always granted without a
    /// cluster; with one, when no other node holds a live lease on it.
    pub(super) async fn lease(&self, id: SessionId) -> Result<bool, DbError> {
        let Some(node) = self.node() else {
            return Ok(true);
        };
        let now = now_ms();
        self.context
            .db
            .take_lease(id, &node.id, now, now + LEASE_MS)
            .await
    }

    /// A handle mirroring `session`, driven by `node`.
    pub(super) fn mirror(self: &Arc<Self>, session: Session, node: String) -> SessionHandle {
        self.mirror_on(SessionStream::new(session), node)
    }

    pub(super) fn mirror_on(
        self: &Arc<Self>,
        stream: Arc<SessionStream>,
        node: String,
    ) -> SessionHandle {
        let mirror = Mirror::start(node, Arc::clone(&stream), self);
        SessionHandle {
            stream,
            driver: Driver::Remote(mirror),
        }
    }

    /// Drops a mirrored session that ended on its node, and tells this node's sockets.
    pub(super) fn forget_mirror(&self, id: SessionId) {
        let removed = {
            let mut sessions = self.lock();
            match sessions.get(&id).map(|h| &h.driver) {
                Some(Driver::Remote(_)) => sessions.remove(&id),
                _ => None,
            }
        };
        if removed.is_some() {
            let _ = self
                .context
                .list
                .send(ServerFrame::SessionRemoved { session: id });
        }
    }

    /// Runs `command` on the node driving session `id` and hands its answer to the
    /// command's reply channel. Commands nobody waits on return once delivered.
    pub(super) async fn forward(
        &self,
        id: SessionId,
        target: String,
        command: SessionCommand,
    ) -> Result<(), ServiceError> {
        let Some((forwarded, reply)) = forward::split(command) else {
            return Ok(());
        };
        self.forward_as_json(id, target, forwarded, reply).await
    }

    /// Writes `forwarded` for node `target` and hands its answer to `reply`.
    pub(super) async fn forward_as_json(
        &self,
        id: SessionId,
        target: String,
        forwarded: forward::Forwarded,
        reply: forward::ReplyTo,
    ) -> Result<(), ServiceError> {
        let Some(node) = self.node() else {
            return Err(ServiceError::UnknownSession(id));
        };
        let body = serde_json::to_string(&forwarded)
            .map_err(|e| ServiceError::Storage(format!("cannot encode a command: {e}")))?;
        let db = &self.context.db;
        let row = db
            .send_command(&node.id, &target, id, body, now_ms())
            .await?;
        if let forward::ReplyTo::Nobody = reply {
            return Ok(());
        }
        let (woken, wake) = oneshot::channel();
        node.waiters().insert(row, woken);
        let answer = self.await_answer(row, wake).await;
        node.waiters().remove(&row);
        let result = match answer {
            Ok(Some(text)) => serde_json::from_str::<Answer>(&text)
                .map_err(|e| ServiceError::Storage(format!("unreadable answer: {e}")))
                .and_then(|answer| answer.result(id)),
            Ok(None) => Err(ServiceError::InvalidState(format!(
                "the server node driving this session did not answer within {} s; try again",
                ANSWER_WAIT.as_secs()
            ))),
            Err(e) => Err(e.into()),
        };
        reply.deliver(result);
        Ok(())
    }

    /// Waits for command `row`'s answer: woken by its notification, or finding it by
    /// looking every half second (a notification can be missed).
    async fn await_answer(
        &self,
        row: i64,
        wake: oneshot::Receiver<()>,
    ) -> Result<Option<String>, DbError> {
        let deadline = tokio::time::Instant::now() + ANSWER_WAIT;
        let mut wake = Some(wake);
        loop {
            if let Some(answer) = self.context.db.command_answer(row).await? {
                return Ok(Some(answer));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            let pause = tokio::time::sleep(Duration::from_millis(500));
            match wake.as_mut() {
                Some(signal) => {
                    tokio::select! {
                        _ = signal => wake = None,
                        () = pause => {}
                    }
                }
                None => pause.await,
            }
        }
    }

    /// After a takeover: the commands sent to the session's previous node that it never
    /// ran (a Stop sent just before it died) run here, where their callers still wait for
    /// an answer (those older than the wait are abandoned).
    pub(super) async fn adopt_commands(&self, id: SessionId) {
        let Some(node) = self.node() else {
            return;
        };
        let since = now_ms() - ANSWER_WAIT.as_millis() as i64;
        match self.context.db.adopt_commands(id, &node.id, since).await {
            Ok(0) => {}
            Ok(count) => {
                tracing::info!(session = %id, count, "running commands its previous node did not");
                node.commands.notify_one();
            }
            Err(e) => tracing::warn!(session = %id, "cannot take over a session's commands: {e}"),
        }
    }

    /// Starts the node's background work: the listener, the periodic sweep and the runner
    /// of commands other nodes send. Nothing without a cluster.
    pub fn start_node(self: &Arc<Self>) {
        let Some(node) = self.node().cloned() else {
            return;
        };
        let listener = node
            .listener
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(listener) = listener {
            tokio::spawn(listen(Arc::downgrade(self), listener));
        }
        tokio::spawn(sweep_loop(Arc::downgrade(self), Arc::clone(&node)));
        tokio::spawn(command_loop(Arc::downgrade(self), node));
    }

    /// Routes one notification; never waits on the database.
    fn on_note(self: &Arc<Self>, note: Note) {
        let Some(node) = self.node() else {
            return;
        };
        tracing::trace!(?note, "notified");
        match note {
            Note::Event { session, seq } => self.nudge(session, Nudge::Events(seq)),
            Note::Patch { session, frame } => self.nudge(session, Nudge::Patch(frame)),
            Note::Command { node: to, .. } if to == node.id => node.commands.notify_one(),
            Note::Answer { node: to, id } if to == node.id => {
                if let Some(waiter) = node.waiters().remove(&id) {
                    let _ = waiter.send(());
                }
            }
            Note::Projects { node: from } if from != node.id => {
                let registry = Arc::clone(self);
                tokio::spawn(async move { registry.projects_changed_elsewhere().await });
            }
            Note::Access => {
                let _ = node.access.send(());
            }
            Note::Budgets => {
                let registry = Arc::clone(self);
                tokio::spawn(async move { registry.budgets_changed_elsewhere().await });
            }
            Note::Command { .. } | Note::Answer { .. } | Note::Projects { .. } => {}
        }
    }

    /// Passes a nudge to a mirrored session; a session this node does not know yet (made
    /// on another node) is looked for at once.
    fn nudge(&self, id: SessionId, nudge: Nudge) {
        match self.lock().get(&id).map(|h| &h.driver) {
            Some(Driver::Remote(mirror)) => mirror.nudge(nudge),
            Some(Driver::Local { .. }) => {}
            None => {
                if let Some(node) = self.node() {
                    node.sweep.notify_one();
                }
            }
        }
    }

    /// The projects changed here: tell this node's sockets and the other nodes.
    pub(super) async fn projects_changed(&self) {
        self.announce_projects();
        if let Some(node) = self.node() {
            let note = Note::Projects {
                node: node.id.clone(),
            };
            if let Err(e) = self.context.db.notify(note).await {
                tracing::warn!("cannot tell the other nodes about the projects: {e}");
            }
        }
    }

    /// A budget was set here: the other nodes read them again (their sessions were told
    /// through their mirrors' forwarded commands only when they were affected here).
    pub(super) async fn budgets_changed_here(&self) {
        if self.node().is_some() {
            if let Err(e) = self.context.db.notify(Note::Budgets).await {
                tracing::warn!("cannot tell the other nodes about a budget: {e}");
            }
        }
    }

    /// Another node set a budget: read them again, and let every session driven here
    /// check itself against them.
    async fn budgets_changed_elsewhere(&self) {
        if let Err(e) = self.context.spending.reload_budgets().await {
            return tracing::warn!("cannot read the budgets again: {e}");
        }
        let driven: Vec<mpsc::Sender<SessionCommand>> = self
            .lock()
            .values()
            .filter_map(|h| match &h.driver {
                Driver::Local { commands, .. } => Some(commands.clone()),
                Driver::Remote(_) => None,
            })
            .collect();
        for commands in driven {
            let _ = commands.send(SessionCommand::BudgetChanged).await;
        }
    }

    /// Another node added, renamed or removed a project: read them again and tell sockets.
    async fn projects_changed_elsewhere(&self) {
        if let Err(e) = self.context.projects.reload().await {
            tracing::warn!(error = %e, "cannot read the projects again");
        }
        self.announce_projects();
    }

    /// Runs the commands other nodes left for this one, each in order into its session's
    /// task, and stores each answer as it comes.
    async fn run_commands(&self, node: &Node) -> Result<(), DbError> {
        let db = &self.context.db;
        for row in db.take_commands(&node.id).await? {
            let (command, answer) = match serde_json::from_str::<forward::Forwarded>(&row.body) {
                Ok(forward::Forwarded::Create {
                    new,
                    client_msg_id,
                    text,
                    attachments,
                }) => {
                    // Made here, where the machine's runner is: never forwarded again.
                    let made = self
                        .send_here(row.session, client_msg_id, text, attachments, Some(*new))
                        .await;
                    store_answer(db.clone(), row.id, row.from_node, &made).await;
                    continue;
                }
                Ok(forwarded) => forward::join(forwarded),
                Err(e) => {
                    let refused = Err(ServiceError::Invalid(format!("unknown command: {e}")));
                    store_answer(db.clone(), row.id, row.from_node, &refused).await;
                    continue;
                }
            };
            let delivered = match self.lock().get(&row.session).map(|h| &h.driver) {
                Some(Driver::Local { commands, .. }) => Some(commands.clone()),
                _ => None,
            };
            let delivered = match delivered {
                Some(commands) => commands.send(command).await.is_ok(),
                None => false,
            };
            let db = db.clone();
            tokio::spawn(async move {
                let result = match delivered {
                    true => answer
                        .await
                        .unwrap_or(Err(ServiceError::UnknownSession(row.session))),
                    false => Err(ServiceError::UnknownSession(row.session)),
                };
                store_answer(db, row.id, row.from_node, &result).await;
            });
        }
        Ok(())
    }

    /// This node stops: no sweep pass runs or starts from now on (the guard, held until
    /// the server is gone), so none takes back what the shutdown gives up.
    pub(super) async fn stop_sweeping(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        let node = self.node()?;
        node.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        Some(node.pass.lock().await)
    }

    /// This node stops: its leases are given back so others take its sessions at once.
    pub(super) async fn leave(&self) {
        if let Some(node) = self.node() {
            if let Err(e) = self.context.db.release_leases(&node.id, None).await {
                tracing::warn!("cannot give back this node's leases: {e}");
            }
        }
    }
}

async fn store_answer(
    db: crate::server::db::Db,
    id: i64,
    from_node: String,
    result: &Result<(), ServiceError>,
) {
    let answer = match serde_json::to_string(&Answer::of(result)) {
        Ok(answer) => answer,
        Err(e) => return tracing::error!("cannot encode an answer: {e}"),
    };
    if let Err(e) = db.answer_command(id, &from_node, answer).await {
        tracing::warn!(
            command = id,
            "cannot store a forwarded command's answer: {e}"
        );
    }
}

/// Reads notifications until the registry is gone. sqlx reconnects a dropped listening
/// connection on the next `recv`; what was sent meanwhile is found by the sweep.
async fn listen(registry: Weak<Registry>, mut listener: PgListener) {
    loop {
        let received = listener.recv().await;
        let Some(registry) = registry.upgrade() else {
            return;
        };
        match received {
            Ok(notification) => match Note::parse(notification.payload()) {
                Some(note) => registry.on_note(note),
                None => tracing::debug!("ignored a notification"),
            },
            Err(e) => {
                tracing::warn!("listening for other nodes failed, retrying: {e}");
                if let Some(node) = registry.node() {
                    node.sweep.notify_one();
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn sweep_loop(registry: Weak<Registry>, node: Arc<Node>) {
    for pass in 1u64.. {
        let Some(this) = registry.upgrade() else {
            return;
        };
        if pass % ACCESS_EVERY_SWEEPS == 0 {
            let _ = node.access.send(());
        }
        {
            let _pass = node.pass.lock().await;
            if node.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            if let Err(e) = this.sweep(&node).await {
                tracing::warn!("checking the other nodes' sessions failed: {e}");
            }
        }
        drop(this);
        let _ = tokio::time::timeout(SWEEP_EVERY, node.sweep.notified()).await;
    }
}

async fn command_loop(registry: Weak<Registry>, node: Arc<Node>) {
    loop {
        let Some(this) = registry.upgrade() else {
            return;
        };
        if let Err(e) = this.run_commands(&node).await {
            tracing::warn!("running other nodes' commands failed: {e}");
        }
        drop(this);
        let _ = tokio::time::timeout(SWEEP_EVERY, node.commands.notified()).await;
    }
}
