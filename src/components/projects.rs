//! The sidebar's projects: one group per project (`project-item` header with its name, a
//! menu to rename it inline or remove it after `confirm-dialog`, and `project-new-session`)
//! and its sessions under it. What a click shows (the menu, the rename field, the removal's
//! dialog) is in [`super::project_menu`], the "Add project" form in [`super::add_project`].

use super::deferred::Deferred;
use super::panes::{sidebar_extra, SidebarExtra};
use super::sidebar::SessionItem;
use super::use_store;
use crate::client::actions::{self, session_path};
use crate::client::compare::{compare_path, nest, ListRow};
use crate::client::projects;
use crate::protocol::CompareId;
use crate::protocol::{ProjectId, SessionId};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// One project's group: its header (none for the sessions of no known project while no
/// project is known, so the list looks as it did before projects) and its sessions.
#[component]
pub fn ProjectGroup(project: Option<ProjectId>, sessions: Memo<Vec<SessionId>>) -> impl IntoView {
    let store = use_store();
    let header = move || match project {
        Some(id) => Some(view! { <ProjectHeader id/> }.into_any()),
        None => store.projects.with(|p| !p.is_empty()).then(|| {
            view! { <div class="project-item project-other">"Other sessions"</div> }.into_any()
        }),
    };
    view! {
        <li class="project-group">
            {header}
            <ul class="project-sessions">
                <For
                    each=move || {
                        sessions.with(|ids| {
                            nest(ids, |id| store.view(id).and_then(|v| v.meta.with(|m| m.compare)))
                        })
                    }
                    key=|row| *row
                    children=move |row| match row {
                        ListRow::Compare(compare) => view! { <CompareItem compare sessions/> }.into_any(),
                        ListRow::Session(id) | ListRow::Attempt(id) => store
                            .view(id)
                            .map(|session| view! { <SessionItem session/> })
                            .into_any(),
                    }
                />
            </ul>
        </li>
    }
}

/// A comparison's header in the list (`compare-item`): its attempts follow, nested; it
/// opens the comparison view.
#[component]
fn CompareItem(compare: CompareId, sessions: Memo<Vec<SessionId>>) -> impl IntoView {
    let store = use_store();
    let location = leptos_router::hooks::use_location();
    let count = move || {
        sessions.with(|ids| {
            ids.iter()
                .filter(|id| {
                    store
                        .view(**id)
                        .is_some_and(|v| v.meta.with(|m| m.compare == Some(compare)))
                })
                .count()
        })
    };
    let path = compare_path(compare);
    let current = {
        let path = path.clone();
        move || (location.pathname.get() == path).then_some("page")
    };
    view! {
        <li class="compare-item" data-testid="compare-item" data-compare-id=compare.to_string()>
            <a href=path aria-current=current>
                <span aria-hidden="true">"⇆ "</span>
                {move || format!("Comparison · {} attempts", count())}
            </a>
        </li>
    }
}

/// A project's header: name (or the rename field), menu, and "+".
#[component]
fn ProjectHeader(id: ProjectId) -> impl IntoView {
    let store = use_store();
    let navigate = use_navigate();
    let project = Memo::new(move |_| {
        store
            .projects
            .with(|list| list.iter().find(|p| p.id == id).cloned())
    });
    let name = move || project.with(|p| p.as_ref().map(|p| p.name.clone()).unwrap_or_default());
    let path = move || project.with(|p| p.as_ref().map(|p| p.path.clone()).unwrap_or_default());
    let machine = move || project.with(|p| p.as_ref().and_then(|p| p.machine_name.clone()));
    let menu_open = RwSignal::new(false);
    let renaming = RwSignal::new(false);
    let removing = RwSignal::new(false);
    let new_session = move |_| {
        let draft = projects::new_draft_in(store, Some(id));
        navigate(&session_path(draft), actions::nav_options());
    };
    // The menu closes when the focus leaves the header (a click elsewhere, Tab away).
    let on_focus_out = move |ev: leptos::ev::FocusEvent| {
        use leptos::wasm_bindgen::JsCast;
        let inside = ev
            .related_target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::Node>().ok())
            .zip(
                ev.current_target()
                    .and_then(|t| t.dyn_into::<leptos::web_sys::Node>().ok()),
            )
            .is_some_and(|(to, header)| header.contains(Some(&to)));
        if !inside {
            menu_open.set(false);
        }
    };
    view! {
        <div
            class="project-item"
            data-testid="project-item"
            data-project-id=id.to_string()
            on:focusout=on_focus_out
        >
            {move || if renaming.get() {
                view! {
                    <Deferred load=move || sidebar_extra(SidebarExtra::RenameField { id, name: name(), renaming })/>
                }
                .into_any()
            } else {
                view! {
                    <span class="project-name" title=path>{name}</span>
                    {move || machine().map(|machine| view! {
                        <span class="project-machine" data-testid="project-machine-name">
                            {format!("on {machine}")}
                        </span>
                    })}
                }
                .into_any()
            }}
            <button
                type="button"
                class="project-menu-button icon-button"
                data-testid="project-menu"
                aria-haspopup="menu"
                aria-expanded=move || if menu_open.get() { "true" } else { "false" }
                aria-label=move || format!("{} options", name())
                title="Rename or remove"
                on:click=move |_| menu_open.update(|open| *open = !*open)
            >
                "⋯"
            </button>
            <button
                type="button"
                class="project-new-session icon-button"
                data-testid="project-new-session"
                title=move || format!("New session in {}", name())
                aria-label=move || format!("New session in {}", name())
                on:click=new_session
            >
                "+"
            </button>
            <Show when=move || menu_open.get()>
                <Deferred load=move || sidebar_extra(SidebarExtra::ProjectMenu { menu_open, renaming, removing })/>
            </Show>
            <Show when=move || removing.get()>
                <Deferred load=move || sidebar_extra(SidebarExtra::ConfirmRemove { id, name: name(), open: removing })/>
            </Show>
        </div>
    }
}
