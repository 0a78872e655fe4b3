//! A session's place in the user's code: where its agent runs (the project's folder or a
//! git worktree of its own), what it changed there, and keeping or dropping that (commit,
//! discard, merge, and removing the worktree when it ends). Plain functions over a session
//! snapshot and the git program; the registry calls them and tells the session to recount.

use super::git::{Git, GitError};
use super::projects::Places;
use super::registry::ServiceError;
use crate::protocol::{
    title_from_message, ChangeCount, ChangeSummary, DiffBody, FileChange, GitOutcome, Project,
    Session, SessionId, Worktree,
};
use std::path::{Path, PathBuf};

/// Longest branch slug, in characters.
const SLUG_CHARS: usize = 24;
/// Commits of the session's branch listed by name in a refusal.
const ABBREV: usize = 7;

impl From<GitError> for ServiceError {
    fn from(e: GitError) -> Self {
        ServiceError::InvalidState(e.to_string())
    }
}

/// What a session's changes are measured in and against.
#[derive(Debug, Clone)]
pub struct ChangeTarget {
    /// The folder the agent works in.
    pub dir: PathBuf,
    /// The commit compared with (`HEAD` for a session in the project's own checkout).
    pub base: String,
    /// For a worktree session: its branch and the base branch it merges into.
    pub branches: Option<(String, String)>,
    /// What the files are compared with, for people.
    pub label: String,
}

/// Where `session`'s changes are, when it runs in a git repository (`git_project`: its
/// project is one).
pub fn change_target(session: &Session, git_project: bool) -> Option<ChangeTarget> {
    match &session.worktree {
        Some(worktree) => Some(ChangeTarget {
            dir: PathBuf::from(&worktree.path),
            base: worktree.base_commit.clone(),
            branches: worktree
                .base_branch
                .clone()
                .map(|base| (worktree.branch.clone(), base)),
            label: match &worktree.base_branch {
                Some(branch) => format!("{branch} at {}", short(&worktree.base_commit)),
                None => short(&worktree.base_commit).to_owned(),
            },
        }),
        None if git_project => Some(ChangeTarget {
            dir: PathBuf::from(&session.cwd),
            base: "HEAD".into(),
            branches: None,
            label: "HEAD".into(),
        }),
        None => None,
    }
}

/// The header's figures for a session's changes.
pub async fn count(git: &Git, target: &ChangeTarget) -> Result<ChangeCount, GitError> {
    let summary = summary(git, target).await?;
    Ok(ChangeCount {
        files: summary.files.len() as u32,
        unmerged_commits: summary.unmerged_commits,
    })
}

/// Every file that differs from the base.
pub async fn summary(git: &Git, target: &ChangeTarget) -> Result<ChangeSummary, GitError> {
    let branches = target
        .branches
        .as_ref()
        .map(|(branch, base)| (branch.as_str(), base.as_str()));
    git.changes(&target.dir, &target.base, branches, &target.label)
        .await
}

/// The changed file `path` names, refused when the session did not change it (so no
/// request reads or touches a file outside its changes).
pub async fn changed_file(
    git: &Git,
    target: &ChangeTarget,
    path: &str,
) -> Result<FileChange, ServiceError> {
    summary(git, target)
        .await?
        .files
        .into_iter()
        .find(|change| change.path == path)
        .ok_or_else(|| ServiceError::Invalid(format!("{path} is not among the session's changes")))
}

/// One changed file's diff against the base.
pub async fn diff(git: &Git, target: &ChangeTarget, path: &str) -> Result<DiffBody, ServiceError> {
    let change = changed_file(git, target, path).await?;
    Ok(git.diff(&target.dir, &target.base, &change.path).await?)
}

/// Commits everything changed, with `message` (the session's title when blank).
pub async fn commit(
    git: &Git,
    target: &ChangeTarget,
    message: &str,
    title: &str,
) -> Result<GitOutcome, ServiceError> {
    let message = match message.trim() {
        "" => title.trim(),
        given => given,
    };
    let commit = git.commit(&target.dir, message).await?;
    Ok(GitOutcome::Committed { commit })
}

/// Puts one file (or everything) back as it is in the base.
pub async fn discard(
    git: &Git,
    target: &ChangeTarget,
    path: Option<&str>,
) -> Result<GitOutcome, ServiceError> {
    let change = match path {
        Some(path) => Some(changed_file(git, target, path).await?),
        None => None,
    };
    git.discard(&target.dir, &target.base, change.as_ref())
        .await?;
    Ok(GitOutcome::Discarded {
        paths: change.map(|c| vec![c.path]).unwrap_or_default(),
    })
}

/// Merges a worktree session's branch into its base branch in the project's checkout.
pub async fn merge(
    git: &Git,
    session: &Session,
    project: &Project,
) -> Result<GitOutcome, ServiceError> {
    let worktree = session.worktree.as_ref().ok_or_else(|| {
        ServiceError::InvalidState("only a worktree session can be merged".into())
    })?;
    let base = worktree.base_branch.as_deref().ok_or_else(|| {
        ServiceError::InvalidState(
            "the worktree was made from a detached HEAD: there is no branch to merge into".into(),
        )
    })?;
    Ok(git
        .merge(Path::new(&project.path), &worktree.branch, base)
        .await?)
}

