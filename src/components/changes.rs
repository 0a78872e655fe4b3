//! The Changes panel of a session in a git project (a side panel on desktop, a bottom
//! sheet on phones): `changes-button` in the header opens it; it lists `change-file` rows
//! (status, +/- counts), shows one file's coloured `change-diff`, and keeps or drops the
//! work: `commit-message` + `commit-button`, `discard-file` / `discard-all` (asked first),
//! and for a worktree session `merge-button` with `merge-result`.

use super::confirm::Confirm;
use super::use_store;
use crate::client::changes::{self, diff_lines, has_changes, plural, GitOp};
use crate::client::store::SessionView;
use crate::protocol::{DiffBody, FileChange};
use leptos::ev::KeyboardEvent;
use leptos::prelude::*;

/// `changes-button` (with `data-count`): how many files the session changed; toggles the
/// panel. Only for sessions in git projects.
#[component]
pub fn ChangesButton(session: SessionView) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let meta = RwSignal::from(session.meta.clone());
    let open = RwSignal::from(session.changes.open.clone());
    let shown = Memo::new(move |_| store.projects.with(|p| has_changes(p, &session)));
    let count = Memo::new(move |_| meta.with(|m| m.changes.map_or(0, |c| c.files)));
    move || {
        shown.get().then(|| {
            view! {
                <button
                    type="button"
                    class="changes-button"
                    class=("has-changes", move || count.get() > 0)
                    data-testid="changes-button"
                    data-count=move || count.get()
                    aria-pressed=move || if open.get() { "true" } else { "false" }
                    title="What this session changed in its folder"
                    on:click=move |_| changes::toggle_panel(store, id)
                >
                    "Changes"
                    <span class="changes-count">{move || count.get()}</span>
                </button>
            }
        })
    }
}

/// The panel itself; rendered while open.
#[component]
pub fn ChangesPanel(session: SessionView) -> impl IntoView {
    let store = use_store();
    // This pane reads frames the shell holds undecoded (`client::pane_frames`).
    crate::client::pane_frames::read_changes_as_they_come(store);
    let id = session.id;
    let meta = RwSignal::from(session.meta.clone());
    let state = session.changes.clone();
    let summary = RwSignal::from(state.summary.clone());
    let selected = RwSignal::from(state.selected.clone());
    let error = RwSignal::from(state.error.clone());
    let loading = RwSignal::from(state.loading.clone());
    let diffs = RwSignal::from(state.diffs.clone());
    let confirm = RwSignal::new(None::<Option<String>>);

    // Asked when the panel opens, and again whenever the count or the log moves while it
    // is open; nothing is asked while the session is idle.
    let moved = Memo::new(move |_| meta.with(|m| (m.changes, m.last_seq)));
    Effect::new(move |_| {
        moved.track();
        changes::refresh(store, id);
    });
    // The shown file's diff, again after each summary (which makes the old one stale).
    Effect::new(move |_| {
        summary.track();
        if let Some(path) = selected.get() {
            if !diffs.with_untracked(|d| d.contains_key(&path)) {
                changes::fetch_diff(store, id, path);
            }
        }
    });

    // What the body shows; the list inside follows the files without being rebuilt.
    let listing = Memo::new(move |_| {
        summary.with(|s| match s {
            None => Listing::Unknown,
            Some(s) if s.files.is_empty() => Listing::Empty,
            Some(_) => Listing::Files,
        })
    });
    let files = move || summary.with(|s| s.as_ref().map(|s| s.files.clone()).unwrap_or_default());
    let base = move || summary.with(|s| s.as_ref().map(|s| s.base.clone()));
    let close = move |_| changes::close_panel(store, id);
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Escape" && confirm.with_untracked(Option::is_none) {
            changes::close_panel(store, id);
        }
    };
    let footer_session = session.clone();
    view! {
        <div class="changes-scrim" aria-hidden="true" on:click=close></div>
        <aside
            class="changes-panel"
            data-testid="changes-panel"
            aria-label="Changes"
            on:keydown=on_keydown
        >
            <header class="changes-header">
                <div class="changes-heading">
                    <h2>"Changes"</h2>
                    <span class="changes-base" data-testid="changes-base">
                        {move || base().map(|base| format!("against {base}"))}
                    </span>
                </div>
                <button
                    type="button"
                    class="icon-button changes-close"
                    data-testid="changes-close"
                    aria-label="Close the Changes panel"
                    title="Close"
                    on:click=close
                >
                    "✕"
                </button>
            </header>
            {move || error.get().map(|message| view! {
                <p class="changes-error" role="alert" data-testid="changes-error">{message}</p>
            })}
            <div class="changes-body">
                {move || {
                    if listing.get() == Listing::Unknown {
                        let text = if loading.get() { "Looking for changes…" } else { "" };
                        return view! { <p class="changes-empty">{text}</p> }.into_any();
                    }
                    if listing.get() == Listing::Empty {
                        return view! {
                            <p class="changes-empty" data-testid="changes-empty">
                                "No changes: the folder is as its base."
                            </p>
                        }.into_any();
                    }
                    let session = session.clone();
                    view! {
                        <ul class="change-list">
                            <For
                                each=files
                                key=|f| (f.path.clone(), f.status.name(), f.added, f.removed)
                                children=move |file| view! {
                                    <ChangeRow session=session.clone() file confirm/>
                                }
                            />
                        </ul>
                    }.into_any()
                }}
            </div>
            <ChangesFooter session=footer_session confirm/>
            {move || confirm.get().map(|path| view! { <ConfirmDiscard session=id path open=confirm/> })}
        </aside>
    }
}

