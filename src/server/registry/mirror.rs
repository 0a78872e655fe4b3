//! A session another node drives, as this node shows it: a task that keeps the session's
//! `SessionStream` in step with the shared log, so sockets and the API subscribe here
//! exactly as to a local session. It is told by notifications (an event's seq, a
//! published patch) and by the node's periodic check; per-session order and exactly-once
//! come from the seq it reads by, never from the notifications, which may be missed.

use super::Registry;
use crate::protocol::{Seq, ServerFrame, Session, SessionEvent, SessionId, SessionState, Spent};
use crate::server::db::Db;
use crate::server::session_stream::SessionStream;
use crate::server::spending::Spending;
use crate::server::wire::WireFrame;
use std::sync::{Arc, Weak};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

/// A seq past any log's end (its successor still fits the database's signed integers).
const LOG_END: Seq = Seq(i64::MAX as u64 - 1);

/// What a mirror is told.
#[derive(Debug)]
pub enum Nudge {
    /// The log reaches at least this seq.
    Events(Seq),
    /// The driving node published this `SessionUpdated` frame (`None`: read the row).
    Patch(Option<String>),
    /// The periodic check's view of the stored session.
    Check {
        /// The newest stored seq.
        last_seq: Seq,
        /// The stored rev.
        rev: u64,
    },
    /// Catch up with everything stored, then stop (this node takes the session over, or it
    /// ended).
    Stop(oneshot::Sender<()>),
}

/// A mirrored session: the node that drives it, and how to reach its mirror task.
pub struct Mirror {
    /// The node holding the session's lease, where commands are forwarded.
    pub node: String,
    nudges: mpsc::UnboundedSender<Nudge>,
    task: JoinHandle<()>,
}

impl Mirror {
    /// Starts mirroring `stream` (its snapshot is the session as stored) for a session
    /// `node` drives.
    pub fn start(node: String, stream: Arc<SessionStream>, registry: &Arc<Registry>) -> Mirror {
        let (nudges, rx) = mpsc::unbounded_channel();
        let context = &registry.context;
        let task = MirrorTask {
            id: stream.snapshot().id,
            stream,
            db: context.db.clone(),
            list: context.list.clone(),
            spending: Arc::clone(&context.spending),
            registry: Arc::downgrade(registry),
        };
        Mirror {
            node,
            nudges,
            task: tokio::spawn(task.run(rx)),
        }
    }

    /// Tells the mirror something (ignored once it has stopped).
    pub fn nudge(&self, nudge: Nudge) {
        let _ = self.nudges.send(nudge);
    }

    /// Catches up with the stored log and row, then stops.
    pub async fn stop(self) {
        let (done, stopped) = oneshot::channel();
        if self.nudges.send(Nudge::Stop(done)).is_ok() {
            let _ = stopped.await;
        }
        let _ = self.task.await;
    }
}

struct MirrorTask {
    id: SessionId,
    stream: Arc<SessionStream>,
    db: Db,
    list: broadcast::Sender<ServerFrame>,
    /// This node's budgets count the turns other nodes store too.
    spending: Arc<Spending>,
    registry: Weak<Registry>,
}

impl MirrorTask {
    async fn run(self, mut nudges: mpsc::UnboundedReceiver<Nudge>) {
        let mut next = nudges.recv().await;
        while let Some(nudge) = next.take() {
            match nudge {
                Nudge::Events(mut seq) => {
                    // A burst of events: one read for all that are waiting.
                    while let Ok(more) = nudges.try_recv() {
                        match more {
                            Nudge::Events(later) => seq = seq.max(later),
                            other => {
                                next = Some(other);
                                break;
                            }
                        }
                    }
                    self.catch_up(seq).await;
                }
                Nudge::Patch(Some(text)) => self.apply_frame(text).await,
                Nudge::Patch(None) => self.read_row().await,
                Nudge::Check { last_seq, rev } => {
                    self.catch_up(last_seq).await;
                    if rev > self.stream.snapshot().rev {
                        self.read_row().await;
                    }
                }
                Nudge::Stop(done) => {
                    self.catch_up(LOG_END).await;
                    self.read_row().await;
                    let _ = done.send(());
                    return;
                }
            }
            if self.stream.snapshot().state == SessionState::Archived {
                if let Some(registry) = self.registry.upgrade() {
                    registry.forget_mirror(self.id);
                }
                return;
            }
            if next.is_none() {
                next = nudges.recv().await;
            }
        }
    }

