//! The sidebar: the "+" button, one `session-item` per session (agent, title, preview,
//! state, unread count, sync dot), and the `doctor-link` at its foot. Clicking an item
//! opens it as a tab via its link.

use super::badges::{StateBadge, SyncDot, UnreadBadge};
use super::use_store;
use crate::client::actions::{self, session_path};
use crate::client::store::SessionView;
use crate::client::Store;
use crate::protocol::SessionState;
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::NavigateOptions;

/// Server sessions in list order; drafts are tabs only, not sessions yet.
fn listed(store: Store) -> Vec<SessionView> {
    store.sessions.with(|list| {
        list.iter()
            .filter(|v| {
                v.meta.with_untracked(|m| {
                    !matches!(m.state, SessionState::Draft | SessionState::Archived)
                })
            })
            .cloned()
            .collect()
    })
}

/// The left column.
#[component]
pub fn Sidebar() -> impl IntoView {
    let store = use_store();
    let navigate = use_navigate();
    let new_session = move |_| {
        let id = actions::new_draft(store);
        navigate(&session_path(id), NavigateOptions::default());
    };
    let is_empty = move || listed(store).is_empty();
    let location = use_location();
    let on_doctor = move || (location.pathname.get() == "/doctor").then_some("page");
    view! {
        <aside class="sidebar" aria-label="Sessions">
            <header class="sidebar-header">
                <span class="brand">"Switchboard"</span>
                <button
                    class="new-session-button"
                    data-testid="new-session-button"
                    title="New session"
                    aria-label="New session"
                    on:click=new_session
                >
                    "+"
                </button>
            </header>
            <ul class="session-list" data-testid="session-list">
                <For
                    each=move || listed(store)
                    key=|session| session.id
                    children=move |session| view! { <SessionItem session/> }
                />
            </ul>
            <Show when=is_empty>
                <p class="sidebar-empty">"No sessions yet. Click + to start one."</p>
            </Show>
            <footer class="sidebar-footer">
                <a
                    class="doctor-link"
                    data-testid="doctor-link"
                    href="/doctor"
                    title="Which agents are installed, and how to install the others"
                    aria-current=on_doctor
                >
                    "Doctor"
                </a>
            </footer>
        </aside>
    }
}

#[component]
fn SessionItem(session: SessionView) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let meta = RwSignal::from(session.meta.clone());
    let dot = session.clone();
    let unread = Signal::derive(move || session.unread(&store));
    let active = move || store.active.get() == Some(id);
    view! {
        <li
            class="session-item"
            class:active=active
            data-testid="session-item"
            data-session-id=id.to_string()
        >
            <a class="session-link" href=session_path(id) aria-current=move || active().then_some("page")>
                <div class="session-item-top">
                    <span class="agent-label">{move || meta.with(|m| m.agent.label())}</span>
                    <StateBadge meta/>
                    <UnreadBadge count=unread/>
                    <SyncDot session=dot/>
                </div>
                <div class="session-title">{move || meta.with(|m| m.title.clone())}</div>
                <div class="session-preview">{move || meta.with(|m| m.preview.clone())}</div>
            </a>
        </li>
    }
}
