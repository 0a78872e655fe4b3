//! What the Changes panel holds about one session (the summary, the diffs asked for, the
//! last commit/discard/merge and how it went), the actions the panel calls, and the pure
//! helpers it shows data with (diff lines by kind, an outcome in words). The reducer fills
//! it from `Changes`, `Diff` and `GitDone`; nothing here touches a web API.

use super::actions::transport;
use super::requests::Request;
use super::store::{SessionView, Store};
use crate::protocol::{
    ChangeSummary, ClientFrame, DiffBody, GitOutcome, Project, SessionId, SessionState,
};
use leptos::prelude::*;
use std::collections::HashMap;

/// A git request of the panel, so its answer (or refusal) lands in the right place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitOp {
    /// Commit everything.
    Commit,
    /// Put one file or everything back.
    Discard,
    /// Merge the session's branch into its base.
    Merge,
}

/// How the panel's last git request went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitResult {
    /// The server did it (or found a conflict and did nothing).
    Done(GitOutcome),
    /// The server refused (a dirty base checkout, nothing to commit, ...): why, for people.
    Refused {
        /// Which request.
        op: GitOp,
        /// The server's message.
        message: String,
    },
}

impl GitResult {
    /// Whether it answers a merge (shown in `merge-result`, else in `git-result`).
    pub fn is_merge(&self) -> bool {
        matches!(
            self,
            GitResult::Done(GitOutcome::Merged { .. } | GitOutcome::Conflict { .. })
                | GitResult::Refused {
                    op: GitOp::Merge,
                    ..
                }
        )
    }

    /// The `data-outcome` of the result line: `committed`, `discarded`, `merged`,
    /// `conflict` or `refused`.
    pub fn name(&self) -> &'static str {
        match self {
            GitResult::Done(GitOutcome::Committed { .. }) => "committed",
            GitResult::Done(GitOutcome::Discarded { .. }) => "discarded",
            GitResult::Done(GitOutcome::Merged { .. }) => "merged",
            GitResult::Done(GitOutcome::Conflict { .. }) => "conflict",
            GitResult::Refused { .. } => "refused",
        }
    }

    /// One sentence for people.
    pub fn describe(&self) -> String {
        match self {
            GitResult::Done(GitOutcome::Committed { commit }) => format!("Committed {commit}."),
            GitResult::Done(GitOutcome::Discarded { paths }) => match paths.as_slice() {
                [] => "Discarded every change.".to_owned(),
                [one] => format!("Discarded the changes to {one}."),
                many => format!("Discarded the changes to {} files.", many.len()),
            },
            GitResult::Done(GitOutcome::Merged {
                into,
                fast_forward: true,
                commit,
            }) => format!("Merged into {into} (fast-forward to {commit})."),
            GitResult::Done(GitOutcome::Merged { into, commit, .. }) => {
                format!("Merged into {into} with merge commit {commit}.")
            }
            GitResult::Done(GitOutcome::Conflict { into, files }) => format!(
                "Not merged: {} conflicting with {into}. Nothing was changed.",
                plural(files.len(), "file is", "files are")
            ),
            GitResult::Refused { message, .. } => message.clone(),
        }
    }

    /// The conflicting files, for a conflict.
    pub fn conflicts(&self) -> &[String] {
        match self {
            GitResult::Done(GitOutcome::Conflict { files, .. }) => files,
            _ => &[],
        }
    }
}

/// `1 file is` / `3 files are`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The Changes panel's state for one session. Cloning shares the signals.
#[derive(Debug, Clone, Default)]
pub struct ChangesView {
    /// Whether the panel is open (for this session's pane).
    pub open: ArcRwSignal<bool>,
    /// The newest summary the server sent; `None` until the first arrives.
    pub summary: ArcRwSignal<Option<ChangeSummary>>,
    /// True while a `GetChanges` is on its way: another ask waits for its answer.
    pub loading: ArcRwSignal<bool>,
    /// Asked again while one was on its way: the panel asks once more when it lands.
    pub stale: ArcRwSignal<bool>,
    /// Why the changes could not be read, until the next summary.
    pub error: ArcRwSignal<Option<String>>,
    /// The file whose diff is shown.
    pub selected: ArcRwSignal<Option<String>>,
    /// Diffs received since the last summary, by path (a new summary makes them stale).
    pub diffs: ArcRwSignal<HashMap<String, DiffBody>>,
    /// The git request on its way, if any (its buttons are disabled meanwhile).
    pub busy: ArcRwSignal<Option<GitOp>>,
    /// How the last git request went.
    pub result: ArcRwSignal<Option<GitResult>>,
    /// The commit message as edited; `None` means the session's title.
    pub message: ArcRwSignal<Option<String>>,
}

