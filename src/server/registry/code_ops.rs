//! The registry's services for the user's code: projects (add, rename, remove, folder
//! completion), a session's changes (summary, diff, commit, discard, merge) and ending a
//! session with its worktree. Each tells the session to count its changes again after.

use super::{Registry, ServiceError, SessionCommand};
use crate::protocol::{
    ChangeSummary, DiffBody, GitOutcome, Project, ProjectId, ServerFrame, Session, SessionId,
    WorktreeEnd,
};
use crate::server::git::Git;
use crate::server::workspace::{self, ChangeTarget};
use std::path::Path;
use std::sync::Arc;

impl Registry {
    /// Adds a project and tells every socket.
    pub async fn add_project(
        &self,
        path: &str,
        name: Option<&str>,
        machine: Option<String>,
    ) -> Result<Project, ServiceError> {
        if let Some(machine) = &machine {
            // Only an enrolled, unrevoked machine's runner can take its agents.
            let machines = self.context.runners.as_ref().map(|r| r.machines());
            let Some(machines) = machines else {
                return Err(ServiceError::Invalid(
                    "projects on other machines need runner.mode = \"detached\"".into(),
                ));
            };
            machines
                .link(machine)
                .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        }
        let project = self.context.projects.add(path, name, machine).await?;
        tracing::info!(project = %project.id, path = %project.path, "project added");
        self.projects_changed().await;
        Ok(project)
    }

    /// Renames a project and tells every socket.
    pub async fn rename_project(&self, id: ProjectId, name: &str) -> Result<(), ServiceError> {
        self.context.projects.rename(id, name).await?;
        self.projects_changed().await;
        Ok(())
    }

    /// Ends the project's live sessions (keeping their worktrees and branches), then
    /// forgets the project. No file is deleted.
    pub async fn remove_project(&self, id: ProjectId) -> Result<(), ServiceError> {
        self.context.projects.get(id)?;
        let ending: Vec<SessionId> = self
            .lock()
            .values()
            .map(|handle| handle.stream.snapshot())
            .filter(|session| session.project == Some(id))
            .map(|session| session.id)
            .collect();
        for session in ending {
            self.end_session(session, None, false).await?;
        }
        self.context.projects.remove(id).await?;
        self.projects_changed().await;
        Ok(())
    }

    /// Folders that may become projects, for completion.
    pub fn folders(&self, prefix: &str) -> Vec<String> {
        self.context.projects.folders(prefix)
    }

    /// Every project, in sidebar order, with its machine's name.
    pub fn project_list(&self) -> Vec<Project> {
        let mut projects = self.context.projects.list();
        if let Some(runners) = &self.context.runners {
            for project in &mut projects {
                project.machine_name = project
                    .machine
                    .as_deref()
                    .and_then(|id| runners.machines().name(id));
            }
        }
        projects
    }

    pub(super) fn announce_projects(&self) {
        let projects = self.project_list();
        let _ = self
            .context
            .list
            .send(ServerFrame::ProjectsChanged { projects });
    }

    /// What session `id` changed.
    pub async fn changes(&self, id: SessionId) -> Result<ChangeSummary, ServiceError> {
        let (git, target, _) = self.code_of(id)?;
        Ok(workspace::summary(&git, &target).await?)
    }

    /// One changed file's diff.
    pub async fn diff(&self, id: SessionId, path: &str) -> Result<DiffBody, ServiceError> {
        let (git, target, _) = self.code_of(id)?;
        workspace::diff(&git, &target, path).await
    }

    /// Commits what the session changed.
    pub async fn commit(&self, id: SessionId, message: &str) -> Result<GitOutcome, ServiceError> {
        let (git, target, session) = self.code_of(id)?;
        let outcome = workspace::commit(&git, &target, message, &session.title).await;
        self.recount(id).await;
        outcome
    }

