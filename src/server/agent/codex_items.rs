//! How Codex's tool items read as Switchboard tool cards: a file change as an Edit, Write
//! or patch with its old and new text, a command by what it runs rather than its shell
//! wrapper, and each kind of result as text.

use super::codex_events::{str_at, str_at_path};
use serde_json::{json, Value};

/// The card of a `fileChange` item: one added file reads as `Write`, one updated file as
/// `Edit` (old and new text taken from the diff), anything else as `apply_patch`.
pub(super) fn file_change_call(changes: Option<&Value>) -> (String, String, Value) {
    let changes: Vec<Value> = changes
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let [change] = changes.as_slice() {
        let path = str_at(change, "path").unwrap_or_default().to_owned();
        let diff = str_at(change, "diff").unwrap_or_default();
        match str_at_path(change, "/kind/type") {
            Some("add") => {
                return (
                    "Write".to_owned(),
                    format!("Write: {path}"),
                    json!({"file_path": path, "content": diff}),
                )
            }
            Some("update") if str_at_path(change, "/kind/move_path").is_none() => {
                let (old, new) = diff_sides(diff);
                return (
                    "Edit".to_owned(),
                    format!("Edit: {path}"),
                    json!({"file_path": path, "old_string": old, "new_string": new, "diff": diff}),
                );
            }
            _ => {}
        }
    }
    let paths: Vec<&str> = changes.iter().filter_map(|c| str_at(c, "path")).collect();
    let title = match paths.as_slice() {
        [one] => format!("apply_patch: {one}"),
        many => format!("apply_patch: {} files", many.len()),
    };
    ("apply_patch".to_owned(), title, json!({"changes": changes}))
}

/// The old and new text of a unified diff's hunks (context lines in both).
pub fn diff_sides(diff: &str) -> (String, String) {
    let (mut old, mut new) = (String::new(), String::new());
    for line in diff.lines() {
        if line.starts_with("@@") || line.starts_with("---") || line.starts_with("+++") {
            continue;
        }
        if let Some(rest) = line.strip_prefix('-') {
            push_line(&mut old, rest);
        } else if let Some(rest) = line.strip_prefix('+') {
            push_line(&mut new, rest);
        } else if let Some(rest) = line.strip_prefix(' ') {
            push_line(&mut old, rest);
            push_line(&mut new, rest);
        }
    }
    (old, new)
}

fn push_line(text: &mut String, line: &str) {
    text.push_str(line);
    text.push('\n');
}

/// A finished tool item's output and whether it failed.
pub(super) fn tool_result(kind: &str, item: &Value) -> (String, bool) {
    let status = str_at(item, "status").unwrap_or("completed");
    if status == "declined" {
        return ("The user declined this.".to_owned(), true);
    }
    let failed = status == "failed";
    match kind {
        "commandExecution" => {
            let mut output = str_at(item, "aggregatedOutput")
                .unwrap_or_default()
                .to_owned();
            let code = item.get("exitCode").and_then(Value::as_i64);
            if let Some(code) = code.filter(|c| *c != 0) {
                if !output.is_empty() && !output.ends_with('\n') {
                    output.push('\n');
                }
                output.push_str(&format!("(exit code {code})"));
            }
            (output, failed || code.is_some_and(|c| c != 0))
        }
        "fileChange" => {
            let changes = item.get("changes").and_then(Value::as_array);
            let lines: Vec<String> = changes
                .into_iter()
                .flatten()
                .map(|change| {
                    let mark = match str_at_path(change, "/kind/type") {
                        Some("add") => "A",
                        Some("delete") => "D",
                        _ => "M",
                    };
                    format!("{mark} {}", str_at(change, "path").unwrap_or_default())
                })
                .collect();
            let verb = if failed {
                "Failed to change"
            } else {
                "Changed"
            };
            (format!("{verb}:\n{}", lines.join("\n")), failed)
        }
        "mcpToolCall" => match item.get("error").filter(|e| !e.is_null()) {
            Some(error) => (
                str_at(error, "message").map_or_else(|| error.to_string(), str::to_owned),
                true,
            ),
            None => (content_text(item.pointer("/result/content")), failed),
        },
        "dynamicToolCall" => (
            content_text(item.get("contentItems")),
            failed || item.get("success").and_then(Value::as_bool) == Some(false),
        ),
        _ => (String::new(), failed),
    }
}

/// The text parts of a content list (MCP results, dynamic tool output).
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| str_at(part, "text"))
            .collect::<Vec<_>>()
            .join("\n"),
        Some(other) if !other.is_null() => other.to_string(),
        _ => String::new(),
    }
}

/// The command as the user would type it: Codex's parsed action when there is exactly one,
/// else the command with its `bash -lc '...'` wrapper taken off.
pub fn display_command(full: &str, actions: Option<&Value>) -> String {
    if let Some([action]) = actions.and_then(Value::as_array).map(Vec::as_slice) {
        if let Some(command) = str_at(action, "command").filter(|c| !c.trim().is_empty()) {
            return command.to_owned();
        }
    }
    let wrapped = [
        "/bin/bash -lc ",
        "/bin/bash -c ",
        "bash -lc ",
        "/bin/sh -c ",
        "/bin/zsh -lc ",
    ]
    .iter()
    .find_map(|prefix| full.strip_prefix(prefix));
    match wrapped {
        Some(inner) if inner.len() >= 2 && inner.starts_with('\'') && inner.ends_with('\'') => {
            inner[1..inner.len() - 1]
                .replace("'\\''", "'")
                .replace("'\"'\"'", "'")
        }
        Some(inner) => inner.to_owned(),
        None => full.to_owned(),
    }
}
