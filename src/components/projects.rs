//! The sidebar's projects: one group per project (`project-item` header with its name, a
//! menu to rename it inline or remove it after `confirm-dialog`, and `project-new-session`),
//! its sessions under it, and the "Add project" form (`project-add-button`,
//! `project-path-input` with folder completion, `project-name-input`, `project-create`,
//! `project-error`).

use super::confirm::Confirm;
use super::sidebar::SessionItem;
use super::use_store;
use crate::client::actions::{self, session_path};
use crate::client::compare::{compare_path, nest, ListRow};
use crate::client::projects::{self, folder_name, AddState};
use crate::protocol::CompareId;
use crate::protocol::{ProjectId, SessionId};
use leptos::ev::KeyboardEvent;
use leptos::html::Input;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// How long typing in the path field pauses before the server is asked for folders.
const FOLDER_DEBOUNCE_MS: u64 = 180;

/// Most folder suggestions shown under the path field.
const MAX_SUGGESTIONS: usize = 8;

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
    let menu_open = RwSignal::new(false);
    let renaming = RwSignal::new(false);
    let removing = RwSignal::new(false);
    let rename_ref = NodeRef::<Input>::new();
    let new_session = move |_| {
        let draft = projects::new_draft_in(store, Some(id));
        navigate(&session_path(draft), actions::nav_options());
    };
    Effect::new(move |_| {
        if let Some(input) = rename_ref.get() {
            let _ = input.focus();
            input.select();
        }
    });
    let save = move |ev: leptos::ev::FocusEvent| {
        if renaming.get_untracked() {
            renaming.set(false);
            projects::rename_project(store, id, event_target_value(&ev));
        }
    };
    let on_rename_key = move |ev: KeyboardEvent| match ev.key().as_str() {
        "Enter" => {
            ev.prevent_default();
            if let Some(input) = rename_ref.get_untracked() {
                let _ = input.blur();
            }
        }
        "Escape" => {
            // Leaving without saving: the blur that follows finds nothing to do.
            renaming.set(false);
        }
        _ => {}
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
                    <input
                        class="project-rename-input"
                        data-testid="project-rename-input"
                        aria-label="Project name"
                        node_ref=rename_ref
                        value=name()
                        on:keydown=on_rename_key
                        on:blur=save
                    />
                }.into_any()
            } else {
                view! { <span class="project-name" title=path>{name}</span> }.into_any()
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
                <div class="project-menu" role="menu">
                    <button
                        type="button"
                        role="menuitem"
                        data-testid="project-rename"
                        on:click=move |_| {
                            menu_open.set(false);
                            renaming.set(true);
                        }
                    >
                        "Rename"
                    </button>
                    <button
                        type="button"
                        role="menuitem"
                        class="danger-text"
                        data-testid="project-remove"
                        on:click=move |_| {
                            menu_open.set(false);
                            removing.set(true);
                        }
                    >
                        "Remove…"
                    </button>
                </div>
            </Show>
            <Show when=move || removing.get()>
                <ConfirmRemove id name=name() open=removing/>
            </Show>
        </div>
    }
}

/// Asks before removing a project: what it ends, and that no file is deleted.
#[component]
fn ConfirmRemove(id: ProjectId, name: String, open: RwSignal<bool>) -> impl IntoView {
    let store = use_store();
    let ends = match projects::live_sessions(store, id) {
        0 => "No session of it is running.".to_owned(),
        1 => "This ends its 1 live session.".to_owned(),
        n => format!("This ends its {n} live sessions."),
    };
    view! {
        <Confirm
            title=format!("Remove \u{201c}{name}\u{201d}?")
            action="Remove project"
            on_cancel=Callback::new(move |()| open.set(false))
            on_yes=Callback::new(move |()| projects::remove_project(store, id))
        >
            <p>
                {ends}
                " Its worktrees and branches are kept, and no files are deleted: the folder stays as it is."
            </p>
        </Confirm>
    }
}

/// "Add project": the button and, once clicked, its form.
#[component]
pub fn AddProject() -> impl IntoView {
    let store = use_store();
    let open = RwSignal::new(false);
    let toggle = move |_| {
        projects::reset_add_form(store);
        open.update(|o| *o = !*o);
    };
    // The server added it: the form's work is done.
    Effect::new(move |_| {
        if matches!(store.project_add.get(), AddState::Added(_)) {
            open.set(false);
            projects::reset_add_form(store);
        }
    });
    view! {
        <div class="project-add">
            <button
                type="button"
                class="project-add-button"
                data-testid="project-add-button"
                aria-expanded=move || if open.get() { "true" } else { "false" }
                on:click=toggle
            >
                "+ Add project"
            </button>
            <Show when=move || open.get()>
                <AddProjectForm open/>
            </Show>
        </div>
    }
}

