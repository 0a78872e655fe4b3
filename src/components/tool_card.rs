//! One tool call (`tool-call`): name, what it works on and its status; then what it does
//! (a line diff for edits, `tool-diff`; the new content for writes; the command for shell
//! calls; the JSON input otherwise) and, once finished, its output; long inputs and outputs
//! show their start until "Show all" (`show-all`). Everything the agent wrote is inserted
//! as text, with the characters a page would not show (bidi overrides, zero-width and
//! control characters, terminal escapes) drawn as marks (`hidden-char`).

use super::invisible::revealed;
use crate::client::format::duration_text;
use crate::client::tool_view::{clip_at, short_title, split_path, DiffKind, DiffLine, ToolDetail};
use crate::protocol::ToolStatus;
use leptos::prelude::*;
use std::sync::Arc;

/// Diff or content lines shown before "Show all"; long writes would bury the transcript.
const CLIP_LINES: usize = 16;

/// Outputs up to this many lines start unfolded; longer ones stay folded.
const OPEN_OUTPUT_LINES: usize = 12;

/// Output and input lines shown before "Show all": a build log would bury the transcript,
/// and putting megabytes in the DOM makes the page slow.
const CLIP_TEXT_LINES: usize = 30;

/// Characters shown before "Show all", for texts with few but huge lines (minified JSON).
const CLIP_TEXT_CHARS: usize = 6_000;

/// The card of one tool call.
#[component]
pub fn ToolCard(
    name: String,
    title: ArcRwSignal<String>,
    input: String,
    detail: Arc<ToolDetail>,
    output: ArcRwSignal<Option<String>>,
    status: ArcRwSignal<ToolStatus>,
    duration_ms: ArcRwSignal<Option<u64>>,
) -> impl IntoView {
    let duration = RwSignal::from(duration_ms);
    let title = RwSignal::from(title);
    let output = RwSignal::from(output);
    let status = RwSignal::from(status);
    let status_name = move || match status.get() {
        ToolStatus::Running => "running",
        ToolStatus::Ok => "ok",
        ToolStatus::Error => "error",
    };
    let status_label = move || match status.get() {
        ToolStatus::Running => "Running…",
        ToolStatus::Ok => "Done",
        ToolStatus::Error => "Failed",
    };
    let kind = match detail.as_ref() {
        ToolDetail::Edit { .. } => "edit",
        ToolDetail::Write { .. } => "write",
        ToolDetail::Bash { .. } => "bash",
        ToolDetail::Other => "other",
    };
    let head = head_view(&name, title, &detail);
    let body = body_view(input, &detail);
    view! {
        <div class="message tool" data-testid="message" data-role="tool">
            <div class="tool-call" data-testid="tool-call" data-status=status_name data-kind=kind>
                <div class="tool-head">
                    <span class="tool-name">{name}</span>
                    {head}
                    {move || duration.get().map(|ms| view! {
                        <span class="tool-duration" data-testid="tool-duration">{duration_text(ms)}</span>
                    })}
                    <span class="tool-status">{status_label}</span>
                </div>
                {body}
                {move || output.get().map(|text| {
                    if text.trim().is_empty() {
                        return view! { <p class="tool-note">"No output"</p> }.into_any();
                    }
                    let open = text.lines().count() <= OPEN_OUTPUT_LINES;
                    view! {
                        <details class="tool-output" open=open>
                            <summary>"Output"</summary>
                            <ClippedText text/>
                        </details>
                    }
                    .into_any()
                })}
            </div>
        </div>
    }
}

/// What the head names: the file of an edit or write (with its change counts), the
/// purpose of a command, else the agent's title.
fn head_view(name: &str, title: RwSignal<String>, detail: &ToolDetail) -> AnyView {
    match detail {
        ToolDetail::Edit {
            path,
            diff,
            replace_all,
        } => {
            let (added, removed) = counts(diff);
            view! {
                <PathView path=path.clone()/>
                {replace_all.then(|| view! {
                    <span class="tool-tag" title="Every occurrence is replaced">"all occurrences"</span>
                })}
                <DiffStat added removed/>
            }
            .into_any()
        }
        ToolDetail::Write { path, lines } => {
            let added = lines.len();
            view! {
                <PathView path=path.clone()/>
                <DiffStat added removed=0/>
            }
            .into_any()
        }
        ToolDetail::Bash {
            description: Some(description),
            ..
        } => view! { <span class="tool-title">{revealed(description)}</span> }.into_any(),
        _ => {
            let name = name.to_string();
            view! {
                <span class="tool-title">{move || title.with(|t| revealed(short_title(&name, t)))}</span>
            }
            .into_any()
        }
    }
}