/// What the panel's body shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    /// No summary yet.
    Unknown,
    /// Nothing changed.
    Empty,
    /// The changed files.
    Files,
}

/// One changed file: status, path, counts; clicking shows its diff under it.
#[component]
fn ChangeRow(
    session: SessionView,
    file: FileChange,
    confirm: RwSignal<Option<Option<String>>>,
) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let selected = RwSignal::from(session.changes.selected.clone());
    let diffs = RwSignal::from(session.changes.diffs.clone());
    let busy = RwSignal::from(session.changes.busy.clone());
    let path = file.path.clone();
    let is_open = {
        let path = path.clone();
        move || selected.with(|s| s.as_deref() == Some(path.as_str()))
    };
    let counts = match (file.added, file.removed) {
        (Some(added), Some(removed)) => view! {
            <span class="change-counts">
                <span class="added">{format!("+{added}")}</span>
                <span class="removed">{format!("-{removed}")}</span>
            </span>
        }
        .into_any(),
        _ => view! { <span class="change-counts binary">"binary"</span> }.into_any(),
    };
    let status = file.status.name();
    let renamed = file.old_path.clone().map(|old| format!("from {old}"));
    let (toggle_path, discard_path, diff_path) = (path.clone(), path.clone(), path.clone());
    let is_open_class = is_open.clone();
    view! {
        <li
            class="change-file"
            class:open=is_open_class
            data-testid="change-file"
            data-path=path.clone()
            data-status=status
        >
            <div class="change-row">
                <button
                    type="button"
                    class="change-open"
                    aria-expanded={
                        let is_open = is_open.clone();
                        move || if is_open() { "true" } else { "false" }
                    }
                    title=format!("{status}: show the diff")
                    on:click=move |_| changes::toggle_diff(store, id, toggle_path.clone())
                >
                    <span class="change-status" data-status=status>{status_letter(status)}</span>
                    <span class="change-path">{path.clone()}</span>
                    {renamed.map(|from| view! { <span class="change-from">{from}</span> })}
                    {counts}
                </button>
                <button
                    type="button"
                    class="discard-file"
                    data-testid="discard-file"
                    title="Put this file back as it is in the base"
                    disabled=move || busy.with(Option::is_some)
                    on:click=move |_| confirm.set(Some(Some(discard_path.clone())))
                >
                    "Discard"
                </button>
            </div>
            <Show when=is_open>
                {
                    let diff_path = diff_path.clone();
                    move || {
                        let body = diffs.with(|d| d.get(&diff_path).cloned());
                        view! { <DiffView body/> }
                    }
                }
            </Show>
        </li>
    }
}

/// The one-letter badge of a status, as git shows it.
fn status_letter(status: &str) -> &'static str {
    match status {
        "added" => "A",
        "modified" => "M",
        "deleted" => "D",
        "renamed" => "R",
        _ => "U",
    }
}

/// A file's diff, coloured by line, or why it is not shown.
#[component]
fn DiffView(body: Option<DiffBody>) -> impl IntoView {
    match body {
        None => view! { <p class="change-diff-loading">"Loading the diff…"</p> }.into_any(),
        Some(DiffBody::Text { text }) => {
            let lines = diff_lines(&text)
                .into_iter()
                .map(|(kind, line)| {
                    let line = format!("{line}\n");
                    view! { <span class=kind.class()>{line}</span> }
                })
                .collect_view();
            view! { <pre class="change-diff" data-testid="change-diff" data-kind="text">{lines}</pre> }
                .into_any()
        }
        Some(DiffBody::Binary) => view! {
            <p class="change-diff note" data-testid="change-diff" data-kind="binary">
                "Binary file: no lines to show."
            </p>
        }
        .into_any(),
        Some(DiffBody::TooLarge { bytes }) => view! {
            <p class="change-diff note" data-testid="change-diff" data-kind="too_large">
                {format!("This diff is {} KB, too large to show here.", bytes.div_ceil(1024))}
            </p>
        }
        .into_any(),
    }
}

