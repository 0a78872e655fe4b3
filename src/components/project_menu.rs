//! What a project's header shows only after a click: its menu (`project-rename`,
//! `project-remove`), the inline rename field (`project-rename-input`) and the removal's
//! `confirm-dialog`. They load with the "Add project" form through one split point
//! ([`super::panes::sidebar_extra`]), not in the first load.

use super::confirm::Confirm;
use super::use_store;
use crate::client::projects;
use crate::protocol::ProjectId;
use leptos::ev::KeyboardEvent;
use leptos::html::Input;
use leptos::prelude::*;

/// The header's menu: rename or remove.
#[component]
pub fn ProjectMenu(
    menu_open: RwSignal<bool>,
    renaming: RwSignal<bool>,
    removing: RwSignal<bool>,
) -> impl IntoView {
    view! {
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
    }
}

/// The name being edited in place: Enter or leaving the field saves, Escape does not.
#[component]
pub fn RenameField(id: ProjectId, name: String, renaming: RwSignal<bool>) -> impl IntoView {
    let store = use_store();
    let rename_ref = NodeRef::<Input>::new();
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
    view! {
        <input
            class="project-rename-input"
            data-testid="project-rename-input"
            aria-label="Project name"
            node_ref=rename_ref
            value=name
            on:keydown=on_rename_key
            on:blur=save
        />
    }
}

/// Asks before removing a project: what it ends, and that no file is deleted.
#[component]
pub fn ConfirmRemove(id: ProjectId, name: String, open: RwSignal<bool>) -> impl IntoView {
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
