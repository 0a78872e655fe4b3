//! Projects in the browser: the sidebar's grouping of sessions under them, the "Add
//! project" form's state, where a new draft goes and whether it gets its own worktree, and
//! the actions that add, rename and remove projects. Pure apart from sending frames, so it
//! is tested natively.

use super::actions::{open_tab, transport};
use super::ids::new_uuid;
use super::requests::Request;
use super::store::{SessionView, Store};
use crate::protocol::{ClientFrame, Project, ProjectId, SessionId, SessionState, PLAYGROUND_NAME};
use leptos::prelude::*;

/// How the "Add project" form's request stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AddState {
    /// Nothing sent (or the form was reset).
    #[default]
    Idle,
    /// Sent; the project list's next growth answers it.
    Sending,
    /// The server added it: the form closes.
    Added(ProjectId),
    /// The server refused: why, for `project-error`.
    Failed(String),
}

/// The folders the server offered for what was typed (`ListFolders`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FolderList {
    /// What was asked about.
    pub prefix: String,
    /// The folders, sorted.
    pub folders: Vec<String>,
}

/// A draft's choices about where it runs, besides its project (which is in its meta).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DraftPlace {
    /// The "Isolated worktree" box as the user set it; `None`: the project's default.
    pub worktree: Option<bool>,
    /// The worktree's base branch as picked; `None`: the project's head branch.
    pub base_branch: Option<String>,
}

/// One group of the sidebar: a project (`None`: sessions of no known project) and the ids
/// of its sessions, in list order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The project.
    pub project: Option<ProjectId>,
    /// Its sessions.
    pub sessions: Vec<SessionId>,
}

/// The Playground, if the server has one.
pub fn playground(projects: &[Project]) -> Option<&Project> {
    projects.iter().find(|p| p.name == PLAYGROUND_NAME)
}

/// The project a session (or draft) of `project` runs in: that one, or the Playground
/// when it names none (the server puts it there).
pub fn project_of(projects: &[Project], project: Option<ProjectId>) -> Option<&Project> {
    match project {
        Some(id) => projects.iter().find(|p| p.id == id),
        None => playground(projects),
    }
}

/// Groups sessions (id and project, in list order) under the projects, in the projects'
/// order. Sessions naming no known project go under the Playground, or, without one, into
/// a last group of their own. With `keep_empty`, projects without sessions show too (not
/// while searching).
pub fn group_sessions(
    projects: &[Project],
    sessions: &[(SessionId, Option<ProjectId>)],
    keep_empty: bool,
) -> Vec<Group> {
    let home = playground(projects).map(|p| p.id);
    let mut groups: Vec<Group> = projects
        .iter()
        .map(|p| Group {
            project: Some(p.id),
            sessions: Vec::new(),
        })
        .collect();
    let mut stray = Vec::new();
    for (id, project) in sessions {
        let known = project.filter(|pid| projects.iter().any(|p| p.id == *pid));
        match known.or(home) {
            Some(pid) => {
                if let Some(group) = groups.iter_mut().find(|g| g.project == Some(pid)) {
                    group.sessions.push(*id);
                }
            }
            None => stray.push(*id),
        }
    }
    groups.retain(|g| keep_empty || !g.sessions.is_empty());
    if !stray.is_empty() {
        groups.push(Group {
            project: None,
            sessions: stray,
        });
    }
    groups
}

