//! Merging a session's branch into its base branch in the project's checkout: a
//! fast-forward when possible, else a merge commit made without touching any working tree
//! (`merge-tree`, `commit-tree`) and then fast-forwarded to. A conflict changes nothing.

use super::parse::parse_merge_tree;
use super::{Git, GitError};
use crate::protocol::GitOutcome;
use std::path::Path;

/// How many changed files a refusal names.
const DIRTY_NAMED: usize = 5;

impl Git {
    /// Merges `branch` into `base_branch` in `repo`, the project's main checkout, which
    /// must be on `base_branch` with no uncommitted tracked changes (it is never touched
    /// otherwise). A conflict is answered as [`GitOutcome::Conflict`] with nothing changed
    /// anywhere. A branch already merged is answered as merged, with nothing done.
    pub async fn merge(
        &self,
        repo: &Path,
        branch: &str,
        base_branch: &str,
    ) -> Result<GitOutcome, GitError> {
        let top = self.top_or_err(repo).await?;
        let on = self.current_branch(&top).await?;
        if on.as_deref() != Some(base_branch) {
            return Err(GitError::WrongBranch {
                repo: top,
                expected: base_branch.to_owned(),
                actual: on,
            });
        }
        let dirty = self.status(&top, "no").await?;
        if !dirty.is_empty() {
            return Err(GitError::DirtyCheckout {
                repo: top,
                files: dirty
                    .into_iter()
                    .take(DIRTY_NAMED)
                    .map(|e| e.path)
                    .collect(),
            });
        }
        let base_ref = format!("refs/heads/{base_branch}");
        let branch_ref = format!("refs/heads/{branch}");
        let merged = |fast_forward, commit| GitOutcome::Merged {
            into: base_branch.to_owned(),
            fast_forward,
            commit,
        };
        if self.is_ancestor(&top, &branch_ref, &base_ref).await? {
            return Ok(merged(true, self.short_head(&top).await?));
        }
        if self.is_ancestor(&top, &base_ref, &branch_ref).await? {
            self.fast_forward(&top, &branch_ref).await?;
            let commit = self.short_head(&top).await?;
            tracing::info!(%branch, into = %base_branch, %commit, "merged (fast-forward)");
            return Ok(merged(true, commit));
        }

        let out = self
            .run(
                &top,
                [
                    "merge-tree",
                    "--write-tree",
                    "--name-only",
                    "-z",
                    &base_ref,
                    &branch_ref,
                ],
                &[],
                None,
            )
            .await?;
        // Exit 1 is a conflict (the tree is written with markers, but nothing points at
        // it); anything else but 0 is a failure.
        let conflict = match out.code() {
            Some(0) => false,
            Some(1) => true,
            _ => return Err(out.failure()),
        };
        let result = parse_merge_tree(&out.stdout).ok_or_else(|| GitError::Unexpected {
            command: out.command.clone(),
            detail: "no tree".into(),
        })?;
        if conflict {
            tracing::info!(%branch, into = %base_branch, files = result.conflicted.len(), "merge would conflict");
            return Ok(GitOutcome::Conflict {
                into: base_branch.to_owned(),
                files: result.conflicted,
            });
        }

        let identity = self.identity(&top).await?;
        let message = format!("Merge branch '{branch}'");
        let commit = self
            .run(
                &top,
                [
                    "commit-tree",
                    &result.tree,
                    "-p",
                    &base_ref,
                    "-p",
                    &branch_ref,
                    "-m",
                    &message,
                ],
                &identity,
                None,
            )
            .await?
            .checked()?
            .text();
        // The checkout's branch moves only if it is still where it was: a commit made
        // meanwhile makes this fast-forward fail, and nothing changes.
        self.fast_forward(&top, &commit).await?;
        let commit = self.short_head(&top).await?;
        tracing::info!(%branch, into = %base_branch, %commit, "merged");
        Ok(merged(false, commit))
    }

    /// Whether `branch`'s commits are all in `base_branch`.
    pub async fn is_merged(
        &self,
        repo: &Path,
        branch: &str,
        base_branch: &str,
    ) -> Result<bool, GitError> {
        self.is_ancestor(
            repo,
            &format!("refs/heads/{branch}"),
            &format!("refs/heads/{base_branch}"),
        )
        .await
    }

    /// `merge-base --is-ancestor a b`.
    async fn is_ancestor(&self, dir: &Path, a: &str, b: &str) -> Result<bool, GitError> {
        self.yes_no(dir, ["merge-base", "--is-ancestor", a, b])
            .await
    }

    /// Moves the checkout's branch (and its files) forward to `to`.
    async fn fast_forward(&self, dir: &Path, to: &str) -> Result<(), GitError> {
        self.ok(
            dir,
            [
                "merge",
                "--ff-only",
                "--quiet",
                "--no-edit",
                "--end-of-options",
                to,
            ],
        )
        .await
        .map(drop)
    }
}
