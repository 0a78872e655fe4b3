//! A session's changes, diffs, commits and discards in a real worktree.

use super::{git, repo, repo_and_worktree, sh, write};
use crate::protocol::{ChangeStatus, DiffBody, FileChange, MAX_DIFF_BYTES};
use crate::server::git::GitError;

fn change(
    path: &str,
    old_path: Option<&str>,
    status: ChangeStatus,
    added: Option<u32>,
    removed: Option<u32>,
) -> FileChange {
    FileChange {
        path: path.to_owned(),
        old_path: old_path.map(str::to_owned),
        status,
        added,
        removed,
    }
}

#[tokio::test]
async fn changes_cover_committed_staged_unstaged_and_untracked_files() {
    let git = git().await;
    let (_dir, _repo, wt, base) = repo_and_worktree(&git).await;
    // Committed on the branch: a rename with one line more.
    sh(&wt, &["mv", "a.txt", "ä renamed.txt"]);
    write(&wt, "ä renamed.txt", "one\ntwo\nthree\nfour\n");
    sh(&wt, &["add", "-A"]);
    sh(&wt, &["commit", "-q", "-m", "rename"]);
    // Staged: a new file. Unstaged: a deletion and a binary change.
    write(&wt, "src/new file.rs", "fn main() {}\n");
    sh(&wt, &["add", "src/new file.rs"]);
    std::fs::remove_file(wt.join("keep.txt")).expect("rm");
    write(&wt, "image.bin", b"\x89PNG\0\0\x02\x03");
    // Untracked: text without a final newline, binary, in a new folder.
    write(&wt, "notes/todo list.md", "a\nb\nc");
    write(&wt, "notes/blob.dat", b"x\0y");

    let summary = git
        .changes(&wt, &base, Some(("session", "main")), "main at base")
        .await
        .expect("changes");
    assert_eq!(summary.base, "main at base");
    assert_eq!(
        summary.files,
        vec![
            change("image.bin", None, ChangeStatus::Modified, None, None),
            change("keep.txt", None, ChangeStatus::Deleted, Some(0), Some(1)),
            change("notes/blob.dat", None, ChangeStatus::Untracked, None, None),
            change(
                "notes/todo list.md",
                None,
                ChangeStatus::Untracked,
                Some(3),
                Some(0)
            ),
            change(
                "src/new file.rs",
                None,
                ChangeStatus::Added,
                Some(1),
                Some(0)
            ),
            change(
                "ä renamed.txt",
                Some("a.txt"),
                ChangeStatus::Renamed,
                Some(1),
                Some(0)
            ),
        ]
    );
    assert_eq!(summary.unmerged_commits, 1);
    // Against HEAD: the new file, the deletion, the binary change, two untracked files.
    assert_eq!(summary.uncommitted, 5);

    // A plain session: compared with HEAD, no branch.
    let plain = git.changes(&wt, "HEAD", None, "HEAD").await.expect("plain");
    assert_eq!(plain.unmerged_commits, 0);
    assert_eq!(plain.files.len(), 5);
    assert!(plain.files.iter().all(|f| f.path != "ä renamed.txt"));
}

#[tokio::test]
async fn two_worktrees_writing_the_same_file_stay_apart() {
    let git = git().await;
    let (_dir, repo) = repo();
    let root = repo.parent().expect("parent").to_owned();
    let (_, base) = git
        .create_worktree(&repo, &root.join("one"), "one", None)
        .await
        .expect("one");
    git.create_worktree(&repo, &root.join("two"), "two", None)
        .await
        .expect("two");
    write(&root.join("one"), "same.txt", "from one\n");
    write(&root.join("two"), "same.txt", "from two\nsecond line\n");

    let one = git
        .changes(&root.join("one"), &base, None, "b")
        .await
        .expect("one");
    let two = git
        .changes(&root.join("two"), &base, None, "b")
        .await
        .expect("two");
    let main = git.changes(&repo, &base, None, "b").await.expect("main");
    assert_eq!(
        one.files,
        vec![change(
            "same.txt",
            None,
            ChangeStatus::Untracked,
            Some(1),
            Some(0)
        )]
    );
    assert_eq!(
        two.files,
        vec![change(
            "same.txt",
            None,
            ChangeStatus::Untracked,
            Some(2),
            Some(0)
        )]
    );
    assert!(main.files.is_empty());

    git.commit(&root.join("one"), "one's file")
        .await
        .expect("commit");
    let two = git
        .changes(&root.join("two"), &base, None, "b")
        .await
        .expect("two");
    assert_eq!(two.files[0].status, ChangeStatus::Untracked);
    assert_eq!(
        std::fs::read_to_string(root.join("two/same.txt")).expect("read"),
        "from two\nsecond line\n"
    );
}

