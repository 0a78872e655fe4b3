//! The Changes panel's state: summaries, diffs and git outcomes applied; refusals shown in
//! the panel; one `GetChanges` at a time; diff lines by kind.

use super::*;
use crate::client::changes::{self, diff_lines, DiffLine, GitOp, GitResult};
use crate::protocol::{
    ChangeStatus, ChangeSummary, DiffBody, ErrorCode, FileChange, GitOutcome, RequestTag,
};

fn summary(paths: &[&str]) -> ChangeSummary {
    ChangeSummary {
        base: "main at 1a2b3c4".into(),
        files: paths
            .iter()
            .map(|p| FileChange {
                path: (*p).into(),
                old_path: None,
                status: ChangeStatus::Untracked,
                added: Some(1),
                removed: Some(0),
            })
            .collect(),
        unmerged_commits: 0,
        uncommitted: paths.len() as u32,
    }
}

fn changes_frame(store: &Store, n: u128, paths: &[&str]) {
    apply_on_pane(
        store,
        ServerFrame::Changes {
            session: sid(n),
            summary: summary(paths).into(),
        },
    );
}

#[test]
fn a_summary_and_a_diff_are_applied_and_a_new_summary_makes_diffs_stale() {
    let store = connected(1);
    let v = view(&store, 1);
    changes::toggle_panel(store, sid(1));
    assert!(v.changes.open.get_untracked());
    changes::refresh(store, sid(1));
    assert!(v.changes.loading.get_untracked());
    changes_frame(&store, 1, &["notes.txt", "a.rs"]);
    assert!(!v.changes.loading.get_untracked());
    assert_eq!(
        v.changes
            .summary
            .with_untracked(|s| s.as_ref().map(|s| s.files.len())),
        Some(2)
    );
    changes::toggle_diff(store, sid(1), "notes.txt".into());
    changes::fetch_diff(store, sid(1), "notes.txt".into());
    apply_on_pane(
        &store,
        ServerFrame::Diff {
            session: sid(1),
            path: "notes.txt".into(),
            body: DiffBody::Text {
                text: "@@ -0,0 +1 @@\n+hello\n".into(),
            }
            .into(),
        },
    );
    assert!(v
        .changes
        .diffs
        .with_untracked(|d| d.contains_key("notes.txt")));
    // The file is still changed: it stays selected, its old diff goes.
    changes_frame(&store, 1, &["notes.txt"]);
    assert_eq!(
        v.changes.selected.get_untracked().as_deref(),
        Some("notes.txt")
    );
    assert!(v.changes.diffs.with_untracked(|d| d.is_empty()));
    // Committed away: nothing is selected any more.
    changes_frame(&store, 1, &[]);
    assert_eq!(v.changes.selected.get_untracked(), None);
}

#[test]
fn asking_again_while_a_request_is_out_asks_once_more_when_it_lands() {
    let store = connected(1);
    let v = view(&store, 1);
    changes::refresh(store, sid(1));
    changes::refresh(store, sid(1));
    changes::refresh(store, sid(1));
    assert!(v.changes.stale.get_untracked());
    changes_frame(&store, 1, &["a"]);
    // The one more ask is out now.
    assert!(!v.changes.stale.get_untracked());
    assert!(v.changes.loading.get_untracked());
    changes_frame(&store, 1, &["a"]);
    assert!(!v.changes.loading.get_untracked());
}

#[test]
fn a_commit_is_sent_once_and_its_outcome_replaces_the_busy_state() {
    let store = connected(1);
    let v = view(&store, 1);
    changes::commit(store, sid(1), "  ".into());
    // A second click while the first is out does nothing.
    changes::commit(store, sid(1), "again".into());
    assert_eq!(v.changes.busy.get_untracked(), Some(GitOp::Commit));
    apply_on_pane(
        &store,
        ServerFrame::GitDone {
            session: sid(1),
            tag: Some(RequestTag(1)),
            outcome: GitOutcome::Committed {
                commit: "abc1234".into(),
            }
            .into(),
        },
    );
    assert_eq!(v.changes.busy.get_untracked(), None);
    let result = v.changes.result.get_untracked().expect("a result");
    assert_eq!(result.name(), "committed");
    assert!(!result.is_merge());
    assert_eq!(result.describe(), "Committed abc1234.");
    // The tag was taken: a late error naming it undoes nothing and goes to the transcript.
    assert_eq!(store.take_request(RequestTag(1)), None);
}

#[test]
fn merge_outcomes_read_as_people_say_them() {
    let ff = GitResult::Done(GitOutcome::Merged {
        into: "main".into(),
        fast_forward: true,
        commit: "abc1234".into(),
    });
    assert!(ff.is_merge());
    assert_eq!(ff.describe(), "Merged into main (fast-forward to abc1234).");
    let conflict = GitResult::Done(GitOutcome::Conflict {
        into: "main".into(),
        files: vec!["a.rs".into(), "b.rs".into()],
    });
    assert_eq!(conflict.name(), "conflict");
    assert_eq!(conflict.conflicts().len(), 2);
    assert!(conflict
        .describe()
        .contains("2 files are conflicting with main"));
}

#[test]
fn a_refused_merge_shows_in_the_panel_not_the_transcript() {
    let store = connected(1);
    let v = view(&store, 1);
    changes::merge(store, sid(1));
    apply(
        &store,
        ServerFrame::Error {
            session: Some(sid(1)),
            tag: Some(RequestTag(1)),
            code: ErrorCode::InvalidState,
            message: "main has uncommitted changes; commit or stash them first".into(),
        },
    );
    assert_eq!(v.changes.busy.get_untracked(), None);
    let result = v.changes.result.get_untracked().expect("a result");
    assert!(result.is_merge());
    assert_eq!(result.name(), "refused");
    assert!(result.describe().contains("uncommitted"));
    assert_eq!(len(&store, 1), 0);
}

#[test]
fn a_refused_summary_shows_why_and_allows_asking_again() {
    let store = connected(1);
    let v = view(&store, 1);
    changes::refresh(store, sid(1));
    apply(
        &store,
        ServerFrame::Error {
            session: Some(sid(1)),
            tag: Some(RequestTag(1)),
            code: ErrorCode::InvalidState,
            message: "not a git repository".into(),
        },
    );
    assert_eq!(
        v.changes.error.get_untracked().as_deref(),
        Some("not a git repository")
    );
    assert!(!v.changes.loading.get_untracked());
    assert_eq!(len(&store, 1), 0);
    changes_frame(&store, 1, &[]);
    assert_eq!(v.changes.error.get_untracked(), None);
}

#[test]
fn the_change_count_arrives_as_a_patch() {
    let store = connected(1);
    patch(
        &store,
        1,
        SessionPatch {
            changes: Some(crate::protocol::ChangeCount {
                files: 3,
                unmerged_commits: 1,
            }),
            ..SessionPatch::default()
        },
    );
    assert_eq!(
        view(&store, 1)
            .meta
            .with_untracked(|m| m.changes.map(|c| c.files)),
        Some(3)
    );
}

#[test]
fn diff_lines_are_told_apart_by_their_prefix_after_the_header() {
    let text = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n same\n-old\n+new\n";
    let kinds: Vec<DiffLine> = diff_lines(text).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        kinds,
        vec![
            DiffLine::Header,
            DiffLine::Header,
            DiffLine::Header,
            DiffLine::Hunk,
            DiffLine::Context,
            DiffLine::Removed,
            DiffLine::Added,
        ]
    );
    // A diff with no header starts at its first hunk.
    assert_eq!(diff_lines("@@ -0,0 +1 @@\n+hello")[1].0, DiffLine::Added);
}
