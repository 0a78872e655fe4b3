//! Projects (folders of the user's code that sessions run in), a session's git worktree,
//! and what a session changed there: the summary, one file's diff, and the outcome of
//! keeping (commit, merge) or dropping (discard) it.

use super::tag_first::tag_first;
use super::ProjectId;
use serde::{Deserialize, Serialize};

/// A folder of the user's code; sessions are grouped under it and run in it (or in a git
/// worktree of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// Its id.
    pub id: ProjectId,
    /// The name shown in the sidebar (default: the folder's name).
    pub name: String,
    /// The folder, canonical (symlinks resolved).
    pub path: String,
    /// Whether the folder is a git repository's top level.
    pub is_git: bool,
    /// The branch its checkout is on, when it is on one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_branch: Option<String>,
    /// Its local branches, for picking a worktree's base.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<String>,
    /// Why a session here cannot get its own worktree (not a git repository, git is
    /// missing, no commit yet); `None` when it can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree_unavailable: Option<String>,
    /// The machine (its id) whose runner runs this project's agents; `None`: this server's
    /// own host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    /// That machine's name, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_name: Option<String>,
}

/// The name of the project every server starts with: an empty git repository in the data
/// dir, so the demo agent works with no setup.
pub const PLAYGROUND_NAME: &str = "Playground";

/// A session's own git worktree: its branch, made from the base when the session started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worktree {
    /// The worktree's folder (under the server's data dir); the agent runs here.
    pub path: String,
    /// The session's branch, `switchboard/<slug>-<8 hex of the session id>`.
    pub branch: String,
    /// The branch it was made from and merges into (`None`: a detached HEAD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_branch: Option<String>,
    /// The commit it was made from; its changes are shown against this commit.
    pub base_commit: String,
}

/// How a changed file differs from the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    /// New and tracked by git.
    Added,
    /// Changed.
    Modified,
    /// Gone.
    Deleted,
    /// Moved (perhaps changed too); `old_path` says from where.
    Renamed,
    /// New and not yet known to git.
    Untracked,
}

impl ChangeStatus {
    /// The snake_case name used in `data-status` attributes and CSS.
    pub fn name(self) -> &'static str {
        match self {
            ChangeStatus::Added => "added",
            ChangeStatus::Modified => "modified",
            ChangeStatus::Deleted => "deleted",
            ChangeStatus::Renamed => "renamed",
            ChangeStatus::Untracked => "untracked",
        }
    }
}

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    /// Its path relative to the repository's top.
    pub path: String,
    /// For a rename: where it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    /// How it differs.
    pub status: ChangeStatus,
    /// Lines added (`None`: a binary file).
    pub added: Option<u32>,
    /// Lines removed (`None`: a binary file).
    pub removed: Option<u32>,
}

/// What a session changed: every file that differs from its base.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSummary {
    /// What the files are compared with, for people ("main at 1a2b3c4", "HEAD").
    pub base: String,
    /// The changed files, by path.
    pub files: Vec<FileChange>,
    /// Commits on the session's branch that its base branch does not have (worktree
    /// sessions; 0 otherwise).
    #[serde(default)]
    pub unmerged_commits: u32,
    /// Changes not yet committed (on the branch or in the checkout).
    #[serde(default)]
    pub uncommitted: u32,
}

/// The longest diff sent, in bytes; a larger one is described, not shown.
pub const MAX_DIFF_BYTES: usize = 512 * 1024;

tag_first! {
    #[serde(tag = "kind", rename_all = "snake_case")]
    /// One file's unified diff against the base, or why it is not shown.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
    pub enum DiffBody {
        /// The unified diff text (`+`, `-`, ` ` and `@@` lines).
        Text {
            /// The diff.
            text: String,
        },
        /// A binary file: no lines to show.
        Binary,
        /// Longer than [`MAX_DIFF_BYTES`].
        TooLarge {
            /// The diff's size in bytes.
            bytes: u64,
        },
    }
}

tag_first! {
    #[serde(tag = "outcome", rename_all = "snake_case")]
    /// What became of a commit, discard or merge; the changes that follow show the new state.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
    pub enum GitOutcome {
        /// The changes were committed on the session's branch (or the project's checkout).
        Committed {
            /// The new commit, abbreviated.
            commit: String,
        },
        /// These files are back as they are in the base.
        Discarded {
            /// The paths (empty: everything).
            paths: Vec<String>,
        },
        /// The session's branch is now part of its base branch.
        Merged {
            /// The base branch.
            into: String,
            /// True when the base branch was moved forward with no merge commit.
            fast_forward: bool,
            /// The base branch's new commit, abbreviated.
            commit: String,
        },
        /// The merge would conflict; nothing changed in the base checkout or the worktree.
        Conflict {
            /// The base branch.
            into: String,
            /// The files both sides changed differently.
            files: Vec<String>,
        },
    }
}

/// What to do with a worktree session's worktree and branch when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorktreeEnd {
    /// Keep both: the folder and the branch stay.
    Keep,
    /// Remove the folder (and anything uncommitted in it), keep the branch.
    RemoveWorktree,
    /// Remove the folder and the branch. A branch with unmerged commits is removed only
    /// with `discard_unmerged` set on the request.
    RemoveBoth,
}

impl WorktreeEnd {
    /// The kebab-case name used in `data-choice` attributes.
    pub fn name(self) -> &'static str {
        match self {
            WorktreeEnd::Keep => "keep",
            WorktreeEnd::RemoveWorktree => "remove-worktree",
            WorktreeEnd::RemoveBoth => "remove-both",
        }
    }
}

/// What the Doctor says of git, which projects use for worktrees and changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    /// The program found, if any.
    pub path: Option<String>,
    /// What `git --version` said.
    pub version: Option<String>,
    /// Why it cannot be used (then worktrees and the Changes panel are off; projects work).
    pub problem: Option<String>,
}
