//! Imported turns: events another CLI wrote for this session's conversation, appended to
//! its log by its own task (so seqs stay one sequence) with their original times.

use super::{clip, SessionTask, PREVIEW_CHARS};
use crate::protocol::{
    first_message_title, ServerFrame, SessionEvent, SessionPatch, NEW_SESSION_TITLE,
};
use crate::server::db::imports::ImportBatch;
use crate::server::registry::ServiceError;
use crate::server::wire::WireFrame;

impl SessionTask {
    /// Stores a batch of imported events and the file's mark in one transaction, then
    /// publishes them and the session's new figures. A session made for the import is
    /// announced with its first batch.
    pub(super) async fn import(&mut self, batch: ImportBatch) -> Result<(), ServiceError> {
        if self.turn.is_some() || !self.queue.is_empty() {
            return Err(ServiceError::InvalidState(
                "a turn is running in this session; import again when it ends".into(),
            ));
        }
        if let Some(cause) = &self.storage_error {
            return Err(ServiceError::Storage(cause.clone()));
        }
        let first_seq = self.session.last_seq.next();
        self.db
            .append_imported(self.session.id, first_seq, &batch, super::now_ms())
            .await?;
        let announced = self.session.last_seq.0 > 0;
        let mut patch = SessionPatch::default();
        let (mut entries, mut usage) = (self.session.entry_count, self.session.usage);
        let mut seq = self.session.last_seq;
        let mut last_at = self.session.last_activity_ms;
        for (at_ms, event) in batch.events {
            seq = seq.next();
            last_at = last_at.max(at_ms);
            if self.entries.is_new_entry(&event) {
                entries += 1;
            }
            match &event {
                SessionEvent::UserMessage {
                    text, attachments, ..
                } if self.session.title == NEW_SESSION_TITLE && patch.title.is_none() => {
                    patch.title = Some(first_message_title(text, attachments));
                }
                SessionEvent::AssistantMessage { text, .. } if !text.trim().is_empty() => {
                    patch.preview = Some(clip(text, PREVIEW_CHARS));
                }
                SessionEvent::TurnCompleted { usage: turn, .. } => usage.add(turn),
                _ => {}
            }
            let frame = ServerFrame::Event {
                session: self.session.id,
                seq,
                event,
            };
            match WireFrame::encode(&frame) {
                Ok(wire) => self.stream.publish_event(seq, at_ms, None, wire),
                Err(e) => {
                    tracing::error!(session = %self.session.id, %seq, "cannot encode an event: {e}")
                }
            }
        }
        self.session.last_seq = seq;
        patch.entry_count = Some(entries);
        patch.usage = Some(usage);
        patch.last_activity_ms = Some(last_at);
        if announced {
            self.publish(patch).await;
            return Ok(());
        }
        // Its first events: the session joins the list whole.
        self.session.apply(&patch);
        self.session.read_seq = seq;
        self.db.save_session(&self.session).await?;
        self.stream.set_snapshot(&self.session);
        let _ = self.list.send(ServerFrame::SessionCreated {
            session: self.session.clone(),
        });
        Ok(())
    }
}
