//! The parsers on outputs recorded from git 2.47 (`../fixtures/`): renames, spaces and
//! non-ASCII names, binary files, deletions, untracked and ignored files, conflicts.

use super::*;

fn entry(kind: StatusKind, xy: &str, path: &str, orig: Option<&str>) -> StatusEntry {
    let mut letters = xy.chars();
    StatusEntry {
        kind,
        index: letters.next().unwrap_or(' '),
        worktree: letters.next().unwrap_or(' '),
        path: path.to_owned(),
        orig_path: orig.map(str::to_owned),
    }
}

#[test]
fn status_v2_with_a_rename_deletion_binary_and_untracked_files() {
    let parsed = parse_status_v2(include_bytes!("../fixtures/status_v2.z"));
    assert_eq!(
        parsed,
        vec![
            entry(StatusKind::Ordinary, "A.", "added file.txt", None),
            entry(StatusKind::Ordinary, ".M", "bin.dat", None),
            entry(StatusKind::Ordinary, "D.", "delete.txt", None),
            entry(StatusKind::Ordinary, "MM", "modify.txt", None),
            entry(
                StatusKind::Renamed,
                "RM",
                "new name ü.txt",
                Some("old name.txt")
            ),
            entry(StatusKind::Untracked, "??", "dir ä/untracked 1.txt", None),
            entry(StatusKind::Untracked, "??", "untracked2", None),
        ]
    );
}

#[test]
fn status_v2_ignored_entries() {
    let parsed = parse_status_v2(include_bytes!("../fixtures/status_v2_ignored.z"));
    let ignored: Vec<&StatusEntry> = parsed
        .iter()
        .filter(|e| e.kind == StatusKind::Ignored)
        .collect();
    assert_eq!(
        ignored,
        vec![&entry(StatusKind::Ignored, "!!", "x.log", None)]
    );
    let untracked: Vec<&str> = parsed
        .iter()
        .filter(|e| e.kind == StatusKind::Untracked)
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(
        untracked,
        vec![".gitignore", "dir ä/untracked 1.txt", "untracked2"]
    );
}

#[test]
fn status_v2_unmerged_entries() {
    let parsed = parse_status_v2(include_bytes!("../fixtures/status_v2_unmerged.z"));
    assert_eq!(
        parsed,
        vec![
            entry(StatusKind::Ordinary, "A.", "topiconly.txt", None),
            entry(StatusKind::Unmerged, "UU", "both é.txt", None),
            entry(StatusKind::Unmerged, "DU", "dm.txt", None),
        ]
    );
}

#[test]
fn status_v2_empty_and_headers() {
    assert!(parse_status_v2(b"").is_empty());
    let with_header = b"# branch.oid abc\0# branch.head main\0? a b\0";
    assert_eq!(
        parse_status_v2(with_header),
        vec![entry(StatusKind::Untracked, "??", "a b", None)]
    );
}

#[test]
fn numstat_with_binary_and_rename() {
    let parsed = parse_numstat(include_bytes!("../fixtures/numstat.z"));
    let row = |added, removed, path: &str, old: Option<&str>| NumstatEntry {
        added,
        removed,
        path: path.to_owned(),
        old_path: old.map(str::to_owned),
    };
    assert_eq!(
        parsed,
        vec![
            row(Some(1), Some(0), "added file.txt", None),
            row(None, None, "bin.dat", None),
            row(Some(0), Some(1), "delete.txt", None),
            row(Some(2), Some(0), "modify.txt", None),
            row(Some(1), Some(0), "new name ü.txt", Some("old name.txt")),
        ]
    );
}

#[test]
fn name_status_with_rename_score() {
    let parsed = parse_name_status(include_bytes!("../fixtures/name_status.z"));
    let row = |status, score, path: &str, old: Option<&str>| NameStatusEntry {
        status,
        score,
        path: path.to_owned(),
        old_path: old.map(str::to_owned),
    };
    assert_eq!(
        parsed,
        vec![
            row('A', None, "added file.txt", None),
            row('M', None, "bin.dat", None),
            row('D', None, "delete.txt", None),
            row('M', None, "modify.txt", None),
            row('R', Some(88), "new name ü.txt", Some("old name.txt")),
        ]
    );
}

