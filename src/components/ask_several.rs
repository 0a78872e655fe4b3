//! "Ask several" in a new session's draft: `ask-several` turns the draft into 2 to 4
//! attempts, each an `attempt-config` row (`data-index`) with its agent, model and
//! permission mode; Send then asks every attempt the same prompt.

use super::use_store;
use crate::client::compare::AttemptDraft;
use crate::protocol::{AgentId, MAX_ATTEMPTS, MIN_ATTEMPTS};
use leptos::prelude::*;

/// The toggle under the composer of a draft.
#[component]
pub fn AskSeveralToggle(
    several: RwSignal<Option<Vec<AttemptDraft>>>,
    agent: Signal<AgentId>,
) -> impl IntoView {
    let toggle = move |_| {
        several.update(|s| {
            *s = match s {
                Some(_) => None,
                None => Some(vec![AttemptDraft::of(agent.get_untracked()); MIN_ATTEMPTS]),
            }
        })
    };
    view! {
        <button
            type="button"
            class="ask-several"
            data-testid="ask-several"
            aria-pressed=move || several.with(Option::is_some).to_string()
            title="Ask 2 to 4 agents (or models) the same thing, each in its own worktree, and keep the best answer"
            on:click=toggle
        >
            "Ask several"
        </button>
    }
}

/// The attempts, while the draft asks several.
#[component]
pub fn AttemptsConfig(several: RwSignal<Option<Vec<AttemptDraft>>>) -> impl IntoView {
    let count = move || several.with(|s| s.as_ref().map_or(0, Vec::len));
    let add = move |_: leptos::ev::MouseEvent| {
        several.update(|s| {
            if let Some(list) = s {
                if list.len() < MAX_ATTEMPTS {
                    let last = list
                        .last()
                        .cloned()
                        .unwrap_or_else(|| AttemptDraft::of(AgentId::demo()));
                    list.push(last);
                }
            }
        })
    };
    view! {
        <div class="attempts" data-testid="attempts">
            <p class="attempts-help">
                "Each attempt is a session of its own, in its own worktree from the same commit. Send asks them all."
            </p>
            {move || (0..count()).map(|index| view! { <AttemptRow several index/> }).collect_view()}
            <button type="button" class="attempt-add" data-testid="attempt-add" disabled=move || { count() >= MAX_ATTEMPTS } on:click=add>
                "Add an attempt"
            </button>
        </div>
    }
}

#[component]
fn AttemptRow(several: RwSignal<Option<Vec<AttemptDraft>>>, index: usize) -> impl IntoView {
    let store = use_store();
    let attempt = move || several.with(|s| s.as_ref().and_then(|l| l.get(index).cloned()));
    let edit = move |change: &dyn Fn(&mut AttemptDraft)| {
        several.update(|s| {
            if let Some(a) = s.as_mut().and_then(|l| l.get_mut(index)) {
                change(a);
            }
        })
    };
    let agent = move || attempt().map(|a| a.agent).unwrap_or_else(AgentId::demo);
    let info = move || store.agent_info(&agent());
    let remove = move |_| {
        several.update(|s| {
            if let Some(list) = s {
                if list.len() > MIN_ATTEMPTS {
                    list.remove(index);
                }
            }
        })
    };
    view! {
        <div class="attempt-config" data-testid="attempt-config" data-index=index>
            <span class="attempt-number">{index + 1}</span>
            <select
                aria-label=format!("Attempt {}: agent", index + 1)
                data-testid="attempt-agent"
                prop:value=move || agent().0
                on:change=move |ev| {
                    let value = AgentId(event_target_value(&ev));
                    edit(&|a| { a.agent = value.clone(); a.mode = None; });
                }
            >
                {move || store.installed_agents().into_iter().map(|i| {
                    let selected = agent() == i.id;
                    view! { <option value=i.id.0 selected=selected>{i.label}</option> }
                }).collect_view()}
            </select>
            <Show when=move || info().models>
                <input
                    aria-label=format!("Attempt {}: model", index + 1)
                    data-testid="attempt-model"
                    placeholder="default model"
                    prop:value=move || attempt().map(|a| a.model).unwrap_or_default()
                    on:change=move |ev| {
                        let value = event_target_value(&ev);
                        edit(&|a| a.model = value.clone());
                    }
                />
            </Show>
            <select
                aria-label=format!("Attempt {}: permission mode", index + 1)
                data-testid="attempt-mode"
                on:change=move |ev| {
                    let value = event_target_value(&ev);
                    edit(&|a| a.mode = Some(value.clone()));
                }
            >
                {move || {
                    let chosen = attempt().and_then(|a| a.mode).unwrap_or_else(|| info().default_mode());
                    info().modes.into_iter().map(|mode| {
                        let selected = mode == chosen;
                        view! { <option value=mode.clone() selected=selected>{mode.clone()}</option> }
                    }).collect_view()
                }}
            </select>
            <button type="button" class="attempt-remove" aria-label="Remove this attempt" on:click=remove>"×"</button>
        </div>
    }
}
