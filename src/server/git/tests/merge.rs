//! Merging a session's branch into the project's checkout: fast-forward, merge commit,
//! conflict (nothing changes), and the refusals that protect the checkout.

use super::{git, repo_and_worktree, sh, write};
use crate::protocol::GitOutcome;
use crate::server::git::GitError;

/// Both checkouts' HEADs and `git status --porcelain` output, to show nothing changed.
fn snapshot(repo: &std::path::Path, wt: &std::path::Path) -> [String; 4] {
    [
        sh(repo, &["rev-parse", "HEAD"]),
        sh(repo, &["status", "--porcelain", "--untracked-files=all"]),
        sh(wt, &["rev-parse", "HEAD"]),
        sh(wt, &["status", "--porcelain", "--untracked-files=all"]),
    ]
}

#[tokio::test]
async fn a_branch_ahead_of_its_base_is_fast_forwarded() {
    let git = git().await;
    let (_dir, repo, wt, _) = repo_and_worktree(&git).await;
    assert!(git
        .is_merged(&repo, "session", "main")
        .await
        .expect("merged?"));
    write(&wt, "feature.txt", "f\n");
    git.commit(&wt, "feature").await.expect("commit");
    assert!(!git
        .is_merged(&repo, "session", "main")
        .await
        .expect("merged?"));

    let outcome = git.merge(&repo, "session", "main").await.expect("merge");
    let tip = sh(&wt, &["rev-parse", "--short", "HEAD"]);
    assert_eq!(
        outcome,
        GitOutcome::Merged {
            into: "main".into(),
            fast_forward: true,
            commit: tip.clone(),
        }
    );
    assert_eq!(sh(&repo, &["rev-parse", "--short", "HEAD"]), tip);
    assert_eq!(
        std::fs::read_to_string(repo.join("feature.txt")).expect("read"),
        "f\n"
    );
    assert!(git
        .is_merged(&repo, "session", "main")
        .await
        .expect("merged?"));

    // Merging again does nothing.
    let again = git.merge(&repo, "session", "main").await.expect("merge");
    assert_eq!(
        again,
        GitOutcome::Merged {
            into: "main".into(),
            fast_forward: true,
            commit: tip,
        }
    );
}

#[tokio::test]
async fn diverged_branches_get_a_merge_commit() {
    let git = git().await;
    let (_dir, repo, wt, _) = repo_and_worktree(&git).await;
    write(&wt, "feature.txt", "f\n");
    git.commit(&wt, "feature").await.expect("commit");
    write(&repo, "mainline.txt", "m\n");
    sh(&repo, &["add", "-A"]);
    sh(&repo, &["commit", "-q", "-m", "mainline"]);
    // An untracked file in the checkout does not stop a merge that leaves it alone.
    write(&repo, "scratch.txt", "s\n");
    let main_before = sh(&repo, &["rev-parse", "HEAD"]);
    let session = sh(&wt, &["rev-parse", "HEAD"]);

    let outcome = git.merge(&repo, "session", "main").await.expect("merge");
    let head = sh(&repo, &["rev-parse", "--short", "HEAD"]);
    assert_eq!(
        outcome,
        GitOutcome::Merged {
            into: "main".into(),
            fast_forward: false,
            commit: head,
        }
    );
    assert_eq!(
        sh(&repo, &["log", "-1", "--format=%P"]),
        format!("{main_before} {session}")
    );
    assert_eq!(
        sh(&repo, &["log", "-1", "--format=%s"]),
        "Merge branch 'session'"
    );
    assert!(repo.join("feature.txt").is_file() && repo.join("mainline.txt").is_file());
    assert_eq!(
        sh(&repo, &["status", "--porcelain", "--untracked-files=all"]),
        "?? scratch.txt",
        "the checkout's files match its new HEAD"
    );
    assert_eq!(
        sh(&wt, &["rev-parse", "HEAD"]),
        session,
        "the session's branch stays"
    );
    assert!(git
        .is_merged(&repo, "session", "main")
        .await
        .expect("merged?"));
}

#[tokio::test]
async fn a_conflict_changes_nothing_and_names_the_files() {
    let git = git().await;
    let (_dir, repo, wt, _) = repo_and_worktree(&git).await;
    write(&wt, "a.txt", "one\nsession\nthree\n");
    write(&wt, "only-session.txt", "s\n");
    git.commit(&wt, "session").await.expect("commit");
    write(&wt, "pending.txt", "uncommitted in the worktree\n");
    write(&repo, "a.txt", "one\nmain\nthree\n");
    sh(&repo, &["commit", "-q", "-am", "main"]);
    let before = snapshot(&repo, &wt);

    let outcome = git.merge(&repo, "session", "main").await.expect("merge");
    assert_eq!(
        outcome,
        GitOutcome::Conflict {
            into: "main".into(),
            files: vec!["a.txt".into()],
        }
    );
    assert_eq!(snapshot(&repo, &wt), before);
    assert!(!repo.join("only-session.txt").exists());
    assert!(!git
        .is_merged(&repo, "session", "main")
        .await
        .expect("merged?"));
}

#[tokio::test]
async fn a_dirty_or_elsewhere_checkout_is_refused_and_untouched() {
    let git = git().await;
    let (_dir, repo, wt, _) = repo_and_worktree(&git).await;
    write(&wt, "feature.txt", "f\n");
    git.commit(&wt, "feature").await.expect("commit");

    write(&repo, "a.txt", "edited by hand\n");
    let before = snapshot(&repo, &wt);
    let err = git
        .merge(&repo, "session", "main")
        .await
        .expect_err("dirty");
    assert!(matches!(err, GitError::DirtyCheckout { .. }), "{err}");
    assert!(err.to_string().contains("a.txt"), "{err}");
    assert_eq!(snapshot(&repo, &wt), before);

    sh(&repo, &["checkout", "-q", "--", "a.txt"]);
    sh(&repo, &["checkout", "-q", "-b", "elsewhere"]);
    let before = snapshot(&repo, &wt);
    let err = git
        .merge(&repo, "session", "main")
        .await
        .expect_err("wrong branch");
    assert!(
        matches!(&err, GitError::WrongBranch { actual, .. } if actual.as_deref() == Some("elsewhere")),
        "{err}"
    );
    assert_eq!(snapshot(&repo, &wt), before);
    assert_eq!(
        sh(&repo, &["rev-parse", "main"]),
        sh(&repo, &["rev-parse", "elsewhere"])
    );
}