/// The folder and name of a new project, with completion of the folders the server may use.
#[component]
fn AddProjectForm(open: RwSignal<bool>) -> impl IntoView {
    let store = use_store();
    let path = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let focused = RwSignal::new(false);
    let path_ref = NodeRef::<Input>::new();
    // Bumped on every keystroke; a timer asks only if no later one came meanwhile.
    let typed = StoredValue::new(0u64);
    let ask = move |prefix: String| {
        let generation = typed.get_value() + 1;
        typed.set_value(generation);
        set_timeout(
            move || {
                if typed.try_get_value() == Some(generation) {
                    projects::list_folders(prefix);
                }
            },
            std::time::Duration::from_millis(FOLDER_DEBOUNCE_MS),
        );
    };
    Effect::new(move |_| {
        if let Some(input) = path_ref.get() {
            let _ = input.focus();
        }
    });
    let suggestions = Memo::new(move |_| {
        let typed = path.get();
        store.folders.with(|list| {
            // The answer to what is typed, as the server read it (`~` expanded, the roots
            // for nothing); while typing on, an older answer narrowed down meanwhile.
            let exact = list.prefix == typed;
            if !exact && !typed.starts_with(&list.prefix) {
                return Vec::new();
            }
            let chosen = typed.trim_end_matches('/');
            list.folders
                .iter()
                .filter(|f| exact || f.starts_with(&typed))
                .filter(|f| f.trim_end_matches('/') != chosen)
                .take(MAX_SUGGESTIONS)
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let on_path = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        path.set(value.clone());
        ask(value);
    };
    let pick = move |folder: String| {
        let next = format!("{}/", folder.trim_end_matches('/'));
        path.set(next.clone());
        projects::list_folders(next);
        if let Some(input) = path_ref.get_untracked() {
            let _ = input.focus();
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let folder = path.get_untracked();
        let folder = if folder.len() > 1 {
            folder.trim_end_matches('/').to_owned()
        } else {
            folder
        };
        projects::add_project(store, folder, name.get_untracked());
    };
    let error = move || match store.project_add.get() {
        AddState::Failed(message) => Some(message),
        _ => None,
    };
    let sending = move || store.project_add.get() == AddState::Sending;
    view! {
        <form class="project-form" data-testid="project-form" on:submit=submit>
            <label class="project-field">
                <span>"Folder"</span>
                <input
                    type="text"
                    data-testid="project-path-input"
                    placeholder="/home/you/code/app"
                    autocomplete="off"
                    spellcheck="false"
                    autocapitalize="off"
                    node_ref=path_ref
                    prop:value=move || path.get()
                    on:input=on_path
                    on:focus=move |_| {
                        focused.set(true);
                        ask(path.get_untracked());
                    }
                    on:blur=move |_| {
                        // After a click on a suggestion has landed.
                        set_timeout(move || { let _ = focused.try_set(false); }, std::time::Duration::from_millis(150));
                    }
                />
            </label>
            <Show when=move || focused.get() && !suggestions.with(Vec::is_empty)>
                <ul class="folder-suggestions" role="listbox" data-testid="project-folders">
                    <For
                        each=move || suggestions.get()
                        key=|folder| folder.clone()
                        children=move |folder| {
                            let shown = folder.clone();
                            view! {
                                <li
                                    role="option"
                                    data-testid="project-folder-option"
                                    on:mousedown=move |ev| {
                                        // Keep the focus in the field.
                                        ev.prevent_default();
                                        pick(folder.clone());
                                    }
                                >
                                    {shown}
                                </li>
                            }
                        }
                    />
                </ul>
            </Show>
            <label class="project-field">
                <span>"Name"</span>
                <input
                    type="text"
                    data-testid="project-name-input"
                    autocomplete="off"
                    placeholder=move || {
                        let folder = folder_name(&path.get());
                        if folder.is_empty() { "The folder's name".to_owned() } else { folder }
                    }
                    bind:value=name
                />
            </label>
            {move || error().map(|message| view! {
                <p class="project-error" data-testid="project-error" role="alert">{message}</p>
            })}
            <div class="project-form-actions">
                <button type="button" class="secondary" on:click=move |_| open.set(false)>
                    "Cancel"
                </button>
                <button
                    type="submit"
                    class="primary"
                    data-testid="project-create"
                    disabled=sending
                >
                    {move || if sending() { "Adding…" } else { "Add project" }}
                </button>
            </div>
        </form>
    }
}
