//! Where a draft will run, under its composer: its project, and in a git project the
//! `worktree-toggle` ("Isolated worktree", on by default where possible, disabled with the
//! reason where not) with `base-branch-select`. Fixed once the first message creates the
//! session.

use super::use_store;
use crate::client::projects::{self, base_branch, project_of, wants_worktree};
use crate::client::store::SessionView;
use leptos::prelude::*;

/// The one line that says what the worktree box does.
const WORKTREE_NOTE: &str =
    "Runs on its own branch in a separate folder; other sessions can't touch its files.";

/// The draft's project and worktree choices.
#[component]
pub fn DraftPlace(session: SessionView) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let meta = RwSignal::from(session.meta.clone());
    let place = RwSignal::from(session.draft_place.clone());
    let project = Memo::new(move |_| {
        let chosen = meta.with(|m| m.project);
        store
            .projects
            .with(|list| project_of(list, chosen).cloned())
    });
    let unavailable = move || {
        project.with(|p| {
            p.as_ref().and_then(|p| {
                p.worktree_unavailable.clone().or_else(|| {
                    (!p.is_git).then(|| "The project is not a git repository.".to_owned())
                })
            })
        })
    };
    let checked = move || place.with(|place| project.with(|p| wants_worktree(p.as_ref(), place)));
    let branches =
        move || project.with(|p| p.as_ref().map(|p| p.branches.clone()).unwrap_or_default());
    let base = move || place.with(|place| project.with(|p| base_branch(p.as_ref(), place)));
    let on_toggle = move |ev: leptos::ev::Event| {
        projects::set_draft_worktree(store, id, event_target_checked(&ev));
    };
    let on_branch = move |ev: leptos::ev::Event| {
        projects::set_draft_base_branch(store, id, event_target_value(&ev));
    };
    move || {
        project.get().map(|p| {
            let name = match &p.machine_name {
                Some(machine) => format!("{} (on {machine})", p.name),
                None => p.name.clone(),
            };
            let path = p.path.clone();
            view! {
                <div class="draft-place" data-testid="draft-place">
                    <span class="draft-project" title=path>
                        <span class="field-label">"Project"</span>
                        <strong>{name}</strong>
                    </span>
                    <label
                        class="worktree-field"
                        class:disabled=move || unavailable().is_some()
                        title=move || unavailable().unwrap_or_else(|| WORKTREE_NOTE.to_owned())
                    >
                        <input
                            type="checkbox"
                            data-testid="worktree-toggle"
                            prop:checked=checked
                            disabled=move || unavailable().is_some()
                            on:change=on_toggle
                        />
                        "Isolated worktree"
                    </label>
                    <Show when=move || checked() && !branches().is_empty()>
                        <label class="field base-branch-field">
                            <span class="field-label">"from"</span>
                            <select
                                data-testid="base-branch-select"
                                aria-label="Base branch"
                                prop:value=move || base().unwrap_or_default()
                                on:change=on_branch
                            >
                                {move || {
                                    let current = base();
                                    branches()
                                        .into_iter()
                                        .map(|branch| {
                                            let selected = current.as_deref() == Some(branch.as_str());
                                            view! { <option value=branch.clone() selected=selected>{branch.clone()}</option> }
                                        })
                                        .collect_view()
                                }}
                            </select>
                        </label>
                    </Show>
                    <p class="worktree-note" data-testid="worktree-note">
                        {move || match unavailable() {
                            Some(reason) => format!("No isolated worktree here: {reason}"),
                            None if checked() => WORKTREE_NOTE.to_owned(),
                            None => "Runs in the project's own folder, shared with other sessions there.".to_owned(),
                        }}
                    </p>
                </div>
            }
        })
    }
}
