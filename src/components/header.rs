//! The session header: the title (`rename-session`: click it, type, Enter saves, Escape
//! cancels), agent, model, state, project and worktree branch (`session-branch`), usage
//! (`session-usage`, exact figures in its tooltip), `changes-button`, and `end-session`,
//! which asks in `confirm-dialog` first (for a worktree session: what becomes of it).

use super::badges::{ImportedBadge, StateBadge};
use super::changes::ChangesButton;
use super::deferred::Deferred;
use super::panes::{pane_extra, PaneExtra};
use super::spend::SessionSpend;
use super::use_store;
use crate::client::actions;
use crate::client::format::{usage_details, usage_summary};
use crate::client::projects::project_of;
use crate::client::store::SessionView;
use crate::protocol::SessionState;
use leptos::ev::KeyboardEvent;
use leptos::html::{Button, Input};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// The bar above the transcript.
#[component]
pub fn SessionHeader(session: SessionView) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let meta = RwSignal::from(session.meta.clone());
    let confirming = RwSignal::new(false);
    let title_ref = NodeRef::<Input>::new();
    let is_draft = move || meta.with(|m| m.state == SessionState::Draft);
    let initial_title = meta.with_untracked(|m| m.title.clone());
    // Memos: the meta changes with every event; these only when their text does.
    let usage = Memo::new(move |_| {
        meta.with(|m| usage_summary(&m.usage).map(|summary| (summary, usage_details(&m.usage))))
    });
    let context = Memo::new(move |_| meta.with(|m| m.usage.context_percent()));
    let model = Memo::new(move |_| {
        meta.with(|m| {
            m.model
                .as_deref()
                .map(str::trim)
                .filter(|model| !model.is_empty() && m.state != SessionState::Draft)
                .map(str::to_string)
        })
    });

    // Drafts show where they will run under the composer instead.
    let project_name = Memo::new(move |_| {
        let project = meta.with(|m| (m.state != SessionState::Draft).then_some(m.project));
        project.and_then(|project| {
            store
                .projects
                .with(|list| project_of(list, project).map(|p| p.name.clone()))
        })
    });
    let branch = Memo::new(move |_| {
        meta.with(|m| {
            m.worktree.as_ref().map(|w| {
                let base = match &w.base_branch {
                    Some(base) => format!("Its own branch, made from {base}"),
                    None => "Its own branch".to_owned(),
                };
                (w.branch.clone(), base)
            })
        })
    });
    let has_worktree =
        move || meta.with(|m| m.worktree.is_some() && m.state != SessionState::Draft);

    // One path for saving: Enter blurs, and leaving the field saves what it holds.
    // (From the event, not the ref: the field may be on its way out with its pane.)
    let save = move |ev: leptos::ev::FocusEvent| {
        actions::rename(store, id, event_target_value(&ev));
    };
    // A field removed with its pane gets no blur event, so a rename in progress would be
    // lost whatever replaces the pane (a tab shortcut, Back, the session ending elsewhere):
    // when the header goes while its field still has the focus, that saves too. (On the
    // server the ref never holds an element, so this does nothing there.)
    on_cleanup(move || {
        let Some(input) = title_ref.try_get_untracked().flatten() else {
            return;
        };
        let field: &leptos::web_sys::Element = &input;
        if document().active_element().as_ref() == Some(field) {
            actions::rename(store, id, input.value());
        }
    });
    let on_keydown = move |ev: KeyboardEvent| {
        let Some(input) = title_ref.get_untracked() else {
            return;
        };
        match ev.key().as_str() {
            "Enter" => {
                ev.prevent_default();
                let _ = input.blur();
            }
            "Escape" => {
                input.set_value(&meta.with_untracked(|m| m.title.clone()));
                let _ = input.blur();
            }
            _ => {}
        }
    };
    let on_focus = move |_| {
        if let Some(input) = title_ref.get_untracked() {
            input.select();
        }
    };

    view! {
        <header class="session-header">
            <div class="session-heading">
                <input
                    class="title-input"
                    data-testid="rename-session"
                    aria-label="Session title (click to rename)"
                    title=move || if is_draft() { "The first message names the session" } else { "Click to rename" }
                    node_ref=title_ref
                    value=initial_title
                    prop:value=move || meta.with(|m| m.title.clone())
                    readonly=is_draft
                    on:keydown=on_keydown
                    on:focus=on_focus
                    on:blur=save
                />
                <div class="session-facts">
                    <span class="agent-label">{move || meta.with(|m| m.agent.label())}</span>
                    {move || model.get().map(|model| view! {
                        <span class="session-model" title="Model">{model}</span>
                    })}
                    <StateBadge meta/>
                    <ImportedBadge meta/>
                    {move || project_name.get().map(|name| view! {
                        <span class="session-project" data-testid="session-project" title="Project">{name}</span>
                    })}
                    {move || branch.get().map(|(branch, base)| view! {
                        <span class="session-branch" data-testid="session-branch" title=base>{branch}</span>
                    })}
                    <span class="session-cwd" title="Working directory">{move || meta.with(|m| m.cwd.clone())}</span>
                    {move || usage.get().map(|(summary, details)| view! {
                        <span class="session-usage" data-testid="session-usage" title=details>
                            {summary}
                        </span>
                    })}
                    {move || context.get().map(|percent| view! {
                        <span
                            class="context-meter"
                            data-testid="context-meter"
                            data-percent=percent
                            title="How full the model's context window is (as the agent reports it)"
                        >
                            <meter min="0" max="100" low="70" high="90" optimum="0" value=percent></meter>
                            {format!("context {percent}%")}
                        </span>
                    })}
                </div>
            </div>
            <SessionSpend session=session.clone()/>
            <ChangesButton session=session.clone()/>
            <button
                class="end-session-button"
                data-testid="end-session"
                title=move || if is_draft() { "Discard this draft" } else { "End this session (archives it)" }
                on:click=move |_| confirming.set(true)
            >
                {move || if is_draft() { "Discard" } else { "End session" }}
            </button>
            <Show when=move || confirming.get()>
                {
                    let session = session.clone();
                    view! {
                        // Untracked: the dialog is built once per opening, not again (and
                        // fetched again) at every change of the session's metadata.
                        <Deferred load=move || {
                            let (session, worktree) = (session.clone(), untrack(has_worktree));
                            pane_extra(PaneExtra::End { session, open: confirming, worktree })
                        }/>
                    }
                }
            </Show>
        </header>
    }
}

