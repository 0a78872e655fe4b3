//! Making a session: checking where it may run, which agent and mode, the open-session
//! limit, and making its worktree (for an attempt of a comparison: at the first attempt's
//! base commit) before its task is registered.

use super::{Registry, ServiceError};
use crate::protocol::{CompareId, NewSession, Session, SessionId, SessionState, Worktree};
use crate::server::workspace;
use std::path::Path;

impl Registry {
    /// Registers a new session's task (not yet stored), in its project's folder or, asked
    /// for, in a new git worktree made before its agent starts. A session that exists
    /// already is left alone, so a resent first message is harmless.
    pub(super) async fn create(
        &self,
        id: SessionId,
        new: NewSession,
        text: &str,
    ) -> Result<(), ServiceError> {
        self.create_attempt(id, new, text, None).await
    }

    /// Like `create`; for an attempt of a comparison, `attempt` names the comparison and,
    /// after its first attempt, that one's worktree: this one starts at the same commit
    /// and merges into the same branch.
    pub(super) async fn create_attempt(
        &self,
        id: SessionId,
        new: NewSession,
        text: &str,
        attempt: Option<(CompareId, Option<&Worktree>)>,
    ) -> Result<(), ServiceError> {
        if self.lock().contains_key(&id) {
            return Ok(());
        }
        let config = &self.context.config;
        let projects = &self.context.projects;
        let project = match (new.project, new.cwd.as_deref().map(str::trim)) {
            (Some(project), _) => match projects.get(project) {
                Ok(found) => found,
                // Added on another node a moment ago (its note may still be on its way).
                Err(_) => {
                    projects.reload().await?;
                    projects.get(project)?
                }
            },
            (None, Some(cwd)) if !cwd.is_empty() => projects.for_folder(Path::new(cwd)).await?,
            (None, _) => projects.playground()?,
        };
        let folder = projects.check_folder(project.machine.as_deref(), Path::new(&project.path))?;
        let open = self.lock().len();
        if open >= config.max_open_sessions {
            return Err(ServiceError::LimitReached(format!(
                "{open} sessions are open, the limit (limits.max_open_sessions); end one first"
            )));
        }
        let Some(agent) = self.context.catalog.get(&new.agent) else {
            return Err(ServiceError::Invalid(format!(
                "unknown agent {}; see the Doctor page for the agents this server knows",
                new.agent
            )));
        };
        let info = &agent.info;
        if !info.installed {
            let hint = info
                .install_hint
                .as_ref()
                .map(|i| format!(" Install it with `{i}`."))
                .unwrap_or_default();
            return Err(ServiceError::NotAllowed(format!(
                "{} is not installed: {}.{hint}",
                info.label,
                info.problem.clone().unwrap_or_default()
            )));
        }
        let mode = new.permission_mode.unwrap_or_else(|| info.default_mode());
        if !info.modes.contains(&mode) {
            return Err(ServiceError::Invalid(format!(
                "{} does not know permission mode {mode}",
                info.label
            )));
        }
        let worktree = match (new.worktree, projects.git()) {
            (false, _) => None,
            (true, _) if project.machine.is_some() => {
                return Err(ServiceError::NotAllowed(
                    "no worktree: the project's folder is on another machine".into(),
                ))
            }
            (true, None) => {
                let why = projects.git_missing().unwrap_or("git is not available");
                return Err(ServiceError::NotAllowed(format!("no worktree: {why}")));
            }
            (true, Some(git)) => Some(match attempt.and_then(|(_, first)| first) {
                Some(first) => {
                    let places = projects.places();
                    let base = Some(first.base_commit.as_str());
                    let mut worktree =
                        workspace::add_worktree(git, places, &project, id, text, base).await?;
                    worktree.base_branch.clone_from(&first.base_branch);
                    worktree
                }
                None => {
                    let base = new.base_branch.as_deref();
                    workspace::create_worktree(git, projects.places(), &project, id, text, base)
                        .await?
                }
            }),
        };
        let cwd = worktree
            .as_ref()
            .map_or_else(|| folder.display().to_string(), |w| w.path.clone());
        let mut session = Session::empty(id, new.agent, cwd, mode, SessionState::Idle);
        session.model = new.model;
        session.project = Some(project.id);
        session.worktree = worktree;
        session.compare = attempt.map(|(compare, _)| compare);
        if !self.lease(id).await? {
            return Err(ServiceError::InvalidState(
                "another server node is creating this session; try again".into(),
            ));
        }
        self.lock()
            .entry(id)
            .or_insert_with(|| self.spawn_task(session, false).0);
        Ok(())
    }
}
