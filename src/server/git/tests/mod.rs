//! The git operations on real repositories in temporary folders, one file per subject.
//! The parsers' own tests are in `parse/tests.rs`.

mod changes;
mod merge;
mod worktree;

use super::Git;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The git handle, found as the server finds it.
async fn git() -> Git {
    Git::detect().await.expect("git is installed")
}

/// Runs plain git in `dir` for a test's setup or check (with its own identity); stdout,
/// trimmed. Panics when git fails: the setup is wrong then.
fn sh(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "core.quotepath=off",
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@localhost",
        ])
        .args(args)
        .current_dir(dir)
        .env("LC_ALL", "C")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Writes a file (making its folders).
fn write(dir: &Path, path: &str, content: impl AsRef<[u8]>) {
    let path = dir.join(path);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, content).expect("write");
}

/// A temporary folder, canonical (git answers real paths).
fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().canonicalize().expect("canonical");
    (dir, path)
}

/// A repository `repo` on `main` with one commit holding `a.txt` (3 lines), `keep.txt`
/// and `image.bin` (binary).
fn repo() -> (tempfile::TempDir, PathBuf) {
    let (dir, root) = temp();
    let repo = root.join("repo");
    std::fs::create_dir(&repo).expect("mkdir");
    sh(&repo, &["init", "-q", "-b", "main"]);
    write(&repo, "a.txt", "one\ntwo\nthree\n");
    write(&repo, "keep.txt", "keep\n");
    write(&repo, "image.bin", b"\x89PNG\0\0\x01");
    sh(&repo, &["add", "-A"]);
    sh(&repo, &["commit", "-q", "-m", "base"]);
    (dir, repo)
}

/// A repository and one worktree of it on `session` (from `main`), at `<tmp>/wt`.
async fn repo_and_worktree(git: &Git) -> (tempfile::TempDir, PathBuf, PathBuf, String) {
    let (dir, repo) = repo();
    let wt = repo.parent().expect("parent").join("wt");
    let (_, base) = git
        .create_worktree(&repo, &wt, "session", None)
        .await
        .expect("worktree");
    (dir, repo, wt, base)
}

#[tokio::test]
async fn detect_finds_a_recent_git() {
    let git = git().await;
    assert!(git.path().is_absolute() || git.path().exists());
    let major: u32 = git
        .version()
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .expect("a version number");
    assert!(major >= 2, "version {}", git.version());
}

#[tokio::test]
async fn project_state_of_a_repository_a_subfolder_and_a_plain_folder() {
    let git = git().await;
    let (_dir, repo) = repo();
    sh(&repo, &["branch", "other"]);
    let state = git.project_state(&repo).await.expect("state");
    assert!(state.is_git);
    assert!(state.has_commits);
    assert_eq!(state.head_branch.as_deref(), Some("main"));
    assert_eq!(state.branches, vec!["main", "other"]);
    assert_eq!(git.top_level(&repo).await, Some(repo.clone()));

    std::fs::create_dir(repo.join("sub")).expect("mkdir");
    let sub = git.project_state(&repo.join("sub")).await.expect("state");
    assert!(!sub.is_git, "a subfolder is not a repository's top level");
    assert_eq!(git.top_level(&repo.join("sub")).await, Some(repo.clone()));

    let (_plain_dir, plain) = temp();
    assert_eq!(
        git.project_state(&plain).await.expect("state"),
        Default::default()
    );
    assert_eq!(git.top_level(&plain).await, None);
}

#[tokio::test]
async fn init_repo_makes_one_commit_and_is_idempotent() {
    // With no identity configured anywhere, as on a fresh machine.
    let git = git().await.unconfigured();
    let (_dir, root) = temp();
    git.init_repo(&root).await.expect("init");
    let state = git.project_state(&root).await.expect("state");
    assert!(state.is_git && state.has_commits);
    let head = sh(&root, &["rev-parse", "HEAD"]);
    assert_eq!(sh(&root, &["log", "--format=%s"]), "Playground");
    git.init_repo(&root).await.expect("again");
    assert_eq!(sh(&root, &["rev-parse", "HEAD"]), head);
    assert_eq!(sh(&root, &["rev-list", "--count", "HEAD"]), "1");

    // A repository without a commit gets its first one.
    let (_dir2, empty) = temp();
    sh(&empty, &["init", "-q", "-b", "trunk"]);
    git.init_repo(&empty).await.expect("init");
    let state = git.project_state(&empty).await.expect("state");
    assert_eq!(state.head_branch.as_deref(), Some("trunk"));
    assert!(state.has_commits);
}

#[tokio::test]
async fn commits_get_an_identity_only_where_none_is_configured() {
    let git = git().await.unconfigured();
    let (_dir, repo) = repo();
    assert_eq!(
        git.identity(&repo).await.expect("identity"),
        vec!["user.name=Switchboard", "user.email=switchboard@localhost"]
    );
    write(&repo, "new.txt", "x\n");
    git.commit(&repo, "first").await.expect("commit");
    assert_eq!(
        sh(&repo, &["log", "-1", "--format=%an <%ae>|%cn <%ce>"]),
        "Switchboard <switchboard@localhost>|Switchboard <switchboard@localhost>"
    );
    // A repository's own identity is used as it is; half of one is completed.
    sh(&repo, &["config", "user.name", "Repo Person"]);
    assert_eq!(
        git.identity(&repo).await.expect("identity"),
        vec!["user.email=switchboard@localhost"]
    );
    sh(&repo, &["config", "user.email", "repo@example.com"]);
    assert!(git.identity(&repo).await.expect("identity").is_empty());
    write(&repo, "new.txt", "y\n");
    git.commit(&repo, "second").await.expect("commit");
    assert_eq!(
        sh(&repo, &["log", "-1", "--format=%an <%ae>"]),
        "Repo Person <repo@example.com>"
    );
}