    /// Puts one file (or everything) back as in the base.
    pub async fn discard(
        &self,
        id: SessionId,
        path: Option<&str>,
    ) -> Result<GitOutcome, ServiceError> {
        let (git, target, _) = self.code_of(id)?;
        let outcome = workspace::discard(&git, &target, path).await;
        self.recount(id).await;
        outcome
    }

    /// Merges a worktree session's branch into its base branch.
    pub async fn merge(&self, id: SessionId) -> Result<GitOutcome, ServiceError> {
        let (git, _, session) = self.code_of(id)?;
        let project = self.project_of(&session)?;
        let outcome = workspace::merge(&git, &session, &project).await;
        if matches!(outcome, Ok(GitOutcome::Merged { .. })) {
            // Its branches moved: the base branch, for worktrees made from now on.
            if let Err(e) = self.context.projects.reload().await {
                tracing::warn!(error = %e, "cannot read the projects again");
            }
            self.projects_changed().await;
            self.recount_project(project.id).await;
        }
        outcome
    }

    /// Ends a session: stops its agent and archives it, then does what `end` says with its
    /// worktree (keeps both when `None`). A branch with commits its base lacks is removed
    /// only with `discard_unmerged`, checked before anything is touched.
    pub async fn end_session(
        &self,
        id: SessionId,
        end: Option<WorktreeEnd>,
        discard_unmerged: bool,
    ) -> Result<(), ServiceError> {
        let session = self.stream(id)?.snapshot();
        let end = end.unwrap_or(WorktreeEnd::Keep);
        let plan = match (&session.worktree, self.context.projects.git(), end) {
            (Some(worktree), Some(git), WorktreeEnd::RemoveWorktree | WorktreeEnd::RemoveBoth) => {
                let project = self.project_of(&session)?;
                let remove_branch = end == WorktreeEnd::RemoveBoth;
                if remove_branch {
                    workspace::check_branch_removable(
                        git,
                        Path::new(&project.path),
                        worktree,
                        discard_unmerged,
                    )
                    .await?;
                }
                Some((Arc::clone(git), project, worktree.clone(), remove_branch))
            }
            _ => None,
        };
        self.archive(id).await?;
        if let Some((git, project, worktree, remove_branch)) = plan {
            workspace::end_worktree(
                &git,
                Path::new(&project.path),
                &worktree,
                true,
                remove_branch,
                discard_unmerged,
            )
            .await?;
            tracing::info!(session = %id, branch = %worktree.branch, remove_branch, "worktree removed");
        }
        Ok(())
    }

    /// Asks session `id` to count its changes again.
    async fn recount(&self, id: SessionId) {
        let _ = self.command(id, SessionCommand::Recount).await;
    }

    /// Asks every live session of a project to count again (a merge moved its base).
    async fn recount_project(&self, project: ProjectId) {
        let ids: Vec<SessionId> = self
            .lock()
            .values()
            .map(|handle| handle.stream.snapshot())
            .filter(|session| session.project == Some(project))
            .map(|session| session.id)
            .collect();
        for id in ids {
            self.recount(id).await;
        }
    }

    fn project_of(&self, session: &Session) -> Result<Project, ServiceError> {
        let id = session.project.ok_or_else(|| {
            ServiceError::InvalidState("the session belongs to no project".into())
        })?;
        self.context.projects.get(id)
    }

    /// The git program, where the session's changes are, and its snapshot; refused for a
    /// session outside a git repository.
    fn code_of(&self, id: SessionId) -> Result<(Arc<Git>, ChangeTarget, Session), ServiceError> {
        let session = self.stream(id)?.snapshot();
        let git = self.context.projects.git().cloned().ok_or_else(|| {
            let why = self
                .context
                .projects
                .git_missing()
                .unwrap_or("git is missing");
            ServiceError::NotAllowed(format!("no changes to show: {why}"))
        })?;
        let is_git = self.project_of(&session).is_ok_and(|p| p.is_git);
        let target = workspace::change_target(&session, is_git).ok_or_else(|| {
            ServiceError::InvalidState("the session's folder is not a git repository".into())
        })?;
        Ok((git, target, session))
    }
}