#[tokio::test]
async fn diffs_of_text_untracked_renamed_binary_and_large_files() {
    let git = git().await;
    let (_dir, _repo, wt, base) = repo_and_worktree(&git).await;
    write(&wt, "a.txt", "one\n--- a/two\nthree\n");
    let DiffBody::Text { text } = git.diff(&wt, &base, "a.txt").await.expect("diff") else {
        panic!("a text diff");
    };
    assert_eq!(text, "@@ -1,3 +1,3 @@\n one\n-two\n+--- a/two\n three\n");

    write(&wt, "new.txt", "x\ny");
    let DiffBody::Text { text } = git.diff(&wt, &base, "new.txt").await.expect("diff") else {
        panic!("a text diff");
    };
    assert_eq!(
        text,
        "@@ -0,0 +1,2 @@\n+x\n+y\n\\ No newline at end of file\n"
    );

    sh(&wt, &["mv", "keep.txt", "kept.txt"]);
    let DiffBody::Text { text } = git.diff(&wt, &base, "kept.txt").await.expect("diff") else {
        panic!("a text diff");
    };
    assert_eq!(text, "", "a pure rename has no hunks");

    write(&wt, "image.bin", b"\0changed");
    assert_eq!(
        git.diff(&wt, &base, "image.bin").await.expect("diff"),
        DiffBody::Binary
    );
    write(&wt, "blob.dat", b"\0untracked");
    assert_eq!(
        git.diff(&wt, &base, "blob.dat").await.expect("diff"),
        DiffBody::Binary
    );

    let big: String = (0..MAX_DIFF_BYTES / 8)
        .map(|i| format!("{i:07}\n"))
        .collect();
    write(&wt, "big.txt", &big);
    match git.diff(&wt, &base, "big.txt").await.expect("diff") {
        DiffBody::TooLarge { bytes } => assert!(
            bytes > (MAX_DIFF_BYTES + MAX_DIFF_BYTES / 10) as u64,
            "{bytes}"
        ),
        other => panic!("too large expected, got {other:?}"),
    }

    let err = git
        .diff(&wt, &base, "keep.txt.nope")
        .await
        .expect_err("unchanged");
    assert!(matches!(err, GitError::Unchanged { .. }), "{err}");
    // Only listed files are diffed: a path outside the repository is not read.
    let err = git
        .diff(&wt, &base, "/etc/passwd")
        .await
        .expect_err("outside");
    assert!(matches!(err, GitError::Unchanged { .. }), "{err}");
}

#[tokio::test]
async fn commit_answers_the_short_oid_and_refuses_when_nothing_changed() {
    let git = git().await;
    let (_dir, _repo, wt, base) = repo_and_worktree(&git).await;
    write(&wt, "a.txt", "changed\n");
    write(&wt, "new.txt", "new\n");
    let commit = git.commit(&wt, "Session work").await.expect("commit");
    assert_eq!(commit, sh(&wt, &["rev-parse", "--short", "HEAD"]));
    assert_eq!(sh(&wt, &["log", "-1", "--format=%s"]), "Session work");
    let summary = git
        .changes(&wt, &base, Some(("session", "main")), "main")
        .await
        .expect("changes");
    assert_eq!(summary.uncommitted, 0);
    assert_eq!(summary.unmerged_commits, 1);
    assert_eq!(summary.files.len(), 2);

    let err = git.commit(&wt, "again").await.expect_err("nothing");
    assert!(matches!(err, GitError::NothingToCommit), "{err}");
}