/// Which kind of line of a unified diff, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffLine {
    /// `+`: added.
    Added,
    /// `-`: removed.
    Removed,
    /// `@@ ... @@`: where a hunk starts.
    Hunk,
    /// The file header (`diff --git`, `index`, `---`, `+++`, `new file mode`, ...).
    Header,
    /// Unchanged context.
    Context,
}

impl DiffLine {
    /// The CSS class of the line.
    pub fn class(self) -> &'static str {
        match self {
            DiffLine::Added => "diff-line add",
            DiffLine::Removed => "diff-line del",
            DiffLine::Hunk => "diff-line hunk",
            DiffLine::Header => "diff-line meta",
            DiffLine::Context => "diff-line",
        }
    }
}

/// The lines of a unified diff with their kinds. Lines before the first hunk are the
/// header, so a `---`/`+++` there is not taken for a removal or an addition.
pub fn diff_lines(text: &str) -> Vec<(DiffLine, &str)> {
    let mut in_hunk = false;
    text.lines()
        .map(|line| {
            let kind = if line.starts_with("@@") {
                in_hunk = true;
                DiffLine::Hunk
            } else if line.starts_with("diff ") {
                in_hunk = false;
                DiffLine::Header
            } else if !in_hunk {
                DiffLine::Header
            } else if line.starts_with('+') {
                DiffLine::Added
            } else if line.starts_with('-') {
                DiffLine::Removed
            } else {
                DiffLine::Context
            };
            (kind, line)
        })
        .collect()
}

/// Whether a session has a Changes panel: it runs in a git project or its own worktree.
pub fn has_changes(projects: &[Project], view: &SessionView) -> bool {
    view.meta.with(|m| {
        m.state != SessionState::Draft
            && (m.worktree.is_some()
                || m.changes.is_some()
                || m.project
                    .is_some_and(|id| projects.iter().any(|p| p.id == id && p.is_git)))
    })
}

/// Opens or closes the Changes panel of `id` (the open panel asks for the changes).
pub fn toggle_panel(store: Store, id: SessionId) {
    if let Some(view) = store.view(id) {
        view.changes.open.update(|open| *open = !*open);
    }
}

/// Closes the Changes panel of `id`.
pub fn close_panel(store: Store, id: SessionId) {
    if let Some(view) = store.view(id) {
        view.changes.open.set(false);
    }
}

/// Asks for the changes of `id`, at most one request at a time: asked again meanwhile,
/// it asks once more when the answer lands (see [`answer_landed`]).
pub fn refresh(store: Store, id: SessionId) {
    let Some(view) = store.view(id).filter(|v| !v.is_draft()) else {
        return;
    };
    if view.changes.loading.get_untracked() {
        view.changes.stale.set(true);
        return;
    }
    view.changes.loading.set(true);
    let tag = Some(store.open_request(Request::Changes { session: id }));
    transport::send(ClientFrame::GetChanges { session: id, tag });
}

/// After a summary (or a refusal) landed: asks again if the changes moved meanwhile.
pub fn answer_landed(store: Store, id: SessionId) {
    if let Some(view) = store.view(id) {
        if view.changes.stale.get_untracked() && !view.changes.loading.get_untracked() {
            view.changes.stale.set(false);
            refresh(store, id);
        }
    }
}

/// Shows the diff of `path` (the panel asks for it unless it is here); selecting the shown
/// file again hides it.
pub fn toggle_diff(store: Store, id: SessionId, path: String) {
    if let Some(view) = store.view(id) {
        view.changes.selected.update(|selected| {
            *selected = match selected.take() {
                Some(shown) if shown == path => None,
                _ => Some(path),
            }
        });
    }
}

/// Asks for the diff of `path` unless it is here already.
pub fn fetch_diff(store: Store, id: SessionId, path: String) {
    let Some(view) = store.view(id) else {
        return;
    };
    if view.changes.diffs.with_untracked(|d| d.contains_key(&path)) {
        return;
    }
    let tag = Some(store.open_request(Request::Changes { session: id }));
    transport::send(ClientFrame::GetDiff {
        session: id,
        path,
        tag,
    });
}

