//! Tool cards: diffs of edits, content of writes, commands, and the JSON fallback.

use super::*;
use crate::client::store::EntryBody;
use crate::client::tool_view::{
    clip_at, diff_lines, short_title, split_path, DiffKind, ToolDetail,
};
use crate::protocol::SessionEvent;
use serde_json::json;

/// A diff as `diff -u` would print its lines: marker then text.
fn printed(old: &str, new: &str) -> Vec<String> {
    diff_lines(old, new)
        .iter()
        .map(|line| format!("{}{}", line.marker(), line.text))
        .collect()
}

#[test]
fn a_replacement_is_removed_lines_then_added_lines() {
    assert_eq!(printed("old", "new"), vec!["-old", "+new"]);
    assert_eq!(
        printed("a\nb", "c\nd\ne"),
        vec!["-a", "-b", "+c", "+d", "+e"]
    );
}

#[test]
fn unchanged_lines_are_context() {
    assert_eq!(
        printed("fn a() {\n    1\n}", "fn a() {\n    2\n}"),
        vec![" fn a() {", "-    1", "+    2", " }"]
    );
    assert_eq!(
        printed("a\nb\nc\nd", "a\nc\nd\ne"),
        vec![" a", "-b", " c", " d", "+e"],
        "the middle is diffed line by line"
    );
}

#[test]
fn empty_sides_are_pure_additions_or_removals() {
    assert_eq!(printed("", "x\ny"), vec!["+x", "+y"]);
    assert_eq!(printed("x", ""), vec!["-x"]);
    assert!(printed("", "").is_empty());
    assert_eq!(printed("same", "same"), vec![" same"]);
}

#[test]
fn huge_replacements_skip_the_line_by_line_diff() {
    let old: String = (0..1000).map(|i| format!("old {i}\n")).collect();
    let new: String = (0..1000).map(|i| format!("new {i}\n")).collect();
    let lines = diff_lines(&old, &new);
    assert_eq!(lines.len(), 2000);
    assert!(lines[..1000].iter().all(|l| l.kind == DiffKind::Removed));
    assert!(lines[1000..].iter().all(|l| l.kind == DiffKind::Added));
}

#[test]
fn edits_writes_and_commands_are_recognised() {
    let edit = ToolDetail::from_input(
        "Edit",
        &json!({"file_path": "/src/a.rs", "old_string": "x", "new_string": "y", "replace_all": true}),
    );
    let ToolDetail::Edit {
        path,
        diff,
        replace_all,
    } = edit
    else {
        panic!("not an edit: {edit:?}");
    };
    assert_eq!(path, "/src/a.rs");
    assert!(replace_all);
    assert_eq!(diff.len(), 2);

    let write = ToolDetail::from_input(
        "Write",
        &json!({"file_path": "/a.txt", "content": "one\ntwo\n"}),
    );
    let ToolDetail::Write { path, lines } = write else {
        panic!("not a write: {write:?}");
    };
    assert_eq!(path, "/a.txt");
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l.kind == DiffKind::Added));

    assert_eq!(
        ToolDetail::from_input("Bash", &json!({"command": "ls -l", "description": "List"})),
        ToolDetail::Bash {
            command: "ls -l".into(),
            description: Some("List".into())
        }
    );
    assert_eq!(
        ToolDetail::from_input("Bash", &json!({"command": "ls", "description": "  "})),
        ToolDetail::Bash {
            command: "ls".into(),
            description: None
        }
    );
}

#[test]
fn multi_edits_join_their_diffs_with_gaps() {
    let detail = ToolDetail::from_input(
        "MultiEdit",
        &json!({"file_path": "/a", "edits": [
            {"old_string": "a", "new_string": "b"},
            {"old_string": "c", "new_string": "d", "replace_all": true}
        ]}),
    );
    let ToolDetail::Edit {
        diff, replace_all, ..
    } = detail
    else {
        panic!("not an edit: {detail:?}");
    };
    let kinds: Vec<_> = diff.iter().map(|l| l.kind).collect();
    assert_eq!(
        kinds,
        vec![
            DiffKind::Removed,
            DiffKind::Added,
            DiffKind::Gap,
            DiffKind::Removed,
            DiffKind::Added
        ]
    );
    assert!(replace_all);
}

#[test]
fn unexpected_inputs_fall_back_to_json() {
    for (name, input) in [
        (
            "Edit",
            json!({"file_path": "/a", "old_string": 3, "new_string": "y"}),
        ),
        ("Edit", json!(null)),
        ("Write", json!({"content": "no path"})),
        ("Bash", json!({"cmd": "ls"})),
        (
            "MultiEdit",
            json!({"file_path": "/a", "edits": [{"old_string": "a"}]}),
        ),
        ("read", json!({"path": "."})),
        (
            "edit",
            json!({"file_path": "/a", "old_string": "x", "new_string": "y"}),
        ),
    ] {
        assert_eq!(
            ToolDetail::from_input(name, &input),
            ToolDetail::Other,
            "{name} {input}"
        );
    }
}

#[test]
fn titles_lose_the_repeated_tool_name() {
    assert_eq!(short_title("Bash", "Bash: ls -l"), "ls -l");
    assert_eq!(short_title("Edit", "Edit: "), "Edit: ");
    assert_eq!(short_title("read", "List /tmp"), "List /tmp");
}

#[test]
fn the_reducer_gives_tool_rows_their_detail() {
    let store = connected(1);
    event(
        &store,
        1,
        1,
        SessionEvent::ToolCall {
            id: "t1".into(),
            name: "Bash".into(),
            title: "Bash: echo hi".into(),
            input: json!({"command": "echo hi"}),
        },
    );
    view(&store, 1)
        .entries
        .with_untracked(|entries| match &entries[0].body {
            EntryBody::Tool { detail, input, .. } => {
                assert!(matches!(detail.as_ref(), ToolDetail::Bash { command, .. } if command == "echo hi"));
                assert!(input.contains("echo hi"), "the JSON stays for the fallback");
            }
            other => panic!("unexpected {other:?}"),
        });
}

#[test]
fn paths_split_into_folder_and_file() {
    assert_eq!(split_path("/src/client/a.rs"), ("/src/client/", "a.rs"));
    assert_eq!(split_path("a.rs"), ("", "a.rs"));
    assert_eq!(split_path("/a.rs"), ("/", "a.rs"));
    assert_eq!(split_path("C:\\work\\a.rs"), ("C:\\work\\", "a.rs"));
    assert_eq!(split_path("/tmp/dir/"), ("/tmp/", "dir/"));
    assert_eq!(split_path(""), ("", ""));
}

#[test]
fn long_outputs_are_clipped_by_lines_or_characters() {
    let lines: String = (1..=50).map(|n| format!("line {n}\n")).collect();
    let end = clip_at(&lines, 30, 10_000).expect("clipped");
    assert_eq!(lines[..end].lines().count(), 30);
    assert!(lines[..end].ends_with("line 30"));
    // Exactly the limit, or trailing blank lines past it: shown whole.
    let thirty: String = (1..=30).map(|n| format!("line {n}\n")).collect();
    assert_eq!(clip_at(&thirty, 30, 10_000), None);
    assert_eq!(clip_at(&format!("{thirty}\n\n"), 30, 10_000), None);
    // One huge line is cut by characters, on a char boundary.
    let wide = "é".repeat(9000);
    let end = clip_at(&wide, 30, 6000).expect("clipped");
    assert_eq!(wide[..end].chars().count(), 6000);
    assert_eq!(clip_at("short", 30, 6000), None);
}
