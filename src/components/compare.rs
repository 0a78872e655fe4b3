//! The comparison view (`/c/<id>`, `compare-view`): the attempts side by side on a desktop
//! (one `attempt-column` each: agent, state, wall time, tokens, cost, changes with their
//! diff, and the streaming answer), one at a time behind a switcher on a phone; a
//! `follow-up-all` box sends one message to every attempt; `attempt-keep` keeps one.

use super::badges::StateBadge;
use super::changes::ChangesButton;
use super::deferred::Deferred;
use super::messages::MessageList;
use super::panes::{pane_extra, PaneExtra};
use super::use_store;
use crate::client::actions;
use crate::client::compare::{attempts_of, follow_up_all, keep};
use crate::client::format::duration_text;
use crate::client::store::{EntryBody, SessionView};
use crate::protocol::{CompareId, SessionId, WorktreeEnd};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// The `/c/:id` pane.
#[component]
pub fn ComparePane() -> impl IntoView {
    let store = use_store();
    // This pane reads frames the shell holds undecoded (`client::pane_frames`).
    crate::client::pane_frames::read_changes_as_they_come(store);
    let params = use_params_map();
    let compare =
        Memo::new(move |_| params.with(|p| p.get("id").and_then(|id| CompareId::parse(&id))));
    let attempts = Memo::new(move |_| {
        compare
            .get()
            .map(|c| attempts_of(store, c))
            .unwrap_or_default()
    });
    // The phone shows one attempt at a time: this one.
    let shown = RwSignal::new(0usize);
    Effect::new(move |_| {
        for id in attempts.get() {
            actions::transport::subscribe(store, id);
        }
    });
    move || {
        let Some(compare) = compare.get() else {
            return view! { <p class="not-found">"No such comparison."</p> }.into_any();
        };
        let ids = attempts.get();
        if ids.is_empty() {
            return view! {
                <section class="compare-view" data-testid="compare-view" data-compare-id=compare.to_string()>
                    <p class="compare-empty">"Starting the attempts…"</p>
                </section>
            }
            .into_any();
        }
        let count = ids.len();
        let switcher = ids
            .iter()
            .enumerate()
            .map(|(index, id)| {
                let label = store
                    .view(*id)
                    .map(|v| v.meta.with_untracked(|m| m.agent.label()))
                    .unwrap_or_default();
                view! {
                    <button
                        type="button"
                        class="attempt-switch"
                        data-testid="attempt-switch"
                        aria-pressed=move || (shown.get() == index).to_string()
                        on:click=move |_| shown.set(index)
                    >
                        {format!("{} {label}", index + 1)}
                    </button>
                }
            })
            .collect_view();
        let columns = ids
            .iter()
            .enumerate()
            .filter_map(|(index, id)| store.view(*id).map(|view| (index, view)))
            .map(|(index, session)| {
                let current = Signal::derive(move || shown.get().min(count - 1) == index);
                view! { <AttemptColumn compare session current number=index + 1/> }
            })
            .collect_view();
        view! {
            <section class="compare-view" data-testid="compare-view" data-compare-id=compare.to_string()>
                <header class="compare-head">
                    <h2>{format!("Comparing {count} attempts")}</h2>
                    <nav class="attempt-switcher" aria-label="Attempts">{switcher}</nav>
                </header>
                <div class=format!("attempt-columns attempts-{count}")>{columns}</div>
                <FollowUpAll attempts=ids/>
            </section>
        }
        .into_any()
    }
}