/// Edits the commit message of `id`.
pub fn set_commit_message(store: Store, id: SessionId, message: String) {
    if let Some(view) = store.view(id) {
        view.changes.message.set(Some(message));
    }
}

/// The commit message the panel shows: as edited, else the session's title.
pub fn commit_message(view: &SessionView) -> String {
    view.changes
        .message
        .get()
        .unwrap_or_else(|| view.meta.with(|m| m.title.clone()))
}

/// Commits everything `id` changed with `message` (blank: the session's title).
pub fn commit(store: Store, id: SessionId, message: String) {
    let Some(view) = store.view(id) else {
        return;
    };
    let message = match message.trim() {
        "" => view.meta.with_untracked(|m| m.title.clone()),
        text => text.to_owned(),
    };
    if start_git(&view, GitOp::Commit) {
        let tag = Some(store.open_request(Request::Git {
            session: id,
            op: GitOp::Commit,
        }));
        transport::send(ClientFrame::Commit {
            session: id,
            message,
            tag,
        });
    }
}

/// Puts `path` (or, with `None`, everything) back as it is in the base. The caller asked
/// the user first.
pub fn discard(store: Store, id: SessionId, path: Option<String>) {
    let Some(view) = store.view(id) else {
        return;
    };
    if start_git(&view, GitOp::Discard) {
        let tag = Some(store.open_request(Request::Git {
            session: id,
            op: GitOp::Discard,
        }));
        transport::send(ClientFrame::Discard {
            session: id,
            path,
            tag,
        });
    }
}

/// Merges the worktree session `id`'s branch into its base branch.
pub fn merge(store: Store, id: SessionId) {
    let Some(view) = store.view(id) else {
        return;
    };
    if start_git(&view, GitOp::Merge) {
        let tag = Some(store.open_request(Request::Git {
            session: id,
            op: GitOp::Merge,
        }));
        transport::send(ClientFrame::Merge { session: id, tag });
    }
}

/// Marks `op` as on its way unless another git request is: one at a time, so a double
/// click commits once.
fn start_git(view: &SessionView, op: GitOp) -> bool {
    if view.changes.busy.with_untracked(Option::is_some) {
        return false;
    }
    view.changes.busy.set(Some(op));
    view.changes.result.set(None);
    true
}

/// The reducer's part: a summary arrived. Diffs asked for before are stale; the shown file
/// stays selected (and is asked for again by the panel) while it is still changed.
pub(crate) fn summary_arrived(view: &SessionView, summary: ChangeSummary) {
    let changes = &view.changes;
    changes.loading.set(false);
    changes.error.set(None);
    if changes.diffs.with_untracked(|d| !d.is_empty()) {
        changes.diffs.set(HashMap::new());
    }
    let gone = changes.selected.with_untracked(|selected| {
        selected
            .as_ref()
            .is_some_and(|path| !summary.files.iter().any(|f| &f.path == path))
    });
    if gone {
        changes.selected.set(None);
    }
    changes.summary.set(Some(summary));
}

/// The reducer's part: a diff arrived.
pub(crate) fn diff_arrived(view: &SessionView, path: String, body: DiffBody) {
    view.changes.diffs.update(|diffs| {
        diffs.insert(path, body);
    });
}

/// The reducer's part: a git request was answered.
pub(crate) fn git_done(view: &SessionView, outcome: GitOutcome) {
    view.changes.busy.set(None);
    if matches!(outcome, GitOutcome::Committed { .. }) {
        // The next commit starts from the title again.
        view.changes.message.set(None);
    }
    view.changes.result.set(Some(GitResult::Done(outcome)));
}

/// The reducer's part: a git request was refused.
pub(crate) fn git_refused(view: &SessionView, op: GitOp, message: String) {
    view.changes.busy.set(None);
    view.changes
        .result
        .set(Some(GitResult::Refused { op, message }));
}

/// The reducer's part: `GetChanges` or `GetDiff` was refused.
pub(crate) fn changes_refused(view: &SessionView, message: String) {
    view.changes.loading.set(false);
    view.changes.error.set(Some(message));
}
