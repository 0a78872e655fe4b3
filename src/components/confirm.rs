//! One confirmation dialog: a title, what will happen, Cancel and one action (dangerous
//! unless told otherwise)
//! (`confirm-dialog`, `confirm-cancel`, `confirm-yes`). Escape or a click outside cancels;
//! the action has the focus, so Enter confirms.

use leptos::html::Button;
use leptos::prelude::*;
use leptos::web_sys::KeyboardEvent;

/// Asks before something that cannot be undone.
#[component]
pub fn Confirm(
    /// The heading.
    title: String,
    /// The action's label.
    action: &'static str,
    /// The action button's class: `danger` unless the action destroys nothing (`primary`).
    #[prop(default = "danger")]
    action_class: &'static str,
    /// Closes the dialog (Cancel, Escape, a click outside).
    on_cancel: Callback<()>,
    /// Does it (the dialog is closed first).
    on_yes: Callback<()>,
    /// What will happen, in words.
    children: Children,
) -> impl IntoView {
    let yes_ref = NodeRef::<Button>::new();
    Effect::new(move |_| {
        if let Some(button) = yes_ref.get() {
            let _ = button.focus();
        }
    });
    view! {
        <div class="modal-backdrop" on:click=move |_| on_cancel.run(())>
            <div
                class="modal"
                role="dialog"
                aria-modal="true"
                aria-labelledby="confirm-title"
                data-testid="confirm-dialog"
                on:click=|ev| ev.stop_propagation()
                on:keydown=move |ev: KeyboardEvent| {
                    if ev.key() == "Escape" {
                        on_cancel.run(());
                    }
                }
            >
                <h2 id="confirm-title">{title}</h2>
                {children()}
                <div class="modal-actions">
                    <button
                        class="secondary"
                        data-testid="confirm-cancel"
                        on:click=move |_| on_cancel.run(())
                    >
                        "Cancel"
                    </button>
                    <button
                        class=action_class
                        data-testid="confirm-yes"
                        node_ref=yes_ref
                        on:click=move |_| {
                            on_cancel.run(());
                            on_yes.run(());
                        }
                    >
                        {action}
                    </button>
                </div>
            </div>
        </div>
    }
}