/// The `confirm-dialog` of "End session", worded by whether the agent is working.
#[component]
pub fn ConfirmEnd(session: SessionView, open: RwSignal<bool>) -> impl IntoView {
    let store = use_store();
    let navigate = use_navigate();
    let id = session.id;
    let meta = RwSignal::from(session.meta.clone());
    let yes_ref = NodeRef::<Button>::new();
    let busy = move || meta.with(|m| m.state.is_busy());
    let is_draft = move || meta.with(|m| m.state == SessionState::Draft);

    Effect::new(move |_| {
        if let Some(button) = yes_ref.get() {
            let _ = button.focus();
        }
    });
    let confirm = move |_| {
        open.set(false);
        let next = actions::end_session(store, id);
        let path = actions::next_path(next);
        navigate(&path, actions::nav_options());
    };
    let cancel = move |_| open.set(false);
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Escape" {
            open.set(false);
        }
    };
    let message = move || {
        if is_draft() {
            "This draft has not been sent. Discard it?"
        } else if busy() {
            "The agent is still working. Ending the session stops it and archives the conversation."
        } else {
            "The session will be archived and removed from the sidebar."
        }
    };

    view! {
        <div class="modal-backdrop" on:click=cancel>
            <div
                class="modal"
                role="dialog"
                aria-modal="true"
                aria-labelledby="confirm-title"
                data-testid="confirm-dialog"
                on:click=|ev| ev.stop_propagation()
                on:keydown=on_keydown
            >
                <h2 id="confirm-title">
                    {move || if is_draft() { "Discard draft?" } else { "End this session?" }}
                </h2>
                <p>{message}</p>
                <div class="modal-actions">
                    <button class="secondary" data-testid="confirm-cancel" on:click=cancel>
                        "Cancel"
                    </button>
                    <button class="danger" data-testid="confirm-yes" node_ref=yes_ref on:click=confirm>
                        {move || if is_draft() { "Discard" } else if busy() { "Stop and end" } else { "End session" }}
                    </button>
                </div>
            </div>
        </div>
    }
}
