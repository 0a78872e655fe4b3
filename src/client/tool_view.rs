//! What a tool card shows besides its title: a line diff for file edits, the new content
//! for file writes, the command for shell calls. Computed once per call by the reducer from
//! the tool's input, which the agent wrote and which is not trusted: a known tool name with
//! fields missing or of the wrong type falls back to the plain JSON view.

use serde_json::Value;

/// The kind of one diff line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffKind {
    /// Unchanged (shown for orientation).
    Context,
    /// Only in the old text (`-`).
    Removed,
    /// Only in the new text (`+`).
    Added,
    /// Between two separate replacements of one multi-edit.
    Gap,
}

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    /// Removed, added, ...
    pub kind: DiffKind,
    /// The line without its newline.
    pub text: String,
}

impl DiffLine {
    fn new(kind: DiffKind, text: &str) -> Self {
        DiffLine {
            kind,
            text: text.to_string(),
        }
    }

    /// The marker before the line: `-`, `+`, a space, or `…` for a gap.
    pub fn marker(&self) -> &'static str {
        match self.kind {
            DiffKind::Context => " ",
            DiffKind::Removed => "-",
            DiffKind::Added => "+",
            DiffKind::Gap => "…",
        }
    }

    /// The CSS class of the line.
    pub fn class(&self) -> &'static str {
        match self.kind {
            DiffKind::Context => "diff-line context",
            DiffKind::Removed => "diff-line removed",
            DiffKind::Added => "diff-line added",
            DiffKind::Gap => "diff-line gap",
        }
    }
}

/// How a tool card presents the call's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolDetail {
    /// `Edit` / `MultiEdit`: the file and what changes in it.
    Edit {
        /// The file.
        path: String,
        /// The replacement(s) as a line diff.
        diff: Vec<DiffLine>,
        /// Whether every occurrence is replaced, not only the first.
        replace_all: bool,
    },
    /// `Write`: the file and its whole new content (all `+` lines).
    Write {
        /// The file.
        path: String,
        /// The content, one added line per line.
        lines: Vec<DiffLine>,
    },
    /// `Bash`: the command line.
    Bash {
        /// The command.
        command: String,
        /// The agent's own words for what it does, if it gave them.
        description: Option<String>,
    },
    /// Anything else: the JSON input as it came.
    Other,
}

impl ToolDetail {
    /// The presentation of a call of `name` with `input`.
    pub fn from_input(name: &str, input: &Value) -> ToolDetail {
        let text = |key: &str| input.get(key).and_then(Value::as_str);
        let flag = |value: &Value| {
            value
                .get("replace_all")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        match name {
            "Edit" => match (text("file_path"), text("old_string"), text("new_string")) {
                (Some(path), Some(old), Some(new)) => ToolDetail::Edit {
                    path: path.to_string(),
                    diff: diff_lines(old, new),
                    replace_all: flag(input),
                },
                _ => ToolDetail::Other,
            },
            "MultiEdit" => {
                let (Some(path), Some(edits)) = (
                    text("file_path"),
                    input.get("edits").and_then(Value::as_array),
                ) else {
                    return ToolDetail::Other;
                };
                let mut diff = Vec::new();
                for edit in edits {
                    let old = edit.get("old_string").and_then(Value::as_str);
                    let new = edit.get("new_string").and_then(Value::as_str);
                    let (Some(old), Some(new)) = (old, new) else {
                        return ToolDetail::Other;
                    };
                    if !diff.is_empty() {
                        diff.push(DiffLine::new(DiffKind::Gap, ""));
                    }
                    diff.extend(diff_lines(old, new));
                }
                ToolDetail::Edit {
                    path: path.to_string(),
                    diff,
                    replace_all: edits.iter().any(flag),
                }
            }
            "Write" => match (text("file_path"), text("content")) {
                (Some(path), Some(content)) => ToolDetail::Write {
                    path: path.to_string(),
                    lines: content
                        .lines()
                        .map(|line| DiffLine::new(DiffKind::Added, line))
                        .collect(),
                },
                _ => ToolDetail::Other,
            },
            "Bash" => match text("command") {
                Some(command) => ToolDetail::Bash {
                    command: command.to_string(),
                    description: text("description")
                        .map(str::trim)
                        .filter(|d| !d.is_empty())
                        .map(str::to_string),
                },
                None => ToolDetail::Other,
            },
            _ => ToolDetail::Other,
        }
    }
}

/// Largest `old lines x new lines` product diffed line by line; bigger replacements show
/// as all old lines removed, then all new lines added (still correct, just less precise),
/// so a huge edit cannot stall the page.
const MAX_DIFF_CELLS: usize = 250_000;

/// A line diff of `old` into `new`: unchanged lines as context, the rest as `-` and `+`
/// lines, removals before additions within a changed block (as `diff -u` prints them).
pub fn diff_lines(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Common head and tail are context; only the middle needs the quadratic part.
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (mid_a, mid_b) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);

