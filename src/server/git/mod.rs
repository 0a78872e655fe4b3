//! Git for projects and session worktrees: the `git` program found once ([`Git`]), and
//! every operation the server needs (worktrees, a session's changes and diffs, commit,
//! discard, merge), each one or a few `git` processes run with an argv, never a shell.
//!
//! Every command runs with `LC_ALL=C` (git's messages are matched in a few places),
//! `GIT_TERMINAL_PROMPT=0` (nothing may wait for a password), `GIT_OPTIONAL_LOCKS=0` (a
//! status we ask for must not take the index lock an agent's own git needs) and
//! `core.quotepath=off` (names come back as they are, not octal-escaped).

mod changes;
mod error;
mod merge;
pub mod parse;
#[cfg(test)]
mod tests;
mod worktree;

pub use error::GitError;
pub use parse::{StatusEntry, StatusKind, WorktreeEntry};

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// The oldest git with everything used here (`merge-tree --write-tree`).
const MIN_VERSION: (u32, u32) = (2, 38);

/// How long one git command may take; a hook or a huge checkout could take long, but
/// nothing should hang the server for ever.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// The identity commits get in a repository with none configured.
const FALLBACK_NAME: &str = "Switchboard";
const FALLBACK_EMAIL: &str = "switchboard@localhost";

/// The git program: found once, then used for every repository.
#[derive(Debug, Clone)]
pub struct Git {
    path: PathBuf,
    version: String,
    /// Extra environment for every command (tests: no global config).
    env: Vec<(&'static str, &'static str)>,
}

/// What a project's folder is to git.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectGit {
    /// Whether the folder is a repository's top level.
    pub is_git: bool,
    /// The branch its checkout is on (`None`: detached, or not a repository).
    pub head_branch: Option<String>,
    /// Its local branches, sorted.
    pub branches: Vec<String>,
    /// Whether HEAD has a commit.
    pub has_commits: bool,
}

/// One finished command.
struct Output {
    status: ExitStatus,
    /// Stdout, or its first bytes when a limit was given.
    stdout: Vec<u8>,
    /// How many bytes stdout had in all.
    stdout_len: u64,
    stderr: String,
    command: String,
}

impl Output {
    /// The exit code (`None`: killed by a signal).
    fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Stdout as text, trimmed.
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).trim().to_owned()
    }

    /// The error for a command that did not do what was asked.
    fn failure(&self) -> GitError {
        GitError::Failed {
            command: self.command.clone(),
            status: self.status.to_string(),
            stderr: trimmed_stderr(&self.stderr),
        }
    }

    /// This output if the command succeeded, else its error.
    fn checked(self) -> Result<Output, GitError> {
        if self.status.success() {
            Ok(self)
        } else {
            Err(self.failure())
        }
    }
}

/// Git's stderr for a message: trimmed, hints dropped, at most a few lines.
fn trimmed_stderr(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
        .collect();
    let kept = &lines[lines.len().saturating_sub(6)..];
    if kept.is_empty() {
        "no message".to_owned()
    } else {
        kept.join("; ")
    }
}

/// The command for messages and logs: its arguments, shortened (a commit message may be
/// long).
fn describe(args: &[OsString]) -> String {
    let joined = args
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    match joined.char_indices().nth(120) {
        Some((cut, _)) => format!("{}...", &joined[..cut]),
        None => joined,
    }
}

impl Git {
    /// Finds git (`SWITCHBOARD_GIT`, else `git` on PATH) and asks its version.
    pub async fn detect() -> Result<Git, GitError> {
        let path = match std::env::var_os("SWITCHBOARD_GIT").filter(|p| !p.is_empty()) {
            Some(path) => PathBuf::from(path),
            None => super::agent::find_on_path("git")
                .map(PathBuf::from)
                .ok_or(GitError::NotFound)?,
        };
        let mut git = Git {
            path,
            version: String::new(),
            env: Vec::new(),
        };
        let out = git.run(Path::new("."), ["--version"], &[], None).await?;
        let out = out.checked()?;
        let text = out.text();
        let version = text
            .strip_prefix("git version ")
            .unwrap_or(&text)
            .to_owned();
        let numbers: Vec<u32> = version
            .split('.')
            .take(2)
            .map_while(|n| n.parse().ok())
            .collect();
        match numbers.as_slice() {
            [major, minor] if (*major, *minor) >= MIN_VERSION => {}
            [_, _] => return Err(GitError::TooOld { found: version }),
            _ => {
                return Err(GitError::Unexpected {
                    command: "--version".into(),
                    detail: text,
                })
            }
        }
        tracing::debug!(path = %git.path.display(), %version, "git found");
        git.version = version;
        Ok(git)
    }

