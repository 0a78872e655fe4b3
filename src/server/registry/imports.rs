//! The registry's side of importing: a session made for an imported transcript, and the
//! batches of its events, which go through the session's own task.

use super::{Registry, ServiceError, SessionCommand};
use crate::protocol::{AgentId, ImportSource, Session, SessionId, SessionState, CLAUDE, CODEX};
use crate::server::db::imports::ImportBatch;
use crate::server::import::parse::TranscriptMeta;
use crate::server::import::Importer;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::oneshot;

impl Registry {
    /// The import job.
    pub fn importer(&self) -> &Arc<Importer> {
        &self.importer
    }

    /// Makes the session an imported transcript becomes, stored and empty until its first
    /// batch (sessions without events are not listed): the CLI's agent, its folder (in the
    /// folder's project, made when missing and allowed), its conversation id, so the next
    /// message resumes the same conversation in the real CLI. A session that exists already
    /// is left alone.
    pub async fn adopt_imported(
        &self,
        id: SessionId,
        source: ImportSource,
        meta: &TranscriptMeta,
    ) -> Result<(), ServiceError> {
        if self.lock().contains_key(&id) {
            return Ok(());
        }
        let agent = AgentId(
            match source {
                ImportSource::Claude => CLAUDE,
                ImportSource::Codex => CODEX,
            }
            .into(),
        );
        let mode = self
            .context
            .catalog
            .get(&agent)
            .map_or_else(|| "default".to_owned(), |a| a.info.default_mode());
        let cwd = meta.cwd.clone().unwrap_or_default();
        // A folder outside the roots (or gone) keeps its path: continuing there fails with
        // the reason, as for any session.
        let project = match cwd.is_empty() {
            true => None,
            false => self.context.projects.for_folder(Path::new(&cwd)).await.ok(),
        };
        let mut session = Session::empty(id, agent, cwd, mode, SessionState::Idle);
        session.project = project.map(|p| p.id);
        session.agent_session_id = meta.conversation_id.clone();
        session.model = meta.model.clone();
        session.imported = Some(source);
        session.created_at_ms = meta
            .started_ms
            .unwrap_or_else(crate::server::session_task::now_ms);
        session.last_activity_ms = session.created_at_ms;
        if !self.lease(id).await? {
            return Err(ServiceError::InvalidState(
                "another server node drives this session".into(),
            ));
        }
        self.context.db.save_session(&session).await?;
        self.lock()
            .entry(id)
            .or_insert_with(|| self.spawn_task(session, true).0);
        Ok(())
    }

    /// Appends a batch of imported events through the session's task.
    pub async fn import_batch(
        &self,
        id: SessionId,
        batch: ImportBatch,
    ) -> Result<(), ServiceError> {
        let (reply, answer) = oneshot::channel();
        self.command(id, SessionCommand::Import { batch, reply })
            .await?;
        answer.await.map_err(|_| ServiceError::UnknownSession(id))?
    }
}