    let mut out: Vec<DiffLine> = a[..head]
        .iter()
        .map(|line| DiffLine::new(DiffKind::Context, line))
        .collect();
    if mid_a.len().saturating_mul(mid_b.len()) > MAX_DIFF_CELLS {
        out.extend(mid_a.iter().map(|l| DiffLine::new(DiffKind::Removed, l)));
        out.extend(mid_b.iter().map(|l| DiffLine::new(DiffKind::Added, l)));
    } else {
        out.extend(lcs_diff(mid_a, mid_b));
    }
    out.extend(
        a[a.len() - tail..]
            .iter()
            .map(|line| DiffLine::new(DiffKind::Context, line)),
    );
    out
}

/// Longest-common-subsequence diff of two small line lists.
fn lcs_diff(a: &[&str], b: &[&str]) -> Vec<DiffLine> {
    let width = b.len() + 1;
    // lengths[i * width + j]: LCS length of a[i..] and b[j..].
    let mut lengths = vec![0u32; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lengths[i * width + j] = if a[i] == b[j] {
                lengths[(i + 1) * width + j + 1] + 1
            } else {
                lengths[(i + 1) * width + j].max(lengths[i * width + j + 1])
            };
        }
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push(DiffLine::new(DiffKind::Context, a[i]));
            i += 1;
            j += 1;
        } else if j == b.len()
            || (i < a.len() && lengths[(i + 1) * width + j] >= lengths[i * width + j + 1])
        {
            out.push(DiffLine::new(DiffKind::Removed, a[i]));
            i += 1;
        } else {
            out.push(DiffLine::new(DiffKind::Added, b[j]));
            j += 1;
        }
    }
    out
}

/// A tool title without the tool's name in front (`Edit: src/a.rs` -> `src/a.rs`), since
/// the card shows the name already.
pub fn short_title<'a>(name: &str, title: &'a str) -> &'a str {
    title
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix(": "))
        .filter(|rest| !rest.trim().is_empty())
        .unwrap_or(title)
}

/// A path split for display into its folder (with the trailing `/`) and its file name, so
/// a narrow card can shorten the folder and keep the name.
pub fn split_path(path: &str) -> (&str, &str) {
    match path.trim_end_matches('/').rfind(['/', '\\']) {
        Some(i) => path.split_at(i + 1),
        None => ("", path),
    }
}

/// Where to cut a long text for its first view: after `max_lines` lines or `max_chars`
/// characters (one huge line, e.g. minified JSON), whichever comes first. `None` when the
/// text is short enough to show whole.
pub fn clip_at(text: &str, max_lines: usize, max_chars: usize) -> Option<usize> {
    let by_lines = match max_lines {
        0 => Some(0),
        n => text.match_indices('\n').nth(n - 1).map(|(i, _)| i),
    };
    let by_chars = text.char_indices().nth(max_chars).map(|(i, _)| i);
    let end = match (by_lines, by_chars) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    // Only trailing blank lines would be hidden: show it all.
    (end < text.trim_end().len()).then_some(end)
}
