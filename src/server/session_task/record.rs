//! Persist before publish: every event is stored under the next seq, then broadcast;
//! every metadata change is stored, then sent to every socket as a patch.

use super::{now_ms, SessionTask};
use crate::protocol::{ServerFrame, SessionEvent, SessionPatch, SessionState};
use crate::server::wire::WireFrame;

impl SessionTask {
    pub(super) async fn set_state(&mut self, state: SessionState) {
        if self.session.state != state {
            self.publish(SessionPatch {
                state: Some(state),
                ..SessionPatch::default()
            })
            .await;
        }
    }

    /// Stores an event under the next seq, then broadcasts it. Returns false when storage
    /// failed: then nobody sees the event and the session shows the failure.
    pub(super) async fn record(&mut self, mut event: SessionEvent) -> bool {
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
            }
            _ => {}
        }
        if !self.stored {
            self.session.created_at_ms = now;
            self.session.last_activity_ms = now;
            if let Err(e) = self.db.save_session(&self.session).await {
                tracing::error!(session = %self.session.id, "cannot store new session: {e}");
                self.storage_error = Some(e.to_string());
                return false;
            }
            self.stored = true;
            let _ = self.channels.list.send(ServerFrame::SessionCreated {
                session: self.session.clone(),
            });
        }
        let seq = self.session.last_seq.next();
        if let Err(e) = self
            .db
            .append_event(self.session.id, seq, now, &event)
            .await
        {
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
        match WireFrame::encode(&frame) {
            Ok(wire) => {
                let _ = self.channels.events.send(std::sync::Arc::new(wire));
            }
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
                message_count: Some(self.session.message_count + 1),
                last_activity_ms: Some(now),
                read_seq: viewed.then_some(seq),
                ..SessionPatch::default()
            })
            .await;
        } else {
            // Per delta, on the hot path: touch the two fields instead of cloning the session.
            let (last_seq, last_activity_ms) =
                (self.session.last_seq, self.session.last_activity_ms);
            self.channels.snapshot.send_modify(|snapshot| {
                snapshot.last_seq = last_seq;
                snapshot.last_activity_ms = last_activity_ms;
            });
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
            state: Some(SessionState::Error {
                message: format!("Storage failed, nothing more is saved: {cause}"),
            }),
            ..SessionPatch::default()
        };
        self.session.apply(&patch);
        self.channels.snapshot.send_replace(self.session.clone());
        let _ = self.channels.list.send(ServerFrame::SessionUpdated {
            session: self.session.id,
            patch,
        });
    }

    /// Applies a metadata change: stored first, then shown to every socket. A change that
    /// could not be stored is not shown as if it were: the session shows the failure instead.
    pub(super) async fn publish(&mut self, patch: SessionPatch) {
        if patch.is_empty() {
            return;
        }
        self.session.apply(&patch);
        if self.stored {
            if let Err(e) = self.db.save_session(&self.session).await {
                tracing::error!(session = %self.session.id, "cannot store session: {e}");
                return self.storage_failed(&e.to_string());
            }
        }
        self.channels.snapshot.send_replace(self.session.clone());
        if self.stored {
            let _ = self.channels.list.send(ServerFrame::SessionUpdated {
                session: self.session.id,
                patch,
            });
        }
    }
}