#[test]
fn worktree_list_branch_detached_locked_prunable() {
    let parsed = parse_worktree_list(include_bytes!("../fixtures/worktree_list.z"));
    let main = "9198d411be12776b998030629891e14a41b28ac2";
    let wt = |path: &str, head: &str, branch: Option<&str>| WorktreeEntry {
        path: path.to_owned(),
        head: Some(head.to_owned()),
        branch: branch.map(str::to_owned),
        ..WorktreeEntry::default()
    };
    assert_eq!(
        parsed,
        vec![
            wt("/tmp/gitrec/c", main, Some("main")),
            wt("/tmp/gitrec/wt space ü", main, Some("feature/x")),
            WorktreeEntry {
                detached: true,
                ..wt(
                    "/tmp/gitrec/wt-detached",
                    "510cc29f438102cad3fcf5c7299d3c02bc628fc8",
                    None
                )
            },
            WorktreeEntry {
                prunable: Some("gitdir file points to non-existent location".into()),
                ..wt("/tmp/gitrec/wt-gone", main, Some("gone"))
            },
            WorktreeEntry {
                locked: Some("on a usb\ndisk".into()),
                ..wt("/tmp/gitrec/wt-locked", main, Some("locked1"))
            },
        ]
    );
}

#[test]
fn worktree_list_bare_and_reasonless_lock() {
    let raw = b"worktree /r\0bare\0\0worktree /w\0HEAD abc\0detached\0locked\0\0";
    let parsed = parse_worktree_list(raw);
    assert_eq!(parsed.len(), 2);
    assert!(parsed[0].bare);
    assert_eq!(parsed[0].head, None);
    assert_eq!(parsed[1].locked.as_deref(), Some(""));
    assert!(parsed[1].detached);
}

#[test]
fn merge_tree_conflict_lists_each_file_once() {
    let parsed = parse_merge_tree(include_bytes!("../fixtures/merge_tree_conflict.z"));
    assert_eq!(
        parsed,
        Some(MergeTree {
            tree: "f3616849a2fcb75d8fef047edd6c1a14ac7d1781".into(),
            conflicted: vec!["both é.txt".into(), "dm.txt".into()],
        })
    );
}

#[test]
fn merge_tree_clean() {
    let parsed = parse_merge_tree(include_bytes!("../fixtures/merge_tree_clean.z"));
    assert_eq!(
        parsed,
        Some(MergeTree {
            tree: "db32a0187f7cd5b807a28863cf23a2b75a9d5a02".into(),
            conflicted: vec![],
        })
    );
    assert_eq!(parse_merge_tree(b""), None);
}

#[test]
fn hunks_only_drops_headers_but_not_lines_that_look_like_them() {
    let diff = "diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n\
                @@ -1,2 +1,2 @@\n keep\n--- a/old\n+++ b/new\n@@ -10 +10,2 @@ fn f\n-a\n+b\n+c\n\
                \\ No newline at end of file\n\
                diff --git a/y b/y\nnew file mode 100644\n--- /dev/null\n+++ b/y\n@@ -0,0 +1 @@\n+y\n";
    assert_eq!(
        hunks_only(diff),
        "@@ -1,2 +1,2 @@\n keep\n--- a/old\n+++ b/new\n@@ -10 +10,2 @@ fn f\n-a\n+b\n+c\n\
         \\ No newline at end of file\n@@ -0,0 +1 @@\n+y\n"
    );
    assert_eq!(hunks_only("diff --git a/e b/e\nnew file mode 100644\n"), "");
}

#[test]
fn binary_diffs_are_recognised() {
    assert!(says_binary(
        "diff --git a/b b/b\nindex 1..2\nBinary files a/b and b/b differ\n"
    ));
    assert!(!says_binary(
        "@@ -1 +1 @@\n-Binary files a and b differ\n+x\n"
    ));
}