/// The name a project gets when the name field is left empty: the folder's last part.
pub fn folder_name(path: &str) -> String {
    path.trim()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Whether a draft in `project` runs in its own worktree: as the box is set, by default
/// when the project can have one, and never when it cannot.
pub fn wants_worktree(project: Option<&Project>, place: &DraftPlace) -> bool {
    let available = project.is_some_and(|p| p.is_git && p.worktree_unavailable.is_none());
    available && place.worktree.unwrap_or(true)
}

/// The base branch a draft's worktree starts from: as picked, else the project's head
/// branch (`None`: the checkout's HEAD).
pub fn base_branch(project: Option<&Project>, place: &DraftPlace) -> Option<String> {
    place
        .base_branch
        .clone()
        .or_else(|| project.and_then(|p| p.head_branch.clone()))
}

/// What a draft's creating `Send` says about where it runs: its project, whether it gets a
/// worktree, and the worktree's base branch.
pub fn draft_place(store: &Store, view: &SessionView) -> (Option<ProjectId>, bool, Option<String>) {
    let project_id = view.meta.with_untracked(|m| m.project);
    let place = view.draft_place.get_untracked();
    store.projects.with_untracked(|projects| {
        let project = project_of(projects, project_id);
        let worktree = wants_worktree(project, &place);
        let base = worktree.then(|| base_branch(project, &place)).flatten();
        (project_id.or(project.map(|p| p.id)), worktree, base)
    })
}

/// The project the global "+" opens a draft in: the shown session's, else the Playground.
pub fn current_project(store: Store) -> Option<ProjectId> {
    let shown = store
        .active_view()
        .and_then(|view| view.meta.with_untracked(|m| m.project));
    shown.or_else(|| {
        store
            .projects
            .with_untracked(|p| playground(p).map(|p| p.id))
    })
}

/// Opens a new draft tab in `project` and returns its id; the caller navigates to it.
pub fn new_draft_in(store: Store, project: Option<ProjectId>) -> SessionId {
    let id = SessionId(new_uuid());
    let view = SessionView::draft(id);
    view.meta.update(|m| m.project = project);
    store.sessions.update(|list| list.push(view));
    open_tab(store, id);
    id
}

/// Ticks or clears the "Isolated worktree" box of draft `id`.
pub fn set_draft_worktree(store: Store, id: SessionId, on: bool) {
    if let Some(view) = store.view(id).filter(|v| v.is_draft()) {
        view.draft_place.update(|p| p.worktree = Some(on));
    }
}

/// Picks the base branch of draft `id`'s worktree.
pub fn set_draft_base_branch(store: Store, id: SessionId, branch: String) {
    if let Some(view) = store.view(id).filter(|v| v.is_draft()) {
        view.draft_place.update(|p| p.base_branch = Some(branch));
    }
}

/// Live sessions of `project` (what removing it ends).
pub fn live_sessions(store: Store, project: ProjectId) -> usize {
    store.sessions.with_untracked(|list| {
        list.iter()
            .filter(|v| {
                v.meta.with_untracked(|m| {
                    m.project == Some(project)
                        && !matches!(m.state, SessionState::Draft | SessionState::Archived)
                })
            })
            .count()
    })
}

/// Asks for the folders starting with `prefix` (completion of the path field).
pub fn list_folders(prefix: String) {
    transport::send(ClientFrame::ListFolders { prefix });
}

/// Adds the folder `path` (on `machine`, or this server's host) as a project named `name`
/// (blank: the folder's name). The form shows the outcome through [`Store::project_add`].
pub fn add_project(store: Store, path: String, name: String, machine: Option<String>) {
    let path = path.trim().to_owned();
    if path.is_empty() {
        store
            .project_add
            .set(AddState::Failed("Type the folder's path.".to_owned()));
        return;
    }
    let name = Some(name.trim().to_owned()).filter(|n| !n.is_empty());
    store.project_add.set(AddState::Sending);
    let tag = Some(store.open_request(Request::AddProject));
    transport::send(ClientFrame::AddProject {
        path,
        name,
        machine,
        tag,
    });
}

/// Forgets the form's last outcome (it opens afresh).
pub fn reset_add_form(store: Store) {
    if store.project_add.get_untracked() != AddState::Idle {
        store.project_add.set(AddState::Idle);
    }
}

/// Renames `project`; the list shows the new name when the server confirms it.
pub fn rename_project(store: Store, project: ProjectId, name: String) {
    let name = name.trim().to_owned();
    let same = store
        .projects
        .with_untracked(|list| list.iter().any(|p| p.id == project && p.name == name));
    if name.is_empty() || same {
        return;
    }
    let tag = Some(store.open_request(Request::Project));
    transport::send(ClientFrame::RenameProject { project, name, tag });
}

/// Removes `project` from the list, ending its live sessions (no file is deleted). The
/// caller asked the user first.
pub fn remove_project(store: Store, project: ProjectId) {
    let tag = Some(store.open_request(Request::Project));
    transport::send(ClientFrame::RemoveProject { project, tag });
}

/// The reducer's part: the whole project list arrived. A new project answers a pending
/// "Add project".
pub(crate) fn projects_arrived(store: &Store, projects: Vec<Project>) {
    if store.project_add.get_untracked() == AddState::Sending {
        let added = store.projects.with_untracked(|old| {
            projects
                .iter()
                .find(|p| !old.iter().any(|o| o.id == p.id))
                .map(|p| p.id)
        });
        if let Some(id) = added {
            store.project_add.set(AddState::Added(id));
        }
    }
    if store.projects.with_untracked(|old| *old != projects) {
        store.projects.set(projects);
    }
}

/// The reducer's part: "Add project" was refused.
pub(crate) fn add_refused(store: &Store, message: String) {
    store.project_add.set(AddState::Failed(message));
}