    /// This git with the user's global and the system config ignored, as on a machine
    /// where nothing is configured.
    #[cfg(test)]
    fn unconfigured(mut self) -> Git {
        self.env = vec![
            ("GIT_CONFIG_GLOBAL", "/dev/null"),
            ("GIT_CONFIG_NOSYSTEM", "1"),
        ];
        self
    }

    /// The program's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its version ("2.47.3").
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Runs `git <config...> <args>` in `dir` and waits for it. `config` is `-c` pairs
    /// (identity); stdout past `limit` bytes is counted, not kept.
    async fn run<I, S>(
        &self,
        dir: &Path,
        args: I,
        config: &[String],
        limit: Option<usize>,
    ) -> Result<Output, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let command = describe(&args);
        let mut cmd = tokio::process::Command::new(&self.path);
        cmd.arg("-c").arg("core.quotepath=off");
        for pair in config {
            cmd.arg("-c").arg(pair);
        }
        // A server started from a git hook inherits these; they would point every command
        // at that other repository.
        for var in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_COMMON_DIR",
        ] {
            cmd.env_remove(var);
        }
        cmd.args(&args)
            .current_dir(dir)
            .env("LC_ALL", "C")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_OPTIONAL_LOCKS", "0")
            .envs(self.env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let spawn_error = |source| GitError::Spawn {
            program: self.path.display().to_string(),
            source,
        };
        let mut child = cmd.spawn().map_err(spawn_error)?;
        let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take())
        else {
            return Err(spawn_error(std::io::Error::other("no pipes")));
        };
        let finished = async {
            let read_out = async {
                let mut kept = Vec::new();
                let mut total = 0u64;
                let mut chunk = vec![0u8; 64 * 1024];
                loop {
                    let n = stdout.read(&mut chunk).await?;
                    if n == 0 {
                        break;
                    }
                    total += n as u64;
                    let room = limit.map_or(n, |l| l.saturating_sub(kept.len()).min(n));
                    kept.extend_from_slice(&chunk[..room]);
                }
                Ok::<_, std::io::Error>((kept, total))
            };
            let read_err = async {
                let mut buf = Vec::new();
                stderr.read_to_end(&mut buf).await.map(|_| buf)
            };
            let (out, err) = tokio::join!(read_out, read_err);
            let status = child.wait().await?;
            Ok::<_, std::io::Error>((out?, err?, status))
        };
        let ((stdout, stdout_len), stderr, status) =
            match tokio::time::timeout(COMMAND_TIMEOUT, finished).await {
                Err(_) => {
                    tracing::warn!(%command, "git timed out");
                    return Err(GitError::TimedOut { command });
                }
                Ok(result) => result.map_err(spawn_error)?,
            };
        let stderr = String::from_utf8_lossy(&stderr).into_owned();
        if !status.success() {
            tracing::debug!(%command, %status, stderr = %trimmed_stderr(&stderr), "git exited");
        }
        Ok(Output {
            status,
            stdout,
            stdout_len,
            stderr,
            command,
        })
    }

    /// Runs a command that must succeed; its stdout.
    async fn ok<I, S>(&self, dir: &Path, args: I) -> Result<Output, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run(dir, args, &[], None).await?.checked()
    }

    /// Runs a yes/no command (`merge-base --is-ancestor`, `show-ref --verify`): exit 0 is
    /// yes, 1 is no, anything else an error.
    async fn yes_no<I, S>(&self, dir: &Path, args: I) -> Result<bool, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.run(dir, args, &[], None).await?;
        match out.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(out.failure()),
        }
    }

    /// The `-c` pairs that give commits an identity where the repository (with the user's
    /// global config) has none; empty when both are configured.
    async fn identity(&self, dir: &Path) -> Result<Vec<String>, GitError> {
        let out = self
            .run(
                dir,
                ["config", "--get-regexp", r"^user\.(name|email)$"],
                &[],
                None,
            )
            .await?;
        // Exit 1: neither is set.
        if !matches!(out.code(), Some(0 | 1)) {
            return Err(out.failure());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let has = |key: &str| {
            text.lines().any(|l| {
                l.split_once(' ')
                    .is_some_and(|(k, v)| k == key && !v.trim().is_empty())
            })
        };
        let mut pairs = Vec::new();
        if !has("user.name") {
            pairs.push(format!("user.name={FALLBACK_NAME}"));
        }
        if !has("user.email") {
            pairs.push(format!("user.email={FALLBACK_EMAIL}"));
        }
        Ok(pairs)
    }

    /// The top level of the repository `dir` is in (`None`: not in one, or `dir` is
    /// missing).
    pub async fn top_level(&self, dir: &Path) -> Option<PathBuf> {
        let out = self.ok(dir, ["rev-parse", "--show-toplevel"]).await.ok()?;
        let top = out.text();
        (!top.is_empty()).then(|| PathBuf::from(top))
    }

    /// The top level of `dir`'s repository, or the error for a folder outside one.
    async fn top_or_err(&self, dir: &Path) -> Result<PathBuf, GitError> {
        self.top_level(dir)
            .await
            .ok_or_else(|| GitError::NotARepository {
                dir: dir.to_owned(),
            })
    }

    /// The branch `dir`'s checkout is on (`None`: detached).
    async fn current_branch(&self, dir: &Path) -> Result<Option<String>, GitError> {
        let out = self
            .run(dir, ["symbolic-ref", "--short", "-q", "HEAD"], &[], None)
            .await?;
        match out.code() {
            Some(0) => Ok(Some(out.text())),
            Some(1) => Ok(None),
            _ => Err(out.failure()),
        }
    }

    /// The full oid of a commit (`None`: no such commit, e.g. HEAD of an empty repository).
    async fn commit_oid(&self, dir: &Path, rev: &str) -> Result<Option<String>, GitError> {
        let spec = format!("{rev}^{{commit}}");
        let out = self
            .run(
                dir,
                ["rev-parse", "--verify", "-q", "--end-of-options", &spec],
                &[],
                None,
            )
            .await?;
        match out.code() {
            Some(0) => Ok(Some(out.text())),
            Some(1) => Ok(None),
            _ => Err(out.failure()),
        }
    }

    /// The abbreviated oid of HEAD.
    async fn short_head(&self, dir: &Path) -> Result<String, GitError> {
        Ok(self.ok(dir, ["rev-parse", "--short", "HEAD"]).await?.text())
    }

    /// Whether `refs/heads/<branch>` exists.
    async fn branch_exists(&self, dir: &Path, branch: &str) -> Result<bool, GitError> {
        let full = format!("refs/heads/{branch}");
        self.yes_no(dir, ["show-ref", "--verify", "--quiet", &full])
            .await
    }

    /// What `dir` is to git: whether it is a repository's top level, its branch, its
    /// branches, whether it has a commit.
    pub async fn project_state(&self, dir: &Path) -> Result<ProjectGit, GitError> {
        let Some(top) = self.top_level(dir).await else {
            return Ok(ProjectGit::default());
        };
        // rev-parse gives the real path; compare with the folder's.
        let canonical = tokio::fs::canonicalize(dir)
            .await
            .map_err(|source| GitError::Io {
                path: dir.to_owned(),
                source,
            })?;
        if canonical != top {
            return Ok(ProjectGit::default());
        }
        let head_branch = self.current_branch(dir).await?;
        let refs = self
            .ok(dir, ["for-each-ref", "--format=%(refname)", "refs/heads/"])
            .await?;
        // The full refname, not `refname:short`: that one prints `heads/x` when a tag x
        // exists too.
        let mut branches: Vec<String> = String::from_utf8_lossy(&refs.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("refs/heads/"))
            .map(str::to_owned)
            .collect();
        branches.sort();
        let has_commits = self.commit_oid(dir, "HEAD").await?.is_some();
        Ok(ProjectGit {
            is_git: true,
            head_branch,
            branches,
            has_commits,
        })
    }

    /// Makes `dir` a repository with one empty commit ("Playground"), so worktrees can
    /// branch from it. A repository with a commit is left alone.
    pub async fn init_repo(&self, dir: &Path) -> Result<(), GitError> {
        let state = self.project_state(dir).await?;
        if state.is_git && state.has_commits {
            return Ok(());
        }
        if !state.is_git {
            self.ok(dir, ["init", "--quiet"]).await?;
        }
        let identity = self.identity(dir).await?;
        self.run(
            dir,
            [
                "commit",
                "--quiet",
                "--allow-empty",
                "--no-verify",
                "-m",
                "Playground",
            ],
            &identity,
            None,
        )
        .await?
        .checked()?;
        tracing::info!(dir = %dir.display(), "git repository made");
        Ok(())
    }
}