/// One attempt: its facts, changes, transcript and "Keep this one".
#[component]
fn AttemptColumn(
    compare: CompareId,
    session: SessionView,
    current: Signal<bool>,
    number: usize,
) -> impl IntoView {
    let id = session.id;
    let meta = RwSignal::from(session.meta.clone());
    let entries = RwSignal::from(session.entries.clone());
    let changes_open = RwSignal::from(session.changes.open.clone());
    let result = RwSignal::from(session.changes.result.clone());
    let asking = RwSignal::new(false);
    let wall = Memo::new(move |_| {
        entries.with(|list| {
            list.iter()
                .map(|e| match &e.body {
                    EntryBody::TurnEnd { duration_ms, .. } => *duration_ms,
                    _ => 0,
                })
                .sum::<u64>()
        })
    });
    let model = move || meta.with(|m| m.model.clone().unwrap_or_else(|| "default model".into()));
    let panel = session.clone();
    // What a column shows counts as read in this tab (the server's read marker follows the
    // one session a tab views, so other tabs still count it).
    let reader = session.clone();
    Effect::new(move |_| {
        meta.with(|m| m.entry_count);
        reader.mark_read();
    });
    view! {
        <article class="attempt-column" class:current=move || current.get() data-testid="attempt-column" data-session-id=id.to_string()>
            <header class="attempt-head">
                <a class="attempt-title" href=actions::session_path(id) title="Open this attempt as a session">
                    {move || format!("{number} · {}", meta.with(|m| m.agent.label()))}
                </a>
                <span class="attempt-model">{model}</span>
                <StateBadge meta/>
            </header>
            <div class="attempt-facts">
                <span title="Wall time of its turns">{move || duration_text(wall.get())}</span>
                <span data-testid="attempt-spend">{move || meta.with(super::spend::spend_text)}</span>
                <ChangesButton session=session.clone()/>
                <button type="button" class="attempt-keep primary" data-testid="attempt-keep" on:click=move |_| asking.set(true)>
                    "Keep this one"
                </button>
            </div>
            {move || result.get().filter(|r| r.is_merge()).map(|r| view! {
                <p class="attempt-result" data-testid="merge-result" data-outcome=r.name()>{r.describe()}</p>
            })}
            <Show when=move || asking.get()>
                <KeepDialog compare kept=id open=asking/>
            </Show>
            <Show when=move || changes_open.get()>
                {
                    let panel = panel.clone();
                    view! { <Deferred load=move || pane_extra(PaneExtra::Changes { session: panel.clone() })/> }
                }
            </Show>
            <MessageList session=session.clone()/>
        </article>
    }
}

/// "Keep this one": what becomes of the other attempts' worktrees and branches.
#[component]
fn KeepDialog(compare: CompareId, kept: SessionId, open: RwSignal<bool>) -> impl IntoView {
    let store = use_store();
    let choose = move |others: WorktreeEnd| {
        open.set(false);
        keep(store, compare, kept, others);
    };
    view! {
        <div class="keep-dialog" role="dialog" data-testid="keep-dialog" aria-label="Keep this attempt">
            <p>"Merge this attempt's branch into its base and end the other attempts. Their worktrees and branches:"</p>
            <div class="keep-choices">
                <button type="button" data-testid="keep-choice" data-choice="keep" on:click=move |_| choose(WorktreeEnd::Keep)>"Keep them"</button>
                <button type="button" data-testid="keep-choice" data-choice="remove-worktree" on:click=move |_| choose(WorktreeEnd::RemoveWorktree)>"Remove the worktrees, keep the branches"</button>
                <button type="button" class="danger" data-testid="keep-choice" data-choice="remove-both" on:click=move |_| choose(WorktreeEnd::RemoveBoth)>"Remove both (their work is lost)"</button>
                <button type="button" data-testid="confirm-no" on:click=move |_| open.set(false)>"Cancel"</button>
            </div>
        </div>
    }
}

/// One message to every attempt.
#[component]
fn FollowUpAll(attempts: Vec<SessionId>) -> impl IntoView {
    let store = use_store();
    let text = RwSignal::new(String::new());
    let attempts = StoredValue::new(attempts);
    let send = move || {
        let message = text.get_untracked();
        if !message.trim().is_empty() {
            attempts.with_value(|ids| follow_up_all(store, ids, &message));
            text.set(String::new());
        }
    };
    view! {
        <form class="follow-up-all" on:submit=move |ev| { ev.prevent_default(); send(); }>
            <textarea
                class="chat-input"
                data-testid="follow-up-input"
                rows="2"
                aria-label="Follow-up for every attempt"
                placeholder="A follow-up for every attempt… (Enter sends; to ask one attempt, open its tab)"
                bind:value=text
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        send();
                    }
                }
            ></textarea>
            <button type="submit" class="primary" data-testid="follow-up-all">"Send to all"</button>
        </form>
    }
}