#[tokio::test]
async fn discard_one_file_then_everything() {
    let git = git().await;
    let (_dir, _repo, wt, base) = repo_and_worktree(&git).await;
    // A file added in a commit after the base.
    write(&wt, "committed.txt", "c\n");
    git.commit(&wt, "add").await.expect("commit");
    write(&wt, "a.txt", "changed\n");
    write(&wt, "untracked.txt", "u\n");
    sh(&wt, &["mv", "keep.txt", "moved.txt"]);
    std::fs::remove_file(wt.join("image.bin")).expect("rm");

    let files = git
        .changes(&wt, &base, None, "b")
        .await
        .expect("changes")
        .files;
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "a.txt",
            "committed.txt",
            "image.bin",
            "moved.txt",
            "untracked.txt"
        ]
    );
    let find = |path: &str| {
        files
            .iter()
            .find(|f| f.path == path)
            .cloned()
            .expect("listed")
    };

    git.discard(&wt, &base, Some(&find("a.txt")))
        .await
        .expect("discard");
    assert_eq!(
        std::fs::read_to_string(wt.join("a.txt")).expect("read"),
        "one\ntwo\nthree\n"
    );
    git.discard(&wt, &base, Some(&find("untracked.txt")))
        .await
        .expect("discard");
    assert!(!wt.join("untracked.txt").exists());
    git.discard(&wt, &base, Some(&find("moved.txt")))
        .await
        .expect("discard");
    assert!(!wt.join("moved.txt").exists());
    assert_eq!(
        std::fs::read_to_string(wt.join("keep.txt")).expect("read"),
        "keep\n"
    );
    git.discard(&wt, &base, Some(&find("committed.txt")))
        .await
        .expect("discard");
    assert!(!wt.join("committed.txt").exists());

    let left: Vec<String> = git
        .changes(&wt, &base, None, "b")
        .await
        .expect("changes")
        .files
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(left, vec!["image.bin"]);

    write(&wt, "dir/deep/u.txt", "u\n");
    write(&wt, "committed.txt", "again\n");
    sh(&wt, &["add", "-A"]);
    sh(&wt, &["commit", "-q", "-m", "more"]);
    write(&wt, "a.txt", "x\n");
    write(&wt, "fresh.txt", "x\n");
    git.discard(&wt, &base, None).await.expect("discard all");
    let summary = git.changes(&wt, &base, None, "b").await.expect("changes");
    assert_eq!(summary.files, vec![], "nothing differs from the base");
    assert!(!wt.join("dir").exists() && !wt.join("fresh.txt").exists());
    assert!(wt.join("image.bin").is_file());
}

#[tokio::test]
async fn discard_everything_in_a_playground_with_only_new_files() {
    let git = git().await.unconfigured();
    let (_dir, root) = super::temp();
    git.init_repo(&root).await.expect("init");
    let base = sh(&root, &["rev-parse", "HEAD"]);
    write(&root, "hello.py", "print('hi')\n");
    let summary = git
        .changes(&root, "HEAD", None, "HEAD")
        .await
        .expect("changes");
    assert_eq!(
        summary.files,
        vec![change(
            "hello.py",
            None,
            ChangeStatus::Untracked,
            Some(1),
            Some(0)
        )]
    );
    assert_eq!(summary.uncommitted, 1);
    git.discard(&root, &base, None).await.expect("discard all");
    assert!(!root.join("hello.py").exists());

    // The same with a commit after the empty base.
    write(&root, "kept.py", "x = 1\n");
    git.commit(&root, "kept").await.expect("commit");
    git.discard(&root, &base, None).await.expect("discard all");
    assert!(!root.join("kept.py").exists());
    assert!(git
        .changes(&root, &base, None, "b")
        .await
        .expect("changes")
        .files
        .is_empty());
}
