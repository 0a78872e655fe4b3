//! The sidebar's "Add project" button and form (`project-add-button`, `project-path-input`
//! with folder completion, `project-name-input`, `project-machine` when other machines are
//! enrolled, `project-create`, `project-error`). The
//! form opens on a click, so its code is not in the first load: the button loads it through
//! a split point ([`super::panes::sidebar_extra`]), fetched as soon as the page is live.

use super::deferred::Deferred;
use super::panes::{sidebar_extra, SidebarExtra};
use super::use_store;
use crate::client::projects::{self, folder_name, AddState};
use leptos::html::Input;
use leptos::prelude::*;

/// How long typing in the path field pauses before the server is asked for folders.
const FOLDER_DEBOUNCE_MS: u64 = 180;

/// Most folder suggestions shown under the path field.
const MAX_SUGGESTIONS: usize = 8;

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
                <Deferred load=move || sidebar_extra(SidebarExtra::AddProjectForm { open })/>
            </Show>
        </div>
    }
}

/// The folder and name of a new project, with completion of the folders the server may use.
#[component]
pub fn AddProjectForm(open: RwSignal<bool>) -> impl IntoView {
    let store = use_store();
    let path = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    // "": this server's host; else a machine's id.
    let machine = RwSignal::new(String::new());
    // Machines that can take projects (enrolled, not revoked), asked once the form is
    // open. Not a resource: one read under the sidebar's Suspense would rebuild the form
    // when it resolves, and the path field would lose its focus.
    let machines = RwSignal::new(Vec::<crate::protocol::MachineInfo>::new());
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(list) = crate::app::list_machines().await {
                let open = list.into_iter().filter(|m| m.revoked_at_ms.is_none());
                let _ = machines.try_set(open.collect());
            }
        });
    });
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
        if machine.with_untracked(String::is_empty) {
            ask(value);
        }
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
        let on = Some(machine.get_untracked()).filter(|m| !m.is_empty());
        projects::add_project(store, folder, name.get_untracked(), on);
    };
    let choices = move || machines.get();
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
            <Show when=move || !choices().is_empty()>
                <label class="project-field">
                    <span>"Machine"</span>
                    <select
                        data-testid="project-machine"
                        on:change=move |ev| machine.set(event_target_value(&ev))
                    >
                        <option value="" selected=move || machine.with(String::is_empty)>
                            "This server"
                        </option>
                        {move || choices()
                            .into_iter()
                            .map(|m| {
                                let id = m.id.clone();
                                let chosen = id.clone();
                                view! {
                                    <option
                                        value=id
                                        selected=move || machine.with(|c| *c == chosen)
                                    >
                                        {m.name}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </label>
            </Show>
            <Show when=move || {
                focused.get() && machine.with(String::is_empty) && !suggestions.with(Vec::is_empty)
            }>
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
