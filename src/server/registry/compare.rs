//! "Ask several" and "Keep this one": a comparison is a group of ordinary sessions (one per
//! attempt) made together, each in its own worktree from one base commit and sent the same
//! prompt; keeping one merges its branch and ends the others.

use super::{Registry, ServiceError};
use crate::protocol::{
    Attachment, Attempt, ClientMsgId, CompareId, GitOutcome, NewSession, ProjectId, SessionId,
    WorktreeEnd, MAX_ATTEMPTS, MIN_ATTEMPTS,
};

/// What "Ask several" asks: the `AskSeveral` frame's fields.
pub struct AskSeveral {
    /// The comparison's id.
    pub compare: CompareId,
    /// The project (a git repository).
    pub project: ProjectId,
    /// The branch the worktrees start from; the checkout's HEAD when absent.
    pub base_branch: Option<String>,
    /// 2 to 4 attempts.
    pub attempts: Vec<Attempt>,
    /// The prompt.
    pub text: String,
    /// Images sent with it.
    pub attachments: Vec<Attachment>,
    /// The browser's id of the prompt.
    pub client_msg_id: ClientMsgId,
}

impl Registry {
    /// Makes one session per attempt in `project` (each in a worktree from the same commit)
    /// and sends each `text`. A resend makes nothing twice: sessions that exist are reused.
    pub async fn ask_several(&self, ask: AskSeveral) -> Result<(), ServiceError> {
        let AskSeveral {
            compare,
            project,
            base_branch,
            attempts,
            text,
            attachments,
            client_msg_id,
        } = ask;
        if !(MIN_ATTEMPTS..=MAX_ATTEMPTS).contains(&attempts.len()) {
            return Err(ServiceError::Invalid(format!(
                "a comparison has {MIN_ATTEMPTS} to {MAX_ATTEMPTS} attempts, not {}",
                attempts.len()
            )));
        }
        let mut ids: Vec<SessionId> = attempts.iter().map(|a| a.session).collect();
        ids.sort();
        ids.dedup();
        if ids.len() != attempts.len() {
            return Err(ServiceError::Invalid(
                "each attempt needs a session id of its own".into(),
            ));
        }
        if text.trim().is_empty() && attachments.is_empty() {
            return Err(ServiceError::Invalid("the prompt is empty".into()));
        }
        let mut first_worktree = None;
        for attempt in attempts {
            let new = NewSession {
                agent: attempt.agent,
                cwd: None,
                project: Some(project),
                worktree: true,
                base_branch: base_branch.clone(),
                permission_mode: attempt.permission_mode,
                model: attempt.model,
            };
            let seat = Some((compare, first_worktree.as_ref()));
            self.create_attempt(attempt.session, new, &text, seat)
                .await?;
            let session = self.stream(attempt.session)?.snapshot();
            if first_worktree.is_none() {
                let worktree = session.worktree.clone().ok_or_else(|| {
                    ServiceError::InvalidState("the first attempt has no worktree".into())
                })?;
                self.db()
                    .insert_comparison(
                        compare,
                        project,
                        &worktree.base_commit,
                        &text,
                        crate::server::session_task::now_ms(),
                    )
                    .await?;
                first_worktree = Some(worktree);
            }
            self.send(
                attempt.session,
                client_msg_id,
                text.clone(),
                attachments.clone(),
                None,
            )
            .await?;
        }
        tracing::info!(%compare, %project, "comparison asked");
        Ok(())
    }

    /// Keeps one attempt: commits what it left uncommitted, merges its branch into the
    /// base, then ends the other attempts, their worktrees and branches handled as
    /// `others` says (the user chose it knowing unmerged work goes). A merge that would
    /// conflict changes nothing and ends nothing.
    pub async fn keep_attempt(
        &self,
        compare: CompareId,
        kept: SessionId,
        others: WorktreeEnd,
    ) -> Result<GitOutcome, ServiceError> {
        let session = self.stream(kept)?.snapshot();
        if session.compare != Some(compare) {
            return Err(ServiceError::Invalid(
                "that session is not an attempt of this comparison".into(),
            ));
        }
        if self.changes(kept).await?.uncommitted > 0 {
            self.commit(kept, &format!("Keep: {}", session.title))
                .await?;
        }
        let outcome = self.merge(kept).await?;
        if !matches!(outcome, GitOutcome::Merged { .. }) {
            return Ok(outcome);
        }
        self.db().set_kept_attempt(compare, kept).await?;
        let losers: Vec<SessionId> = self
            .sessions()
            .into_iter()
            .filter(|s| s.compare == Some(compare) && s.id != kept)
            .map(|s| s.id)
            .collect();
        for id in losers {
            self.end_session(id, Some(others), true).await?;
        }
        tracing::info!(%compare, session = %kept, "attempt kept");
        Ok(outcome)
    }
}
