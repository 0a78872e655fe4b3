//! The composer's settings: `agent-select` and `model-input` while the session is a draft
//! (fixed once it exists), and `permission-mode-select` always. A draft's choices are
//! local until its first message creates it; a session's mode changes on the server, and
//! the select follows the server's answer.

use super::use_store;
use crate::client::actions;
use crate::client::format::mode_label;
use crate::client::store::SessionView;
use crate::protocol::{AgentId, SessionState};
use leptos::prelude::*;

/// Model names Claude Code understands as aliases; offered as suggestions, any other name
/// may be typed.
const MODEL_SUGGESTIONS: [&str; 3] = ["sonnet", "opus", "haiku"];

/// The agent picker of a draft.
#[component]
pub fn AgentField(session: SessionView) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let meta = RwSignal::from(session.meta.clone());
    let agent = move || meta.with(|m| m.agent.clone());
    let on_agent = move |ev: leptos::ev::Event| {
        actions::set_draft_agent(store, id, AgentId(event_target_value(&ev)));
    };
    view! {
        <label class="field">
            <span class="field-label">"Agent"</span>
            <select
                data-testid="agent-select"
                prop:value=move || agent().0
                on:change=on_agent
            >
                // Only installed agents; the Doctor page lists the others and how to install them.
                {move || {
                    store
                        .installed_agents()
                        .into_iter()
                        .map(|info| {
                            let selected = agent() == info.id;
                            view! {
                                <option value=info.id.0 selected=selected>
                                    {info.label}
                                </option>
                            }
                        })
                        .collect_view()
                }}
            </select>
        </label>
        {move || {
            let missing = store.agents.with(|list| list.iter().filter(|a| !a.installed).count());
            (missing > 0).then(|| view! {
                <a
                    class="field-link"
                    data-testid="agents-doctor-link"
                    href="/doctor"
                    data-noscroll=""
                    title="Agents not installed on this server, and how to install them"
                >
                    {format!("{missing} not installed")}
                </a>
            })
        }}
    }
}

/// The model of a draft whose agent lets the user choose one; empty means its default.
#[component]
pub fn ModelField(session: SessionView) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let meta = RwSignal::from(session.meta.clone());
    let list_id = format!("models-{id}");
    let on_input = move |ev: leptos::ev::Event| {
        actions::set_draft_model(store, id, event_target_value(&ev));
    };
    view! {
        <label class="field model-field">
            <span class="field-label">"Model"</span>
            <input
                class="model-input"
                data-testid="model-input"
                type="text"
                placeholder="Default model"
                autocomplete="off"
                spellcheck="false"
                title="A model name or alias (sonnet, opus, haiku); empty uses the agent's default"
                list=list_id.clone()
                prop:value=move || meta.with(|m| m.model.clone().unwrap_or_default())
                on:input=on_input
            />
            <datalist id=list_id>
                {MODEL_SUGGESTIONS
                    .iter()
                    .map(|model| view! { <option value=*model></option> })
                    .collect_view()}
            </datalist>
        </label>
    }
}

/// The permission mode: a draft's setting before it starts, a session's live setting after.
#[component]
pub fn PermissionField(session: SessionView) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let meta = RwSignal::from(session.meta.clone());
    let on_mode = move |ev: leptos::ev::Event| {
        actions::set_permission_mode(store, id, event_target_value(&ev));
    };
    let is_draft = move || meta.with(|m| m.state == SessionState::Draft);
    // Patches change the meta often; the options only change with the agent or the mode.
    let choice = Memo::new(move |_| meta.with(|m| (m.agent.clone(), m.permission_mode.clone())));
    let title = move || {
        if is_draft() {
            "How careful the agent is: whether it asks before using tools"
        } else {
            "How careful the agent is; a change applies from its next step"
        }
    };
    view! {
        <label class="field" title=title>
            <span class="field-label">"Permissions"</span>
            <select
                data-testid="permission-mode-select"
                // Set again whenever the session changes, so a refused change snaps back.
                prop:value=move || meta.with(|m| m.permission_mode.clone())
                disabled=move || meta.with(|m| m.state == SessionState::Archived)
                on:change=on_mode
            >
                {move || {
                    let (agent, current) = choice.get();
                    let mut modes = store.agent_info(&agent).modes;
                    // A mode the agent switched to by itself may not be in the list; the
                    // select must still show the truth.
                    if !current.is_empty() && !modes.contains(&current) {
                        modes.push(current.clone());
                    }
                    modes
                        .into_iter()
                        .map(|mode| {
                            let selected = mode == current;
                            let label = mode_label(&mode);
                            view! { <option value=mode selected=selected>{label}</option> }
                        })
                        .collect_view()
                }}
            </select>
        </label>
    }
}
