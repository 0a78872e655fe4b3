//! Why a git operation failed, in words for people, with git's own explanation.

use super::COMMAND_TIMEOUT;
use std::path::PathBuf;

/// Why a git operation failed; the message is for people and carries git's own words.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// No git program.
    #[error("git was not found on PATH (install git, or set SWITCHBOARD_GIT to its path)")]
    NotFound,
    /// Git is older than the operations need.
    #[error("git {found} is too old: Switchboard needs git 2.38 or newer")]
    TooOld {
        /// The version found.
        found: String,
    },
    /// The program could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program's path.
        program: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A command did not finish in time (it was killed).
    #[error("`git {command}` did not finish in {} s", COMMAND_TIMEOUT.as_secs())]
    TimedOut {
        /// The command, shortened.
        command: String,
    },
    /// A command failed; `stderr` is git's explanation.
    #[error("`git {command}` failed ({status}): {stderr}")]
    Failed {
        /// The command, shortened.
        command: String,
        /// How it exited.
        status: String,
        /// Git's stderr, trimmed.
        stderr: String,
    },
    /// Git printed something these parsers do not understand.
    #[error("unexpected output from `git {command}`: {detail}")]
    Unexpected {
        /// The command, shortened.
        command: String,
        /// What was wrong.
        detail: String,
    },
    /// The folder is not in a git repository.
    #[error("{} is not in a git repository", dir.display())]
    NotARepository {
        /// The folder.
        dir: PathBuf,
    },
    /// The repository has no commit to branch from.
    #[error("the repository at {} has no commit yet: make a first commit, then start a session with its own worktree", repo.display())]
    NoCommits {
        /// The repository.
        repo: PathBuf,
    },
    /// The base given is neither a branch nor a commit.
    #[error("there is no branch or commit called `{base}`")]
    UnknownBase {
        /// What was asked for.
        base: String,
    },
    /// The branch to create exists already.
    #[error("a branch called `{branch}` already exists")]
    BranchExists {
        /// The branch.
        branch: String,
    },
    /// A branch name git does not accept.
    #[error("`{branch}` is not a valid branch name")]
    BadBranchName {
        /// The name.
        branch: String,
    },
    /// A commit was asked for with nothing changed.
    #[error("nothing to commit: no file differs from the last commit")]
    NothingToCommit,
    /// A diff or discard named a file that does not differ from the base.
    #[error("{path} does not differ from the base")]
    Unchanged {
        /// The path.
        path: String,
    },
    /// The checkout to merge into is not on the base branch.
    #[error("the checkout at {} is on {}, not {expected}: switch it to {expected} to merge", repo.display(), actual.as_deref().unwrap_or("a detached HEAD"))]
    WrongBranch {
        /// The project's checkout.
        repo: PathBuf,
        /// The base branch.
        expected: String,
        /// The branch it is on.
        actual: Option<String>,
    },
    /// The checkout to merge into has uncommitted changes; it is never touched then.
    #[error("the checkout at {} has uncommitted changes ({}): commit or stash them, then merge", repo.display(), files.join(", "))]
    DirtyCheckout {
        /// The project's checkout.
        repo: PathBuf,
        /// The changed files (the first few).
        files: Vec<String>,
    },
    /// `branch -d` of a branch whose commits are not merged.
    #[error("branch `{branch}` has commits that are not merged; delete it anyway to lose them")]
    BranchNotMerged {
        /// The branch.
        branch: String,
    },
    /// A file of the working tree could not be read or removed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}
