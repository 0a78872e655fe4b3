//! Worktrees: made from HEAD, a branch or a commit; refused without a commit or over an
//! existing branch; removed with their branch.

use super::{git, repo, repo_and_worktree, sh, temp, write};
use crate::server::git::GitError;

#[tokio::test]
async fn a_worktree_from_head_records_its_base() {
    let git = git().await;
    let (_dir, repo) = repo();
    let head = sh(&repo, &["rev-parse", "HEAD"]);
    let wt = repo.parent().expect("parent").join("deep/er/wt one");
    let (base_branch, base) = git
        .create_worktree(&repo, &wt, "switchboard/fix-1234abcd", None)
        .await
        .expect("worktree");
    assert_eq!(base_branch.as_deref(), Some("main"));
    assert_eq!(base, head);
    assert_eq!(sh(&wt, &["rev-parse", "HEAD"]), head);
    assert_eq!(
        sh(&wt, &["symbolic-ref", "--short", "HEAD"]),
        "switchboard/fix-1234abcd"
    );
    assert!(wt.join("a.txt").is_file());

    let list = git.worktrees(&repo).await.expect("list");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].path, repo.display().to_string());
    assert_eq!(list[0].branch.as_deref(), Some("main"));
    assert_eq!(list[1].path, wt.display().to_string());
    assert_eq!(list[1].branch.as_deref(), Some("switchboard/fix-1234abcd"));
    assert_eq!(list[1].head.as_deref(), Some(head.as_str()));
    assert!(!list[1].detached);
}

#[tokio::test]
async fn a_worktree_from_a_named_branch_a_commit_or_a_detached_head() {
    let git = git().await;
    let (_dir, repo) = repo();
    let first = sh(&repo, &["rev-parse", "HEAD"]);
    sh(&repo, &["checkout", "-q", "-b", "dev"]);
    write(&repo, "dev.txt", "dev\n");
    sh(&repo, &["add", "-A"]);
    sh(&repo, &["commit", "-q", "-m", "dev"]);
    let dev = sh(&repo, &["rev-parse", "HEAD"]);
    let root = repo.parent().expect("parent").to_owned();

    let (branch, commit) = git
        .create_worktree(&repo, &root.join("w1"), "s1", Some("main"))
        .await
        .expect("from main");
    assert_eq!(
        (branch.as_deref(), commit.as_str()),
        (Some("main"), first.as_str())
    );

    let (branch, commit) = git
        .create_worktree(&repo, &root.join("w2"), "s2", Some(&first[..10]))
        .await
        .expect("from a commit");
    assert_eq!((branch, commit.as_str()), (None, first.as_str()));

    sh(&repo, &["checkout", "-q", "--detach", "HEAD"]);
    let (branch, commit) = git
        .create_worktree(&repo, &root.join("w3"), "s3", None)
        .await
        .expect("from a detached HEAD");
    assert_eq!((branch, commit), (None, dev));

    let err = git
        .create_worktree(&repo, &root.join("w4"), "s4", Some("no-such-thing"))
        .await
        .expect_err("unknown base");
    assert!(matches!(err, GitError::UnknownBase { .. }), "{err}");
}

#[tokio::test]
async fn refusals_no_commit_existing_branch_bad_name() {
    let git = git().await;
    let (_dir, root) = temp();
    let empty = root.join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    sh(&empty, &["init", "-q", "-b", "main"]);
    let err = git
        .create_worktree(&empty, &root.join("w"), "s", None)
        .await
        .expect_err("no commit");
    assert!(matches!(err, GitError::NoCommits { .. }), "{err}");
    assert!(err.to_string().contains("no commit yet"), "{err}");

    let (_dir2, repo) = repo();
    sh(&repo, &["branch", "taken"]);
    let err = git
        .create_worktree(&repo, &root.join("w"), "taken", None)
        .await
        .expect_err("branch exists");
    assert!(matches!(err, GitError::BranchExists { .. }), "{err}");
    assert!(!root.join("w").exists(), "nothing was made");

    for bad in ["-x", "a..b", "has space", ""] {
        let err = git
            .create_worktree(&repo, &root.join("w"), bad, None)
            .await
            .expect_err("bad name");
        assert!(
            matches!(err, GitError::BadBranchName { .. }),
            "{bad}: {err}"
        );
    }

    let err = git
        .create_worktree(&root, &root.join("w"), "s", None)
        .await
        .expect_err("not a repository");
    assert!(matches!(err, GitError::NotARepository { .. }), "{err}");
}

#[tokio::test]
async fn removing_the_worktree_and_branch_leaves_nothing() {
    let git = git().await;
    let (_dir, repo, wt, _) = repo_and_worktree(&git).await;
    // Uncommitted work and a commit only the branch has.
    write(&wt, "work.txt", "w\n");
    git.commit(&wt, "work").await.expect("commit");
    write(&wt, "scratch.txt", "s\n");

    git.remove_worktree(&repo, &wt).await.expect("remove");
    assert!(!wt.exists());
    let err = git
        .delete_branch(&repo, "session", false)
        .await
        .expect_err("unmerged");
    assert!(matches!(err, GitError::BranchNotMerged { .. }), "{err}");
    assert_eq!(sh(&repo, &["branch", "--list", "session"]), "session");
    git.delete_branch(&repo, "session", true)
        .await
        .expect("forced");

    let list = git.worktrees(&repo).await.expect("list");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].path, repo.display().to_string());
    assert_eq!(sh(&repo, &["branch", "--list"]), "* main");
}

#[tokio::test]
async fn a_worktree_whose_folder_is_gone_is_pruned_and_a_merged_branch_deleted() {
    let git = git().await;
    let (_dir, repo, wt, _) = repo_and_worktree(&git).await;
    std::fs::remove_dir_all(&wt).expect("rm");
    git.remove_worktree(&repo, &wt).await.expect("prune");
    assert_eq!(git.worktrees(&repo).await.expect("list").len(), 1);
    // No commits of its own: merged, so -d is enough.
    git.delete_branch(&repo, "session", false)
        .await
        .expect("delete");
    assert_eq!(sh(&repo, &["branch", "--list"]), "* main");
}