    /// Publishes the stored events after the snapshot's seq up to `seq`, and no further:
    /// notifications come in the driving node's commit order, so stopping at the seq a
    /// notification names keeps that node's order of events and patches.
    async fn catch_up(&self, seq: Seq) {
        // Read once per catch-up, not per event: a snapshot is a whole `Session` clone, and a
        // mirror republishes every event of a busy session.
        let held = self.stream.snapshot();
        let (mut last, project, at_ms) = (held.last_seq, held.project, held.last_activity_ms);
        while last < seq {
            let events = match self.db.events_between(self.id, last, seq.next()).await {
                Ok(events) => events,
                Err(e) => {
                    // The next notification or check reads again.
                    tracing::warn!(session = %self.id, "cannot read another node's events: {e}");
                    return;
                }
            };
            if events.is_empty() {
                return;
            }
            for logged in events {
                last = logged.seq;
                let state = match &logged.event {
                    SessionEvent::StateChanged { state } => Some(state.clone()),
                    SessionEvent::TurnCompleted { usage, .. } => {
                        self.spending
                            .turn_stored(self.id, project, Spent::of(usage));
                        None
                    }
                    _ => None,
                };
                let frame = ServerFrame::Event {
                    session: self.id,
                    seq: logged.seq,
                    event: logged.event,
                };
                match WireFrame::encode(&frame) {
                    Ok(wire) => self
                        .stream
                        .publish_event(logged.seq, at_ms, state.as_ref(), wire),
                    Err(e) => tracing::error!(session = %self.id, "cannot encode an event: {e}"),
                }
            }
        }
    }

    /// Publishes a patch the driving node published, after the events it is current at.
    async fn apply_frame(&self, text: String) {
        let patch = match serde_json::from_str::<ServerFrame>(&text) {
            Ok(ServerFrame::SessionUpdated { patch, .. }) => patch,
            _ => {
                tracing::warn!(session = %self.id, "another node's patch cannot be read");
                return self.read_row().await;
            }
        };
        if let Some(seq) = patch.last_seq {
            self.catch_up(seq).await;
        }
        let held = self.stream.snapshot();
        if !held.is_newer(&patch) {
            return;
        }
        // A check may have read further than the notifications had come.
        let mut patch = patch;
        patch.last_seq = patch.last_seq.map(|seq| seq.max(held.last_seq));
        let mut session = held;
        session.apply(&patch);
        let frame = ServerFrame::SessionUpdated {
            session: self.id,
            patch,
        };
        self.publish(&session, frame);
    }

    /// Publishes the stored row as one patch, when it is newer than what was published.
    async fn read_row(&self) {
        let stored = match self.db.session(self.id).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return,
            Err(e) => {
                return tracing::warn!(session = %self.id, "cannot read another node's session: {e}")
            }
        };
        self.catch_up(stored.last_seq).await;
        let held = self.stream.snapshot();
        if stored.rev <= held.rev {
            return;
        }
        // Live-only figures are not in the row: keep what was published last.
        let session = Session {
            viewers: held.viewers,
            changes: held.changes,
            placement: held.placement.clone(),
            budget: held.budget,
            last_seq: held.last_seq,
            ..stored
        };
        let frame = ServerFrame::SessionUpdated {
            session: self.id,
            patch: session.as_patch(),
        };
        self.publish(&session, frame);
    }

    fn publish(&self, session: &Session, frame: ServerFrame) {
        match WireFrame::encode(&frame) {
            Ok(wire) => self.stream.publish_patch(session, wire),
            Err(e) => tracing::error!(session = %self.id, "cannot encode a patch: {e}"),
        }
        let _ = self.list.send(frame);
    }
}
