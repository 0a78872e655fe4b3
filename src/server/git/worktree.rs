//! A session's worktree and branch: made from a base, listed, removed.

use super::parse::{parse_worktree_list, WorktreeEntry};
use super::{Git, GitError};
use std::path::Path;

impl Git {
    /// Makes a worktree at `worktree_path` on a new `branch` from `base` (a branch or a
    /// commit; `None`: the checkout's HEAD). Answers the base branch (`None` when the base
    /// is a detached HEAD or a bare commit) and the base commit's full oid.
    pub async fn create_worktree(
        &self,
        repo: &Path,
        worktree_path: &Path,
        branch: &str,
        base: Option<&str>,
    ) -> Result<(Option<String>, String), GitError> {
        let top = self.top_or_err(repo).await?;
        let valid = self
            .yes_no(&top, ["check-ref-format", "--branch", branch])
            .await;
        // check-ref-format exits 128 on a bad name; take any failure as "bad".
        if !matches!(valid, Ok(true)) {
            return Err(GitError::BadBranchName {
                branch: branch.to_owned(),
            });
        }
        let (base_branch, base_commit) = match base {
            None => {
                let commit = self
                    .commit_oid(&top, "HEAD")
                    .await?
                    .ok_or_else(|| GitError::NoCommits { repo: top.clone() })?;
                (self.current_branch(&top).await?, commit)
            }
            Some(base) => {
                if self.commit_oid(&top, "HEAD").await?.is_none() {
                    return Err(GitError::NoCommits { repo: top.clone() });
                }
                let is_branch = self.branch_exists(&top, base).await?;
                // A branch is resolved as refs/heads/<base>: a tag of the same name must
                // not win.
                let rev = if is_branch {
                    format!("refs/heads/{base}")
                } else {
                    base.to_owned()
                };
                let commit =
                    self.commit_oid(&top, &rev)
                        .await?
                        .ok_or_else(|| GitError::UnknownBase {
                            base: base.to_owned(),
                        })?;
                (is_branch.then(|| base.to_owned()), commit)
            }
        };
        if self.branch_exists(&top, branch).await? {
            return Err(GitError::BranchExists {
                branch: branch.to_owned(),
            });
        }
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "worktree".as_ref(),
            "add".as_ref(),
            "--quiet".as_ref(),
            "-b".as_ref(),
            branch.as_ref(),
            "--".as_ref(),
        ];
        args.push(worktree_path.as_os_str());
        args.push(base_commit.as_ref());
        self.ok(&top, args).await?;
        tracing::info!(
            worktree = %worktree_path.display(),
            %branch,
            base = base_branch.as_deref().unwrap_or(&base_commit),
            "worktree made"
        );
        Ok((base_branch, base_commit))
    }

    /// Every worktree of `repo` (its main checkout first).
    pub async fn worktrees(&self, repo: &Path) -> Result<Vec<WorktreeEntry>, GitError> {
        let out = self
            .ok(repo, ["worktree", "list", "--porcelain", "-z"])
            .await?;
        Ok(parse_worktree_list(&out.stdout))
    }

    /// Removes the worktree at `path`, with anything uncommitted in it (the user chose
    /// so); when its folder is gone already, git forgets it. The branch stays.
    pub async fn remove_worktree(&self, repo: &Path, path: &Path) -> Result<(), GitError> {
        if tokio::fs::try_exists(path).await.unwrap_or(false) {
            // Twice: a locked worktree needs --force twice.
            let args: [&std::ffi::OsStr; 6] = [
                "worktree".as_ref(),
                "remove".as_ref(),
                "--force".as_ref(),
                "--force".as_ref(),
                "--".as_ref(),
                path.as_os_str(),
            ];
            self.ok(repo, args).await?;
        } else {
            self.ok(repo, ["worktree", "prune"]).await?;
        }
        tracing::info!(worktree = %path.display(), "worktree removed");
        Ok(())
    }

    /// Deletes `branch`; without `force` a branch with commits not merged (into the
    /// checkout's HEAD, or its upstream) is refused with [`GitError::BranchNotMerged`].
    pub async fn delete_branch(
        &self,
        repo: &Path,
        branch: &str,
        force: bool,
    ) -> Result<(), GitError> {
        let flag = if force { "-D" } else { "-d" };
        let out = self
            .run(
                repo,
                ["branch", flag, "--end-of-options", branch],
                &[],
                None,
            )
            .await?;
        if out.status.success() {
            tracing::info!(%branch, "branch deleted");
            return Ok(());
        }
        if out.stderr.contains("is not fully merged") {
            return Err(GitError::BranchNotMerged {
                branch: branch.to_owned(),
            });
        }
        Err(out.failure())
    }
}