/// Makes session `id`'s worktree: branch `switchboard/<slug>-<8 hex of the id>` from
/// `base_branch` (the checkout's HEAD when `None`) in `<data dir>/worktrees/<id>`.
pub async fn create_worktree(
    git: &Git,
    places: &Places,
    project: &Project,
    id: SessionId,
    first_message: &str,
    base_branch: Option<&str>,
) -> Result<Worktree, ServiceError> {
    if let Some(reason) = &project.worktree_unavailable {
        return Err(ServiceError::NotAllowed(format!(
            "{} cannot have worktrees: {reason}",
            project.name
        )));
    }
    if let Some(base) = base_branch.filter(|b| !project.branches.iter().any(|known| known == b)) {
        return Err(ServiceError::Invalid(format!(
            "{} has no branch {base}",
            project.name
        )));
    }
    add_worktree(git, places, project, id, first_message, base_branch).await
}

/// Makes session `id`'s worktree at `base` (a branch or a commit): the worktree of a
/// comparison's later attempt starts at the commit the first one started from, and merges
/// into that one's `base_branch`.
pub async fn add_worktree(
    git: &Git,
    places: &Places,
    project: &Project,
    id: SessionId,
    first_message: &str,
    base: Option<&str>,
) -> Result<Worktree, ServiceError> {
    let folder = places.worktrees();
    std::fs::create_dir_all(&folder)
        .map_err(|e| ServiceError::Storage(format!("cannot make {}: {e}", folder.display())))?;
    let path = folder.join(id.to_string());
    let branch = branch_name(first_message, id);
    let (base_branch, base_commit) = git
        .create_worktree(Path::new(&project.path), &path, &branch, base)
        .await?;
    tracing::info!(session = %id, %branch, "worktree made");
    Ok(Worktree {
        path: path.display().to_string(),
        branch,
        base_branch,
        base_commit,
    })
}

/// What ending a worktree session does with its folder and branch.
pub async fn end_worktree(
    git: &Git,
    project_path: &Path,
    worktree: &Worktree,
    remove_folder: bool,
    remove_branch: bool,
    discard_unmerged: bool,
) -> Result<(), ServiceError> {
    if remove_folder {
        git.remove_worktree(project_path, Path::new(&worktree.path))
            .await?;
    }
    if remove_branch {
        git.delete_branch(project_path, &worktree.branch, discard_unmerged)
            .await?;
    }
    Ok(())
}

/// Refuses to delete a branch whose commits its base branch lacks, unless confirmed.
pub async fn check_branch_removable(
    git: &Git,
    project_path: &Path,
    worktree: &Worktree,
    discard_unmerged: bool,
) -> Result<(), ServiceError> {
    if discard_unmerged {
        return Ok(());
    }
    let merged = match &worktree.base_branch {
        Some(base) => git.is_merged(project_path, &worktree.branch, base).await?,
        None => false,
    };
    if merged {
        return Ok(());
    }
    Err(ServiceError::InvalidState(format!(
        "branch {} has commits that {} does not (made from {}); confirm to delete them",
        worktree.branch,
        worktree.base_branch.as_deref().unwrap_or("its base"),
        &worktree.base_commit[..worktree.base_commit.len().min(ABBREV)]
    )))
}

/// `switchboard/<slug>-<8 hex>`: the slug from the first message (lowercase words joined
/// by `-`), so branches say what they are for; the hex keeps them unique.
pub fn branch_name(first_message: &str, id: SessionId) -> String {
    let title = title_from_message(first_message).to_lowercase();
    let mut slug = String::new();
    for word in title.split(|c: char| !c.is_ascii_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let next = if slug.is_empty() {
            word.len()
        } else {
            slug.len() + 1 + word.len()
        };
        if next > SLUG_CHARS {
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(word);
    }
    if slug.is_empty() {
        slug.push_str("session");
    }
    let hex = id.0.simple().to_string();
    format!("switchboard/{slug}-{}", &hex[..8])
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(ABBREV)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_carry_a_slug_and_the_ids_first_hex() {
        let id = SessionId(uuid::Uuid::from_u128(
            0x1a2b3c4d_0000_0000_0000_000000000000,
        ));
        assert_eq!(
            branch_name("Fix the **login** bug, please!", id),
            "switchboard/fix-the-login-bug-please-1a2b3c4d"
        );
        assert_eq!(
            branch_name("```\n\n```", id),
            "switchboard/session-1a2b3c4d"
        );
        let long = branch_name("word ".repeat(40).as_str(), id);
        assert!(
            long.len() <= "switchboard/".len() + SLUG_CHARS + 9,
            "{long}"
        );
        assert_eq!(
            branch_name("Ünïcode ok", id),
            "switchboard/n-code-ok-1a2b3c4d"
        );
    }
}