/// Commit, discard everything, merge, and how the last of these went.
#[component]
fn ChangesFooter(session: SessionView, confirm: RwSignal<Option<Option<String>>>) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let meta = RwSignal::from(session.meta.clone());
    let summary = RwSignal::from(session.changes.summary.clone());
    let busy = RwSignal::from(session.changes.busy.clone());
    let result = RwSignal::from(session.changes.result.clone());
    let message_view = session.clone();
    let message = Signal::derive(move || changes::commit_message(&message_view));
    let uncommitted = move || summary.with(|s| s.as_ref().map_or(0, |s| s.uncommitted));
    let unmerged = move || summary.with(|s| s.as_ref().map_or(0, |s| s.unmerged_commits));
    let no_files = move || summary.with(|s| s.as_ref().is_none_or(|s| s.files.is_empty()));
    let base_branch = Memo::new(move |_| {
        meta.with(|m| {
            m.worktree.as_ref().map(|w| {
                w.base_branch
                    .clone()
                    .unwrap_or_else(|| "its base".to_owned())
            })
        })
    });
    let commit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        changes::commit(store, id, message.get_untracked());
    };
    let working = move |op: GitOp| busy.get() == Some(op);
    view! {
        <footer class="changes-footer">
            <form class="commit-form" on:submit=commit>
                <input
                    type="text"
                    class="commit-message"
                    data-testid="commit-message"
                    aria-label="Commit message"
                    placeholder="Commit message"
                    prop:value=message
                    on:input=move |ev| changes::set_commit_message(store, id, event_target_value(&ev))
                />
                <button
                    type="submit"
                    class="primary commit-button"
                    data-testid="commit-button"
                    title=move || format!("Commit {} on the session's branch", plural(uncommitted() as usize, "change", "changes"))
                    disabled=move || busy.with(Option::is_some) || uncommitted() == 0
                >
                    {move || if working(GitOp::Commit) { "Committing…" } else { "Commit" }}
                </button>
            </form>
            <div class="changes-actions">
                <button
                    type="button"
                    class="secondary danger-text"
                    data-testid="discard-all"
                    title="Put every file back as it is in the base"
                    disabled=move || busy.with(Option::is_some) || no_files()
                    on:click=move |_| confirm.set(Some(None))
                >
                    "Discard all"
                </button>
                {move || base_branch.get().map(|base| {
                    let label = format!("Merge into {base}");
                    view! {
                        <button
                            type="button"
                            class="merge-button"
                            data-testid="merge-button"
                            title=move || format!("{} on this branch that {base} does not have", plural(unmerged() as usize, "commit", "commits"))
                            disabled=move || busy.with(Option::is_some)
                            on:click=move |_| changes::merge(store, id)
                        >
                            {move || if working(GitOp::Merge) { "Merging…".to_owned() } else { label.clone() }}
                        </button>
                    }
                })}
            </div>
            {move || result.get().map(|result| {
                let conflicts = result.conflicts().to_vec();
                let testid = if result.is_merge() { "merge-result" } else { "git-result" };
                view! {
                    <div
                        class="git-result"
                        class:refused=result.name() == "refused" || result.name() == "conflict"
                        data-testid=testid
                        data-outcome=result.name()
                        role="status"
                    >
                        <p>{result.describe()}</p>
                        {(!conflicts.is_empty()).then(|| view! {
                            <ul class="conflict-files">
                                {conflicts.into_iter().map(|f| view! { <li>{f}</li> }).collect_view()}
                            </ul>
                        })}
                    </div>
                }
            })}
        </footer>
    }
}

/// Asks before discarding one file (`path`) or everything (`None`).
#[component]
fn ConfirmDiscard(
    session: crate::protocol::SessionId,
    path: Option<String>,
    open: RwSignal<Option<Option<String>>>,
) -> impl IntoView {
    let store = use_store();
    let (title, text) = match &path {
        Some(path) => (
            format!("Discard the changes to {path}?"),
            "The file goes back to how it is in the base. This cannot be undone.",
        ),
        None => (
            "Discard every change?".to_owned(),
            "Every changed file goes back to how it is in the base, and new files are deleted. This cannot be undone.",
        ),
    };
    view! {
        <Confirm
            title
            action="Discard"
            on_cancel=Callback::new(move |()| open.set(None))
            on_yes=Callback::new(move |()| changes::discard(store, session, path.clone()))
        >
            <p>{text}</p>
        </Confirm>
    }
}
