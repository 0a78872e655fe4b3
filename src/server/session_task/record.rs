//! Persist before publish: every event is stored under the next seq, then goes out on the
//! session's stream; every metadata change is stored, then goes out on the stream and, as
//! a summary, on the session list. State changes are events too, so a replay shows them in
//! the same order as the live stream did.

use super::{now_ms, SessionTask};
use crate::protocol::{ServerFrame, SessionEvent, SessionPatch};
use crate::server::wire::WireFrame;

impl SessionTask {
    /// Publishes the derived state if it changed: a change of kind (idle to working, say)
    /// is stored in the log as `StateChanged` first; a change of detail only (the place in
    /// line for an agent) is a patch alone.
    pub(super) async fn publish_state(&mut self) {
        let mut state = self.derive_state();
        if state == self.session.state {
            return;
        }
        if self.stored && state.name() != self.session.state.name() {
            self.record(SessionEvent::StateChanged {
                state: state.clone(),
            })
            .await;
            // A write that failed just now changes what the state is.
            state = self.derive_state();
        }
        self.publish(SessionPatch {
            state: Some(state),
            ..SessionPatch::default()
        })
        .await;
    }

    /// Stores an event under the next seq, then publishes it. Returns false when storage
    /// failed: then nobody sees the event and the session shows the failure.
    pub(super) async fn record(&mut self, mut event: SessionEvent) -> bool {
        if self.storage_error.is_some() {
            return false;
        }
        let now = now_ms();
        match &mut event {
            SessionEvent::ToolCall { id, .. } => {
                self.tool_started.entry(id.clone()).or_insert(now);
            }
            SessionEvent::ToolResult {
                id, duration_ms, ..
            } => {
                if let Some(started) = self.tool_started.remove(id.as_str()) {
                    duration_ms.get_or_insert((now - started).max(0) as u64);
                }
                // A tool may have written files: count the changes (debounced).
                self.counting.soon();
            }
            _ => {}
        }
        if !self.stored {
            self.session.created_at_ms = now;
            self.session.last_activity_ms = now;
            if let Err(e) = self.db.save_session(&self.session).await {
                tracing::error!(session = %self.session.id, "cannot store new session: {e}");
                self.storage_failed(&e.to_string());
                return false;
            }
            self.stored = true;
            self.stream.set_snapshot(&self.session);
            let _ = self.list.send(ServerFrame::SessionCreated {
                session: self.session.clone(),
            });
        }
        let seq = self.session.last_seq.next();
        // The first event a runner output makes carries the output's number with it.
        let cursor = self.cursor.as_mut().filter(|c| !c.stored);
        let written = match cursor {
            Some(cursor) => {
                let done = self
                    .db
                    .append_agent_event(self.session.id, seq, now, &event, cursor.cursor)
                    .await;
                cursor.stored = done.is_ok();
                done
            }
            None => {
                self.db
                    .append_event(self.session.id, seq, now, &event)
                    .await
            }
        };
        if let Err(e) = written {
            tracing::error!(session = %self.session.id, %seq, "cannot store event: {e}");
            self.storage_failed(&e.to_string());
            return false;
        }
        self.session.last_seq = seq;
        self.session.last_activity_ms = now;
        let new_entry = self.entries.is_new_entry(&event);
        // Encoded once; every subscribed socket sends the same bytes.
        let frame = ServerFrame::Event {
            session: self.session.id,
            seq,
            event,
        };
        let state = match &frame {
            ServerFrame::Event {
                event: SessionEvent::StateChanged { state },
                ..
            } => Some(state),
            _ => None,
        };
        match WireFrame::encode(&frame) {
            Ok(wire) => self.stream.publish_event(seq, now, state, wire),
            // Stored but not sent: a socket's next resync reads it from the log.
            Err(e) => {
                tracing::error!(session = %self.session.id, %seq, "cannot encode an event: {e}")
            }
        }
        if new_entry {
            // Someone is looking: the entry is read as it arrives, in the same patch, so
            // no other tab's badge flickers.
            let viewed = self.session.viewers > 0;
            self.publish(SessionPatch {
                entry_count: Some(self.session.entry_count + 1),
                last_activity_ms: Some(now),
                last_seq: Some(seq),
                read_seq: viewed.then_some(seq),
                ..SessionPatch::default()
            })
            .await;
        }
        true
    }

    /// A browser tab started or stopped showing the session. While any shows it, what
    /// arrives is read; when the count changes, everything so far is.
    pub(super) async fn viewers_changed(&mut self, delta: i32) {
        let viewers = self.session.viewers.saturating_add_signed(delta);
        let read_seq =
            (self.session.read_seq < self.session.last_seq).then_some(self.session.last_seq);
        self.publish(SessionPatch {
            viewers: Some(viewers),
            read_seq,
            ..SessionPatch::default()
        })
        .await;
    }

    /// Storage is failing: show it without touching the log (which may be what fails).
    pub(super) fn storage_failed(&mut self, cause: &str) {
        self.storage_error = Some(cause.to_owned());
        let patch = SessionPatch {
            state: Some(self.derive_state()),
            ..SessionPatch::default()
        };
        self.broadcast(patch);
    }

    /// Applies a metadata change: stored first, then published. A change that could not be
    /// stored is not shown as if it were: the session shows the failure instead. The row
    /// is stored with its rev, and (on PostgreSQL) other nodes are told in the same
    /// transaction, with the frame this node publishes.
    pub(super) async fn publish(&mut self, patch: SessionPatch) {
        if patch.is_empty() {
            return;
        }
        if !self.stored {
            // A draft: nobody else knows it yet.
            self.session.apply(&patch);
            return self.stream.set_snapshot(&self.session);
        }
        if self.storage_error.is_some() {
            return self.broadcast(patch);
        }
        let (saved, frame) = self.stamped(patch);
        let wire = match WireFrame::encode(&frame) {
            Ok(wire) => wire,
            Err(e) => {
                return tracing::error!(session = %self.session.id, "cannot encode a patch: {e}")
            }
        };
        if let Err(e) = self.db.save_published_session(&saved, &wire.text).await {
            tracing::error!(session = %self.session.id, "cannot store session: {e}");
            return self.storage_failed(&e.to_string());
        }
        self.session = saved;
        self.stream.publish_patch(&self.session, wire);
        let _ = self.list.send(frame);
    }

    /// The session with `patch` applied under the next rev, and the frame that says so.
    /// Every patch says which seq it is current at, so a client can tell a replayed state
    /// change from a new one.
    fn stamped(&self, mut patch: SessionPatch) -> (crate::protocol::Session, ServerFrame) {
        patch.rev = Some(self.session.rev + 1);
        patch.last_seq = Some(self.session.last_seq);
        let mut session = self.session.clone();
        session.apply(&patch);
        let frame = ServerFrame::SessionUpdated {
            session: self.session.id,
            patch,
        };
        (session, frame)
    }

    /// Applies `patch` under the next rev and sends it on the session's stream and, as a
    /// summary, on the list, without storing it (storage is what fails).
    fn broadcast(&mut self, patch: SessionPatch) {
        let (session, frame) = self.stamped(patch);
        self.session = session;
        match WireFrame::encode(&frame) {
            Ok(wire) => self.stream.publish_patch(&self.session, wire),
            Err(e) => tracing::error!(session = %self.session.id, "cannot encode a patch: {e}"),
        }
        let _ = self.list.send(frame);
    }
}
