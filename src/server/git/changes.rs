//! What a session changed in its folder against a base commit: the summary, one file's
//! diff, and keeping (commit) or dropping (discard) it.

use super::parse::{
    hunks_only, parse_name_status, parse_numstat, parse_status_v2, says_binary, NameStatusEntry,
    StatusKind,
};
use super::{Git, GitError};
use crate::protocol::{ChangeStatus, ChangeSummary, DiffBody, FileChange, MAX_DIFF_BYTES};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use tokio::io::AsyncReadExt;

/// How much of a file is looked at for a NUL to call it binary (git's own rule).
const BINARY_PROBE: usize = 8000;

impl Git {
    /// Every file in `dir`'s working tree that differs from `base_commit` (tracked:
    /// staged, unstaged and committed since the base; and untracked files), by path.
    /// With `branch` = (session branch, base branch), also how many commits the branch has
    /// that its base branch lacks. `base_label` is what the summary says it compares with.
    pub async fn changes(
        &self,
        dir: &Path,
        base_commit: &str,
        branch: Option<(&str, &str)>,
        base_label: &str,
    ) -> Result<ChangeSummary, GitError> {
        let top = self.top_or_err(dir).await?;
        let names = self.name_status(&top, base_commit).await?;
        let numstat = self
            .ok(
                &top,
                [
                    "diff",
                    "--no-ext-diff",
                    "--no-textconv",
                    "-M",
                    "--numstat",
                    "-z",
                    "--end-of-options",
                    base_commit,
                ],
            )
            .await?;
        // By path: an agent may change thousands of files.
        let counts: HashMap<String, (Option<u32>, Option<u32>)> = parse_numstat(&numstat.stdout)
            .into_iter()
            .map(|c| (c.path, (c.added, c.removed)))
            .collect();
        let status = self.status(&top, "all").await?;

        let mut files: Vec<FileChange> = names
            .into_iter()
            .map(|entry| {
                let (added, removed) = counts.get(&entry.path).copied().unwrap_or_default();
                FileChange {
                    status: change_status(&entry),
                    old_path: entry.old_path,
                    added,
                    removed,
                    path: entry.path,
                }
            })
            .collect();
        let tracked: HashSet<String> = files.iter().map(|f| f.path.clone()).collect();
        for entry in status.iter().filter(|e| e.kind == StatusKind::Untracked) {
            // A file removed from the index but still on disk is both "deleted" and
            // "untracked"; one row per path.
            if tracked.contains(entry.path.as_str()) {
                continue;
            }
            let lines = count_lines(&top.join(&entry.path)).await?;
            files.push(FileChange {
                path: entry.path.clone(),
                old_path: None,
                status: ChangeStatus::Untracked,
                added: lines,
                removed: lines.map(|_| 0),
            });
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));

