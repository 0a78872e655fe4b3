//! Ending a worktree session: `confirm-dialog` offers what becomes of its worktree and
//! branch as three `end-worktree-choice` buttons (`data-choice` keep / remove-worktree /
//! remove-both), each ending the session at once; its `confirm-yes` ends it keeping both,
//! as "End session" does for any session. Removing a branch whose commits its base lacks
//! asks a second time (`confirm-yes` then deletes them).

use super::use_store;
use crate::client::actions;
use crate::client::changes::plural;
use crate::client::store::SessionView;
use crate::protocol::WorktreeEnd;
use leptos::ev::KeyboardEvent;
use leptos::html::Button;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// The dialog; rendered while `open`.
#[component]
pub fn EndWorktreeDialog(session: SessionView, open: RwSignal<bool>) -> impl IntoView {
    let store = use_store();
    // Stored, so the choice handlers are `Copy` like the rest.
    let navigate = StoredValue::new_local(use_navigate());
    let id = session.id;
    let meta = RwSignal::from(session.meta.clone());
    let summary = RwSignal::from(session.changes.summary.clone());
    let first_ref = NodeRef::<Button>::new();
    // Set once "remove both" meets unmerged commits: the second question.
    let second = RwSignal::new(false);
    let busy = move || meta.with(|m| m.state.is_busy());
    let branch = move || {
        meta.with(|m| {
            m.worktree
                .as_ref()
                .map(|w| w.branch.clone())
                .unwrap_or_default()
        })
    };
    let base = move || {
        meta.with(|m| {
            m.worktree
                .as_ref()
                .and_then(|w| w.base_branch.clone())
                .unwrap_or_else(|| "its base".to_owned())
        })
    };
    // The open panel's summary is the freshest (it is asked for again after every commit,
    // merge and move of the count); otherwise either figure may lag, and the larger one
    // errs on the side of asking.
    let panel_open = RwSignal::from(session.changes.open.clone());
    let unmerged = move || {
        let live = meta.with(|m| m.changes.map_or(0, |c| c.unmerged_commits));
        let listed = summary.with(|s| s.as_ref().map(|s| s.unmerged_commits));
        match listed {
            Some(listed) if panel_open.get() => listed,
            listed => live.max(listed.unwrap_or(0)),
        }
    };
    Effect::new(move |_| {
        if let Some(button) = first_ref.get() {
            let _ = button.focus();
        }
    });
    let end = move |choice: WorktreeEnd, discard_unmerged: bool| {
        open.set(false);
        let next = actions::end_session_with(store, id, Some(choice), discard_unmerged);
        navigate.with_value(|go| go(&actions::next_path(next), actions::nav_options()));
    };
    let choose = move |choice: WorktreeEnd| {
        if choice == WorktreeEnd::RemoveBoth && unmerged() > 0 {
            second.set(true);
        } else {
            end(choice, false);
        }
    };
    let cancel = move |_| open.set(false);
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Escape" {
            open.set(false);
        }
    };
    let choices = [
        (
            WorktreeEnd::Keep,
            "Keep both",
            "The folder and the branch stay; nothing is lost.",
        ),
        (
            WorktreeEnd::RemoveWorktree,
            "Remove the worktree, keep the branch",
            "Its commits stay on the branch; anything uncommitted goes.",
        ),
        (
            WorktreeEnd::RemoveBoth,
            "Remove both",
            "The folder and the branch go.",
        ),
    ];
    let first_choice = view! {
        <div class="end-choices">
            {choices
                .into_iter()
                .enumerate()
                .map(|(index, (choice, label, note))| {
                    let node_ref = if index == 0 { first_ref } else { NodeRef::new() };
                    view! {
                        <button
                            type="button"
                            class="end-choice"
                            class:danger=choice == WorktreeEnd::RemoveBoth
                            data-testid="end-worktree-choice"
                            data-choice=choice.name()
                            node_ref=node_ref
                            on:click=move |_| choose(choice)
                        >
                            <strong>{label}</strong>
                            <span>{note}</span>
                        </button>
                    }
                })
                .collect_view()}
        </div>
    };
    view! {
        <div class="modal-backdrop" on:click=cancel>
            <div
                class="modal end-dialog"
                role="dialog"
                aria-modal="true"
                aria-labelledby="end-title"
                data-testid="confirm-dialog"
                on:click=|ev| ev.stop_propagation()
                on:keydown=on_keydown
            >
                <Show
                    when=move || second.get()
                    fallback=move || view! {
                        <h2 id="end-title">"End this session?"</h2>
                        <p>
                            {move || busy().then_some("The agent is still working; ending stops it. ")}
                            "It has its own worktree on branch "
                            <code data-testid="end-branch">{branch}</code>
                            ". What becomes of them?"
                        </p>
                    }
                >
                    <h2 id="end-title">"Delete unmerged commits?"</h2>
                    <p data-testid="end-unmerged">
                        {move || {
                            let n = unmerged() as usize;
                            let them = if n == 1 { "it" } else { "them" };
                            format!(
                                "Its {} not in {}; delete {them}?",
                                plural(n, "commit is", "commits are"),
                                base()
                            )
                        }}
                    </p>
                </Show>
                <div prop:hidden=move || second.get()>{first_choice}</div>
                <div class="modal-actions">
                    <button class="secondary" data-testid="confirm-cancel" on:click=cancel>
                        "Cancel"
                    </button>
                    // The dialog's usual "yes" (what ending any session asks) is the choice
                    // that loses nothing; on the second question it is "delete them".
                    <button
                        class=move || if second.get() { "danger" } else { "primary" }
                        data-testid="confirm-yes"
                        on:click=move |_| {
                            if second.get_untracked() {
                                end(WorktreeEnd::RemoveBoth, true)
                            } else {
                                end(WorktreeEnd::Keep, false)
                            }
                        }
                    >
                        {move || if second.get() { "Delete branch and commits" } else { "End, keep both" }}
                    </button>
                </div>
            </div>
        </div>
    }
}