/// The input, as the kind of call is best read.
fn body_view(input: String, detail: &ToolDetail) -> AnyView {
    match detail {
        ToolDetail::Edit { diff, .. } => view! { <DiffView lines=diff.clone()/> }.into_any(),
        ToolDetail::Write { lines, .. } if lines.is_empty() => {
            view! { <p class="tool-note">"Empty file"</p> }.into_any()
        }
        ToolDetail::Write { lines, .. } => view! { <DiffView lines=lines.clone()/> }.into_any(),
        ToolDetail::Bash { command, .. } => view! {
            <pre class="tool-command" data-testid="tool-command">
                <span class="command-prompt" aria-hidden="true">"$ "</span>
                {revealed(command)}
            </pre>
        }
        .into_any(),
        ToolDetail::Other => (!input.is_empty())
            .then(|| {
                view! {
                    <details class="tool-input">
                        <summary>"Input"</summary>
                        <ClippedText text=input/>
                    </details>
                }
            })
            .into_any(),
    }
}

fn counts(lines: &[DiffLine]) -> (usize, usize) {
    let count = |kind| lines.iter().filter(|l| l.kind == kind).count();
    (count(DiffKind::Added), count(DiffKind::Removed))
}

/// A file path whose folder gives way (with an ellipsis) before its file name does.
#[component]
fn PathView(path: String) -> impl IntoView {
    let (folder, file) = split_path(&path);
    let (folder, file) = (folder.to_string(), file.to_string());
    view! {
        <span class="tool-title tool-path" title=path>
            <span class="path-folder">{revealed(&folder)}</span>
            <span class="path-file">{revealed(&file)}</span>
        </span>
    }
}

/// `+3 −1`, in green and red.
#[component]
fn DiffStat(added: usize, removed: usize) -> impl IntoView {
    view! {
        <span class="diff-stat" title=format!("{added} lines added, {removed} removed")>
            {(added > 0).then(|| view! { <span class="diff-stat-added">{format!("+{added}")}</span> })}
            {(removed > 0).then(|| view! { <span class="diff-stat-removed">{format!("\u{2212}{removed}")}</span> })}
        </span>
    }
}

/// Diff lines in monospace, the first [`CLIP_LINES`] until "Show all".
#[component]
fn DiffView(lines: Vec<DiffLine>) -> impl IntoView {
    let total = lines.len();
    let expanded = RwSignal::new(false);
    let lines = StoredValue::new(lines);
    let rows = move || {
        let shown = if expanded.get() { total } else { CLIP_LINES };
        lines.with_value(|lines| {
            lines
                .iter()
                .take(shown)
                .map(|line| {
                    view! {
                        <div class=line.class()>
                            <span class="diff-marker" aria-hidden="true">{line.marker()}</span>
                            <span class="diff-text">{revealed(&line.text)}</span>
                        </div>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <div class="tool-diff" data-testid="tool-diff">{rows}</div>
        {(total > CLIP_LINES).then(|| view! {
            <button
                type="button"
                class="show-all"
                data-testid="tool-diff-toggle"
                on:click=move |_| expanded.update(|open| *open = !*open)
            >
                {move || if expanded.get() { "Show less".to_string() } else { format!("Show all {total} lines") }}
            </button>
        })}
    }
}

/// A long text in monospace: the first [`CLIP_TEXT_LINES`] lines (or [`CLIP_TEXT_CHARS`]
/// characters) until "Show all" (`show-all`).
#[component]
fn ClippedText(text: String) -> impl IntoView {
    let Some(end) = clip_at(&text, CLIP_TEXT_LINES, CLIP_TEXT_CHARS) else {
        return view! { <pre>{revealed(&text)}</pre> }.into_any();
    };
    let total = text.lines().count();
    let text: Arc<str> = text.into();
    let expanded = RwSignal::new(false);
    let shown = move || {
        if expanded.get() {
            revealed(&text)
        } else {
            // `end` is a char boundary of this very text (clip_at finds it there).
            revealed(&format!("{}\n…", text.get(..end).unwrap_or_default()))
        }
    };
    let label = move || {
        if expanded.get() {
            "Show less".to_string()
        } else if total > CLIP_TEXT_LINES {
            format!("Show all {total} lines")
        } else {
            "Show all".to_string()
        }
    };
    view! {
        <pre class:clipped=move || !expanded.get()>{shown}</pre>
        <button
            type="button"
            class="show-all"
            data-testid="show-all"
            on:click=move |_| expanded.update(|open| *open = !*open)
        >
            {label}
        </button>
    }
    .into_any()
}