        let unmerged_commits = match branch {
            Some((branch, base_branch)) => self.unmerged_commits(&top, branch, base_branch).await,
            None => 0,
        };
        Ok(ChangeSummary {
            base: base_label.to_owned(),
            files,
            unmerged_commits,
            uncommitted: u32::try_from(status.len()).unwrap_or(u32::MAX),
        })
    }

    /// `rev-list --count base..branch`; 0 when git cannot tell (a branch gone, say): the
    /// count is a hint for people, not worth failing the summary for.
    async fn unmerged_commits(&self, dir: &Path, branch: &str, base_branch: &str) -> u32 {
        let range = format!("refs/heads/{base_branch}..refs/heads/{branch}");
        match self.ok(dir, ["rev-list", "--count", &range]).await {
            Ok(out) => out.text().parse().unwrap_or(0),
            Err(e) => {
                tracing::debug!("cannot count unmerged commits: {e}");
                0
            }
        }
    }

    /// `git diff -M --name-status -z <base>` in `top`.
    async fn name_status(&self, top: &Path, base: &str) -> Result<Vec<NameStatusEntry>, GitError> {
        let out = self
            .ok(
                top,
                [
                    "diff",
                    "--no-ext-diff",
                    "-M",
                    "--name-status",
                    "-z",
                    "--end-of-options",
                    base,
                ],
            )
            .await?;
        Ok(parse_name_status(&out.stdout))
    }

    /// `git status --porcelain=v2 -z --untracked-files=<untracked>` in `dir`.
    pub(super) async fn status(
        &self,
        dir: &Path,
        untracked: &str,
    ) -> Result<Vec<super::StatusEntry>, GitError> {
        let flag = format!("--untracked-files={untracked}");
        let out = self
            .ok(dir, ["status", "--porcelain=v2", "-z", &flag])
            .await?;
        Ok(parse_status_v2(&out.stdout))
    }

    /// One changed file's diff against `base_commit`: its hunks, or why they are not
    /// shown (binary, too large). `path` must be one of [`Git::changes`]' files.
    pub async fn diff(
        &self,
        dir: &Path,
        base_commit: &str,
        path: &str,
    ) -> Result<DiffBody, GitError> {
        let top = self.top_or_err(dir).await?;
        let names = self.name_status(&top, base_commit).await?;
        let out = if let Some(entry) = names.iter().find(|e| e.path == path) {
            // Both paths of a rename, or git sees a deletion and an addition.
            let mut args = vec![
                "--literal-pathspecs",
                "diff",
                "--no-ext-diff",
                "--no-color",
                "-M",
                "--end-of-options",
                base_commit,
                "--",
                &entry.path,
            ];
            args.extend(entry.old_path.as_deref());
            self.run(&top, args, &[], Some(MAX_DIFF_BYTES + 1))
                .await?
                .checked()?
        } else {
            let untracked = self
                .status(&top, "all")
                .await?
                .into_iter()
                .any(|e| e.kind == StatusKind::Untracked && e.path == path);
            if !untracked {
                return Err(GitError::Unchanged {
                    path: path.to_owned(),
                });
            }
            let out = self
                .run(
                    &top,
                    [
                        "diff",
                        "--no-ext-diff",
                        "--no-color",
                        "--no-index",
                        "--",
                        "/dev/null",
                        path,
                    ],
                    &[],
                    Some(MAX_DIFF_BYTES + 1),
                )
                .await?;
            // --no-index exits 1 when the files differ, which they do.
            match out.code() {
                Some(0 | 1) => out,
                _ => return Err(out.failure()),
            }
        };
        if out.stdout_len > MAX_DIFF_BYTES as u64 {
            return Ok(DiffBody::TooLarge {
                bytes: out.stdout_len,
            });
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let hunks = hunks_only(&text);
        if hunks.is_empty() && says_binary(&text) {
            return Ok(DiffBody::Binary);
        }
        Ok(DiffBody::Text { text: hunks })
    }

    /// Commits everything in `dir` (`add -A`, then commit); the new commit, abbreviated.
    pub async fn commit(&self, dir: &Path, message: &str) -> Result<String, GitError> {
        let top = self.top_or_err(dir).await?;
        self.ok(&top, ["add", "-A"]).await?;
        let identity = self.identity(&top).await?;
        let out = self
            .run(&top, ["commit", "--quiet", "-m", message], &identity, None)
            .await?;
        if !out.status.success() {
            // Git says so on stdout, with exit 1.
            let said = String::from_utf8_lossy(&out.stdout);
            if said.contains("nothing to commit") || said.contains("no changes added") {
                return Err(GitError::NothingToCommit);
            }
            return Err(out.failure());
        }
        let commit = self.short_head(&top).await?;
        tracing::info!(dir = %top.display(), %commit, "committed");
        Ok(commit)
    }

    /// Puts one file (or, with `None`, everything) back as it is in `base_commit`: an
    /// untracked file is removed; a tracked one restored in the index and the working tree
    /// (a file the base lacks is removed, a rename's old path comes back).
    pub async fn discard(
        &self,
        dir: &Path,
        base_commit: &str,
        change: Option<&FileChange>,
    ) -> Result<(), GitError> {
        let top = self.top_or_err(dir).await?;
        let source = format!("--source={base_commit}");
        match change {
            None => {
                // Restore refuses a pathspec that matches nothing (the Playground's empty
                // base, with only untracked files), so only when something tracked differs.
                if !self.name_status(&top, base_commit).await?.is_empty() {
                    self.ok(
                        &top,
                        ["restore", &source, "--staged", "--worktree", "--", ":/"],
                    )
                    .await?;
                }
                self.ok(&top, ["clean", "-f", "-d", "--", ":/"]).await?;
            }
            Some(change) if change.status == ChangeStatus::Untracked => {
                self.ok(
                    &top,
                    ["--literal-pathspecs", "clean", "-f", "--", &change.path],
                )
                .await?;
            }
            Some(change) => {
                let mut args = vec![
                    "--literal-pathspecs",
                    "restore",
                    &source,
                    "--staged",
                    "--worktree",
                    "--",
                    &change.path,
                ];
                args.extend(change.old_path.as_deref());
                self.ok(&top, args).await?;
            }
        }
        tracing::info!(
            dir = %top.display(),
            path = change.map_or("(everything)", |c| c.path.as_str()),
            "discarded"
        );
        Ok(())
    }
}

/// The protocol's status for a name-status letter.
fn change_status(entry: &NameStatusEntry) -> ChangeStatus {
    match entry.status {
        'A' | 'C' => ChangeStatus::Added,
        'D' => ChangeStatus::Deleted,
        'R' => ChangeStatus::Renamed,
        // M, T (type change), U (unmerged), X.
        _ => ChangeStatus::Modified,
    }
}

/// The number of lines of an untracked file (`None`: binary, git's rule: a NUL in its
/// first 8000 bytes). Read in chunks: an agent may leave a huge file.
async fn count_lines(path: &Path) -> Result<Option<u32>, GitError> {
    let io_error = |source| GitError::Io {
        path: path.to_owned(),
        source,
    };
    // A symlink is one line (its target's name), as git shows it; it is never followed.
    match tokio::fs::symlink_metadata(path).await {
        Ok(meta) if meta.file_type().is_symlink() => return Ok(Some(1)),
        Ok(meta) if !meta.is_file() => return Ok(Some(0)),
        _ => {}
    }
    let mut file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        // Gone since status ran, or a symlink to nothing: count it as empty.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Some(0)),
        Err(e) => return Err(io_error(e)),
    };
    let mut chunk = vec![0u8; 64 * 1024];
    let (mut seen, mut lines, mut last) = (0usize, 0u32, b'\n');
    loop {
        let n = file.read(&mut chunk).await.map_err(io_error)?;
        if n == 0 {
            break;
        }
        let data = &chunk[..n];
        if seen < BINARY_PROBE && data[..n.min(BINARY_PROBE - seen)].contains(&0) {
            return Ok(None);
        }
        seen = seen.saturating_add(n);
        lines = lines.saturating_add(
            u32::try_from(data.iter().filter(|&&b| b == b'\n').count()).unwrap_or(u32::MAX),
        );
        last = data[n - 1];
    }
    // A last line without a newline counts too.
    Ok(Some(lines.saturating_add(u32::from(last != b'\n'))))
}
