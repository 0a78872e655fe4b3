//! The composer pinned under the transcript: `chat-input` (Enter sends, Shift+Enter makes a
//! new line), `send-button`, `stop-button` while the agent is busy, and for a draft the
//! agent and permission-mode pickers.

use super::use_store;
use crate::client::actions;
use crate::client::store::SessionView;
use crate::protocol::{AgentKind, SessionState};
use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::html::Textarea;
use leptos::prelude::*;

/// The message box of one session.
#[component]
pub fn Composer(session: SessionView) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let meta = RwSignal::from(session.meta.clone());
    let text = RwSignal::from(session.draft_text.clone());
    let input_ref = NodeRef::<Textarea>::new();
    let is_draft = move || meta.with(|m| m.state == SessionState::Draft);
    let busy = move || meta.with(|m| m.state.is_busy());

    // Ready to type as soon as the tab shows.
    Effect::new(move |_| {
        if let Some(input) = input_ref.get() {
            let _ = input.focus();
        }
    });

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        actions::send_message(store, id);
    };
    let on_keydown = move |ev: KeyboardEvent| {
        // While an IME composes, Enter picks a candidate; it must not send.
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            actions::send_message(store, id);
        }
    };
    let placeholder = move || {
        if is_draft() {
            "Describe the task for the new session… (Enter sends, Shift+Enter for a new line)"
        } else {
            "Message the agent… (Enter sends, Shift+Enter for a new line)"
        }
    };

    view! {
        <form class="composer" on:submit=on_submit>
            <Show when=is_draft>
                <DraftOptions session=session.clone()/>
            </Show>
            <div class="composer-row">
                <textarea
                    class="chat-input"
                    data-testid="chat-input"
                    rows="3"
                    aria-label="Message"
                    placeholder=placeholder
                    node_ref=input_ref
                    bind:value=text
                    on:keydown=on_keydown
                ></textarea>
                <div class="composer-buttons">
                    <Show when=busy>
                        <button
                            type="button"
                            class="stop-button"
                            data-testid="stop-button"
                            title="Stop the agent's current turn"
                            on:click=move |_| actions::stop(store, id)
                        >
                            "Stop"
                        </button>
                    </Show>
                    <button type="submit" class="send-button primary" data-testid="send-button">
                        "Send"
                    </button>
                </div>
            </div>
        </form>
    }
}

/// Agent and permission mode of a draft; fixed once the session exists.
#[component]
fn DraftOptions(session: SessionView) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let meta = RwSignal::from(session.meta.clone());
    let agent = move || meta.with(|m| m.agent);
    let on_agent = move |ev: leptos::ev::Event| {
        if let Some(kind) = AgentKind::parse(&event_target_value(&ev)) {
            actions::set_draft_agent(store, id, kind);
        }
    };
    let on_mode = move |ev: leptos::ev::Event| {
        actions::set_draft_permission_mode(store, id, event_target_value(&ev));
    };
    view! {
        <div class="draft-options">
            <label class="field">
                <span>"Agent"</span>
                <select
                    data-testid="agent-select"
                    prop:value=move || agent().as_str()
                    on:change=on_agent
                >
                    {AgentKind::ALL
                        .iter()
                        .map(|kind| {
                            let kind = *kind;
                            view! {
                                <option value=kind.as_str() selected=move || agent() == kind>
                                    {kind.label()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <label class="field">
                <span>"Permissions"</span>
                <select
                    data-testid="permission-mode-select"
                    prop:value=move || meta.with(|m| m.permission_mode.clone())
                    on:change=on_mode
                >
                    {move || {
                        let current = meta.with(|m| m.permission_mode.clone());
                        agent()
                            .permission_modes()
                            .iter()
                            .map(|mode| {
                                let selected = *mode == current;
                                view! {
                                    <option value=*mode selected=selected>
                                        {mode_label(mode)}
                                    </option>
                                }
                            })
                            .collect_view()
                    }}
                </select>
            </label>
        </div>
    }
}

/// Friendlier names for the permission modes agents commonly use; others show as is.
fn mode_label(mode: &str) -> String {
    match mode {
        "default" => "Ask before tools".to_string(),
        "acceptEdits" => "Accept edits".to_string(),
        "bypassPermissions" => "Never ask".to_string(),
        "plan" => "Plan only".to_string(),
        other => other.to_string(),
    }
}
