//! The tab bar: one `session-tab` per open tab (state, title, unread count, sync dot).
//! Closing (`tab-close`) only hides the tab; the session goes on and stays in the sidebar.

use super::badges::{StateBadge, SyncDot, UnreadBadge};
use super::spend::BudgetMark;
use super::use_store;
use crate::client::actions::{self, session_path};
use crate::protocol::SessionId;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// The row of open tabs.
#[component]
pub fn TabBar() -> impl IntoView {
    let store = use_store();
    view! {
        <nav class="tab-bar" role="tablist" aria-label="Open sessions">
            <For
                each=move || store.tabs.get()
                key=|id| *id
                children=move |id| view! { <Tab id/> }
            />
        </nav>
    }
}

#[component]
fn Tab(id: SessionId) -> impl IntoView {
    let store = use_store();
    let navigate = use_navigate();
    let Some(session) = store.view(id) else {
        return ().into_any();
    };
    let mark_meta = session.meta.clone();
    let meta = RwSignal::from(session.meta.clone());
    let dot = session.clone();
    let unread = Signal::derive(move || session.unread(&store));
    let active = move || store.active.get() == Some(id);
    let open = {
        let navigate = navigate.clone();
        move |_| navigate(&session_path(id), actions::nav_options())
    };
    let on_keydown = {
        let navigate = navigate.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            if matches!(ev.key().as_str(), "Enter" | " ") {
                ev.prevent_default();
                navigate(&session_path(id), actions::nav_options());
            }
        }
    };
    let close = move |ev: leptos::ev::MouseEvent| {
        // The tab itself would reopen on this click.
        ev.stop_propagation();
        let was_active = active();
        let next = actions::close_tab(store, id);
        if was_active {
            let path = actions::next_path(next);
            navigate(&path, actions::nav_options());
        }
    };
    view! {
        <div
            class="session-tab"
            class:active=active
            role="tab"
            tabindex="0"
            aria-selected=move || if active() { "true" } else { "false" }
            data-testid="session-tab"
            data-session-id=id.to_string()
            on:click=open
            on:keydown=on_keydown
            title=move || meta.with(|m| m.title.clone())
        >
            <StateBadge meta compact=true/>
            <span class="tab-title">{move || meta.with(|m| m.title.clone())}</span>
            <BudgetMark meta=mark_meta/>
            <UnreadBadge count=unread/>
            <SyncDot session=dot/>
            <button
                class="tab-close"
                data-testid="tab-close"
                aria-label="Close tab"
                title="Close tab (the session keeps running)"
                on:click=close
                // Enter/Space on the button close it; they must not also reach the tab.
                on:keydown=|ev| ev.stop_propagation()
            >
                "×"
            </button>
        </div>
    }
    .into_any()
}
