//! A session's one ordered stream: every change to a session (its stored events and its
//! metadata patches) goes out here, from its task, in the order it happened. The snapshot
//! of the session and the broadcast sit under one lock, so a subscriber gets a snapshot and
//! a receiver that starts exactly after it: nothing missed, nothing applied twice.

use super::wire::WireFrame;
use crate::protocol::{Seq, Session, SessionState};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast;

/// Frames buffered per session before a slow subscriber counts as lagging (and is resynced
/// from the log and a fresh snapshot). The ring is allocated up front for every session,
/// so it stays small.
const STREAM_BUFFER: usize = 256;

/// The published side of one session.
pub struct SessionStream {
    inner: Mutex<Published>,
}

/// What subscribers see: the session as of the newest frame, and the frames.
struct Published {
    /// The session with every published change applied.
    snapshot: Session,
    /// The frames, in order (behind an `Arc`: the ring's slots stay pointer-sized).
    frames: broadcast::Sender<Arc<WireFrame>>,
}

impl SessionStream {
    /// A stream whose snapshot starts as `session`.
    pub fn new(session: Session) -> Arc<SessionStream> {
        let (frames, _) = broadcast::channel(STREAM_BUFFER);
        Arc::new(SessionStream {
            inner: Mutex::new(Published {
                snapshot: session,
                frames,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Published> {
        // Critical sections only copy fields and queue a frame; a poisoned lock still holds
        // a valid snapshot.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The session as last published.
    pub fn snapshot(&self) -> Session {
        self.lock().snapshot.clone()
    }

    /// The session's project, without copying the whole session.
    pub fn project(&self) -> Option<crate::protocol::ProjectId> {
        self.lock().snapshot.project
    }

    /// The session as last published and a receiver of every frame after it.
    pub fn subscribe(&self) -> (Session, broadcast::Receiver<Arc<WireFrame>>) {
        let published = self.lock();
        (published.snapshot.clone(), published.frames.subscribe())
    }

    /// Publishes a stored event's frame; the snapshot now ends at `seq`. A `StateChanged`
    /// event passes its `state`: the snapshot takes it under the same lock, so a subscriber
    /// joining before the patch that follows is not told the old state after the event
    /// that ended it.
    pub fn publish_event(
        &self,
        seq: Seq,
        at_ms: i64,
        state: Option<&SessionState>,
        frame: WireFrame,
    ) {
        let mut published = self.lock();
        published.snapshot.last_seq = seq;
        published.snapshot.last_activity_ms = at_ms;
        if let Some(state) = state {
            published.snapshot.state.clone_from(state);
        }
        let _ = published.frames.send(Arc::new(frame));
    }

    /// Publishes a metadata patch's frame; `session` is the session with it applied.
    pub fn publish_patch(&self, session: &Session, frame: WireFrame) {
        let mut published = self.lock();
        published.snapshot.clone_from(session);
        let _ = published.frames.send(Arc::new(frame));
    }

    /// Replaces the snapshot without a frame (a draft's settings, before anyone subscribes).
    pub fn set_snapshot(&self, session: &Session) {
        self.lock().snapshot.clone_from(session);
    }
}
